/**
 * `deno task sign`: prints a `curl` command with a request as each platform sends it, for the
 * local server. Pipe it to `sh` to send it.
 *
 *   deno task sign [--door supabase|okta|auth0] [--shape action|provider|hook|notice]
 *                  [--channel sms|voice] [--phone 15551234567] [--otp 123456] [--url …]
 *
 * - `supabase` (default): signed as Supabase Auth signs it, with SEND_SMS_HOOK_SECRETS.
 * - `okta`: Okta's telephony inline hook, with the OKTA_HOOK_AUTH_SECRET header.
 * - `auth0`: signed as the shipped Auth0 relay signs it, with AUTH0_HOOK_SECRETS; `--shape`
 *   picks the Actions event (default), the Custom Phone Provider (`provider`, or `notice` for a
 *   message without a code) or the legacy Hook.
 *
 * Each secret defaults to its development value in `deno task start`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";
import { DEV_AUTH0_SECRET, DEV_HOOK_SECRET, DEV_OKTA_SECRET } from "./_dev-defaults.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    door: { type: "string", default: "supabase" },
    shape: { type: "string", default: "action" },
    channel: { type: "string", default: "sms" },
    phone: { type: "string", default: "15555550123" },
    otp: { type: "string", default: "123456" },
    url: { type: "string" },
  },
});

function fail(message: string): never {
  console.error(`deno task sign: ${message}`);
  Deno.exit(2);
}

const env = (name: string, fallback: string) => Deno.env.get(name)?.trim() || fallback;
const base = `http://127.0.0.1:${Deno.env.get("PORT") ?? "8000"}/send-sms`;
// node:util's types on Deno 2.1 don't narrow options that have a default.
const { door = "supabase", shape = "action", channel = "sms" } = values;
const phone = values.phone ?? "15555550123";
const otp = values.otp ?? "123456";
if (channel !== "sms" && channel !== "voice") fail("--channel must be sms or voice");

/** A request as Standard Webhooks signs it, with a fresh id and the current time. */
function signed(secrets: string, body: string): Record<string, string> {
  return signWebhook({
    secrets: secrets.split("|"),
    id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
    timestamp: Math.floor(Date.now() / 1000),
    body,
  });
}

/** The Auth0 relay's body for each shape. */
function auth0Body(): unknown {
  const notification = {
    recipient: `+${phone.replace(/^\+/, "")}`,
    as_text: `Your verification code is ${otp}`,
    as_voice: `Your verification code is ${[...otp].join(". ")}.`,
    code: otp,
    delivery_method: channel === "voice" ? "voice" : "text",
    locale: "en_US",
    message_type: "otp_verify",
  };
  switch (shape) {
    case "action":
      return {
        message_options: {
          recipient: notification.recipient,
          text: notification.as_text,
          code: otp,
          message_type: channel,
          action: "second-factor-authentication",
        },
        request: { ip: "127.0.0.1", language: "en" },
      };
    case "provider":
      return { notification, request: { ip: "127.0.0.1" } };
    case "notice":
      return {
        notification: {
          ...notification,
          code: undefined,
          message_type: "blocked_account",
          as_text: "Your account has been blocked after too many attempts.",
          as_voice: "Your account has been blocked after too many attempts.",
        },
      };
    case "hook":
      return {
        recipient: notification.recipient,
        text: notification.as_text,
        context: { message_type: channel, action: "authentication", code: otp, ip: "127.0.0.1" },
      };
    default:
      fail("--shape must be action, provider, notice or hook");
  }
}

let url: string;
let headers: Record<string, string>;
let body: string;
switch (door) {
  case "supabase":
    url = values.url ?? base;
    body = JSON.stringify({
      metadata: {
        uuid: crypto.randomUUID(),
        time: new Date().toISOString(),
        name: "send-sms",
        ip_address: "127.0.0.1",
      },
      user: { id: crypto.randomUUID(), phone, user_metadata: {}, app_metadata: {} },
      sms: { otp, phone },
    });
    headers = signed(env("SEND_SMS_HOOK_SECRETS", DEV_HOOK_SECRET), body);
    break;
  case "okta":
    url = values.url ?? `${base}/okta`;
    body = JSON.stringify({
      eventId: crypto.randomUUID(),
      eventTime: new Date().toISOString(),
      eventType: "com.okta.telephony.provider",
      eventTypeVersion: "1.0",
      contentType: "application/json",
      requestType: "com.okta.user.telephony.mfa-verification",
      data: {
        context: { request: { ipAddress: "127.0.0.1" } },
        messageProfile: {
          msgTemplate: `Your code is ${otp}`,
          phoneNumber: phone,
          deliveryChannel: channel === "voice" ? "CALL" : "SMS",
          otpCode: otp,
          locale: "EN-US",
        },
      },
    });
    headers = {
      [env("OKTA_HOOK_AUTH_HEADER", "Authorization")]: env(
        "OKTA_HOOK_AUTH_SECRET",
        DEV_OKTA_SECRET,
      ),
    };
    break;
  case "auth0":
    url = values.url ?? `${base}/auth0`;
    body = JSON.stringify(auth0Body());
    headers = signed(env("AUTH0_HOOK_SECRETS", DEV_AUTH0_SECRET), body);
    break;
  default:
    fail("--door must be supabase, okta or auth0");
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const lines = [
  `curl -sS -i -X POST ${quote(url)}`,
  `  -H 'Content-Type: application/json'`,
  ...Object.entries(headers).map(([k, v]) => `  -H ${quote(`${k}: ${v}`)}`),
  `  --data-raw ${quote(body)}`,
];
console.log(lines.join(" \\\n"));
