/**
 * The Okta front door: the telephony inline hook (docs/contracts.md §2), at
 * `POST /send-sms/okta`.
 *
 * Okta sends a fixed header the admin configured; it is compared in constant time. Okta's own
 * requests always get HTTP 200 JSON: a timeout, another status or a malformed answer makes Okta
 * fall back to its own telephony, which can send a second SMS. Only a request that fails the
 * header check (so is not Okta's) gets 401.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "../zod.ts";
import type { OktaConfig } from "../config.ts";
import { deliver, type DeliveryDeps, type DeliveryResult } from "../delivery/deliver.ts";
import { userFacingError } from "../delivery/failures.ts";
import type { FailureReason } from "../delivery/types.ts";
import { constantTimeEqual } from "../constant-time.ts";
import { parsePhone } from "../phone.ts";
import { callerWords, loggable, sendable, softText } from "./_fields.ts";
import { MAX_BODY_BYTES } from "./supabase.ts";

/** What the door needs besides the delivery dependencies. */
export interface OktaDoorDeps extends DeliveryDeps {
  readonly okta: OktaConfig;
  /** Use Okta's `msgTemplate` as the SMS text (`OTP_USE_CALLER_TEXT`). */
  readonly useCallerText: boolean;
}

const text = softText;

/** Okta's request, as its documentation shows it; unknown fields are allowed. */
export const oktaPayload = z.looseObject({
  eventId: z.string().min(1).max(200),
  eventType: z.literal("com.okta.telephony.provider"),
  requestType: text,
  data: z.looseObject({
    context: z.looseObject({
      request: z.looseObject({ id: text, ipAddress: text }).nullish().catch(undefined),
    }).nullish().catch(undefined),
    userProfile: z.looseObject({ userId: text, login: text }).nullish().catch(undefined),
    messageProfile: z.looseObject({
      msgTemplate: callerWords,
      phoneNumber: z.string().min(1).max(40),
      otpExpires: text,
      deliveryChannel: z.string().min(1).max(40),
      otpCode: z.string().regex(/^\d{4,10}$/),
      locale: text,
    }),
  }),
});

/** Refusals of the owner's policy: Okta must not send the code in our place. */
const OWNER_REFUSALS: ReadonlySet<FailureReason> = new Set([
  "limit_number",
  "limit_prefix",
  "limit_ip",
  "limit_global",
  "country_not_allowed",
  "number_type_blocked",
]);

/** Okta's command answer. */
function command(
  c: Context,
  value: {
    status: "SUCCESSFUL" | "PENDING" | "FAILED";
    provider: string;
    id: string;
    meta: string;
  },
): Response {
  return c.json({
    commands: [{
      type: "com.okta.telephony.action",
      value: [{
        status: value.status,
        provider: value.provider,
        transactionId: value.id,
        transactionMetadata: value.meta,
      }],
    }],
  });
}

/** Okta's error answer, for requests we refuse (the end user sees `errorSummary`). */
function oktaError(c: Context, reason: FailureReason | "invalid_payload", location?: string) {
  const { message } = userFacingError(reason);
  return c.json({
    error: {
      errorSummary: message,
      errorCauses: [{ errorSummary: message, reason, location: location ?? "" }],
    },
  });
}

function answer(c: Context, result: DeliveryResult): Response {
  const { outcome } = result;
  // The delivery's own time (its attempts), not this request's: a retried eventId replays the
  // first answer word for word.
  const ms = outcome.attempts.reduce((sum, a) => sum + a.ms, 0);
  if (outcome.ok) {
    const meta =
      `channel=${outcome.channel}; attempts=${outcome.attempts.length}; duration=${ms}ms`;
    return result.duplicate === "in_flight"
      ? command(c, { status: "PENDING", provider: outcome.provider, id: "", meta: "duplicate" })
      : command(c, { status: "SUCCESSFUL", provider: outcome.provider, id: outcome.id, meta });
  }
  const last = outcome.attempts.at(-1);
  if (last) {
    const meta = `reason=${outcome.reason}; attempts=${outcome.attempts.length}; duration=${ms}ms`;
    // The message may have left (a timeout): PENDING, "couldn't confirm delivery". FAILED could
    // make Okta send through its own telephony, a second code.
    const status = outcome.sent === "no" ? "FAILED" : "PENDING";
    return command(c, { status, provider: last.provider, id: "", meta });
  }
  if (OWNER_REFUSALS.has(outcome.reason)) {
    // The owner's own refusals (limits, countries, number types) must hold: Okta answers an
    // error object, and per its reference a FAILED delivery too, by sending the code through
    // its own telephony (docs/okta.md, "Refusals"). PENDING, "could not confirm delivery",
    // is the one answer after which Okta sends nothing else. Nothing was sent; the reason is
    // in the metadata and the log.
    return command(c, {
      status: "PENDING",
      provider: "otp-relay",
      id: "",
      meta: `refused=${outcome.reason}`,
    });
  }
  return oktaError(c, outcome.reason, "data.messageProfile.phoneNumber");
}

/**
 * Creates the door as a Hono sub-app answering `POST /okta`.
 *
 * @example
 * ```ts
 * app.route("/", createOktaDoor(deps));
 * ```
 */
export function createOktaDoor(deps: OktaDoorDeps): Hono {
  const app = new Hono();
  const expected = new TextEncoder().encode(deps.okta.authSecret);

  /** Constant-time check of the configured header. */
  function authorized(c: Context): boolean {
    const given = new TextEncoder().encode(c.req.header(deps.okta.authHeader) ?? "");
    // Compare equal lengths only; the length of the secret is not the secret.
    return constantTimeEqual(given, expected);
  }

  app.post(
    "/okta",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ message: "Payload too large" }, 413),
    }),
    async function oktaHook(c) {
      const received = deps.now();
      if (!authorized(c)) {
        deps.log.warn("unauthorized", { door: "okta" });
        return c.json({ message: "Unauthorized" }, 401);
      }
      try {
        let json: unknown;
        try {
          json = JSON.parse(await c.req.text());
        } catch {
          deps.log.warn("invalid_payload", { door: "okta", detail: "not JSON" });
          return oktaError(c, "invalid_payload");
        }
        const parsed = oktaPayload.safeParse(json);
        if (!parsed.success) {
          const fields = parsed.error.issues.map((i) => i.path.join("."));
          deps.log.warn("invalid_payload", { door: "okta", fields: fields.join(",") });
          return oktaError(c, "invalid_payload", fields[0]);
        }
        const { eventId, requestType, data } = parsed.data;
        const profile = data.messageProfile;
        const to = parsePhone(profile.phoneNumber); // adds the + Okta sometimes leaves out
        if (!to) {
          deps.log.warn("invalid_number", { door: "okta", digits: profile.phoneNumber.length });
          return oktaError(c, "invalid_number", "data.messageProfile.phoneNumber");
        }
        // Casing varies in the wild (SMS, CALL, Voice, voice call): sms means SMS, anything
        // else a call.
        const channel = profile.deliveryChannel.trim().toLowerCase() === "sms" ? "sms" : "voice";
        const ip = data.context?.request?.ipAddress;
        const result = await deliver({
          door: "okta",
          // Okta retries once with the same eventId.
          dedupeKey: `okta:${eventId}`,
          to,
          code: profile.otpCode,
          deadline: received + deps.okta.deadlineMs,
          channel,
          locales: [profile.locale],
          about: { requestType: loggable(requestType) },
          ...(ip ? { ip } : {}),
          ...(deps.useCallerText && channel === "sms" && sendable(profile.msgTemplate)
            ? { callerText: profile.msgTemplate! }
            : {}),
        }, deps);
        return answer(c, result);
      } catch (err) {
        deps.log.error("unhandled_error", {
          door: "okta",
          error: err instanceof Error ? err.name : typeof err,
        });
        return oktaError(c, "internal");
      }
    },
  );
  return app;
}
