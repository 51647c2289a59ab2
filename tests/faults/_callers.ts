/**
 * The three callers as the fault tests and the soak use them: one well-formed request per door,
 * and each door's answer read back into one verdict.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { signedInit, supabasePayload, TEST_SECRET } from "../_helpers.ts";

export type DoorName = "supabase" | "okta" | "auth0";
export const DOOR_NAMES: readonly DoorName[] = ["supabase", "okta", "auth0"];

export const OKTA_SECRET = "okta-fault-secret-0123456789";
export const AUTH0_SECRET = "whsec_" + btoa("auth0 relay secret for the fault tests");

/** Environment that opens all three doors. */
export const DOORS_ENV: Readonly<Record<string, string>> = {
  SEND_SMS_HOOK_SECRETS: TEST_SECRET,
  OKTA_HOOK_AUTH_SECRET: OKTA_SECRET,
  AUTH0_HOOK_SECRETS: AUTH0_SECRET,
};

/** Each door's deadline under `env`: the configuration's own, defaults included. */
export function doorDeadlines(env: Record<string, string> = {}): Record<DoorName, number> {
  const config = loadConfig({ ...DOORS_ENV, OTP_PROVIDER: "console", ...env });
  return {
    supabase: config.deadlineMs,
    okta: config.okta!.deadlineMs,
    auth0: config.auth0!.deadlineMs,
  };
}

/**
 * Scheduling and HTTP on top of a door's deadline, on a busy 2-core CI machine. Each deadline
 * sits at least 500 ms under its caller's timeout (Okta 2.5 s of 3 s, Supabase 4 s of 5 s, Auth0
 * 8 s of the relay's 10 s), so an answer inside deadline + slack still reaches the caller in time.
 */
export const DEADLINE_SLACK_MS = 300;

/** A request as each caller sends it: a new event, a number, a code. */
export function callerRequest(
  door: DoorName,
  options: { phone: string; code: string; id?: string },
): { path: string; init: RequestInit } {
  const id = options.id ?? crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  switch (door) {
    case "supabase":
      return {
        path: "/send-sms",
        init: signedInit(
          supabasePayload({ uuid: id, phone: options.phone.replace(/^\+/, ""), otp: options.code }),
          { timestamp: now },
        ),
      };
    case "okta":
      return {
        path: "/send-sms/okta",
        init: {
          method: "POST",
          headers: { "content-type": "application/json", authorization: OKTA_SECRET },
          body: JSON.stringify({
            eventId: id,
            eventType: "com.okta.telephony.provider",
            requestType: "com.okta.user.telephony.mfa-verification",
            data: {
              messageProfile: {
                phoneNumber: options.phone,
                deliveryChannel: "SMS",
                otpCode: options.code,
                locale: "EN-US",
              },
            },
          }),
        },
      };
    case "auth0":
      return {
        path: "/send-sms/auth0",
        init: signedInit({
          message_options: {
            action: "second-factor-authentication",
            code: options.code,
            message_type: "sms",
            recipient: options.phone,
            text: `Your verification code is: ${options.code}`,
          },
          request: { ip: "203.0.113.9", language: "en" },
        }, { secrets: [AUTH0_SECRET], timestamp: now, id: `msg_${id}` }),
      };
  }
}

/** What an answer told the caller. */
export interface Verdict {
  readonly kind: "delivered" | "failed" | "pending";
  /** Okta names the provider's id of the message it reports. */
  readonly id?: string;
  /** Auth0's relay: may the event be tried again? */
  readonly retryable?: boolean;
}

/** Reads a door's answer, asserting its dialect. */
export async function readVerdict(door: DoorName, res: Response): Promise<Verdict> {
  assert.equal(res.status, 200, `${door} answers 200`);
  const body = await res.json();
  if (door === "okta") {
    if (body.error) return { kind: "failed" };
    const value = body.commands[0].value[0];
    const kind = ({ SUCCESSFUL: "delivered", PENDING: "pending", FAILED: "failed" } as const)[
      value.status as "SUCCESSFUL" | "PENDING" | "FAILED"
    ];
    assert.ok(kind, `okta status ${value.status}`);
    return { kind, ...(value.transactionId ? { id: value.transactionId } : {}) };
  }
  if (Object.keys(body).length === 0) return { kind: "delivered" };
  assert.equal(typeof body.error.http_code, "number");
  assert.equal(typeof body.error.message, "string");
  if (door === "auth0") {
    assert.equal(typeof body.error.retryable, "boolean");
    return { kind: "failed", retryable: body.error.retryable };
  }
  return { kind: "failed" };
}
