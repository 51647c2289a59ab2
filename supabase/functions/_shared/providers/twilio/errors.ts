/**
 * Twilio's synchronous errors (the API call's own answer) and what they mean for a delivery.
 * Asynchronous failures (30007 carrier filtering, 30450 pumping protection, 63016 outside the
 * WhatsApp session) arrive later by status callback and are not classified here.
 *
 * @module
 */
import type { Channel, FailureReason, SentState } from "../../delivery/types.ts";
import type { SendResult } from "../../delivery/ports.ts";
import { TwilioAnswerLostError } from "./http.ts";

/** Codes that mean the same on every channel. */
const COMMON: ReadonlyMap<number, FailureReason> = new Map([
  [21211, "invalid_number"], // Invalid 'To' Phone Number
  [20429, "rate_limited"], // Too Many Requests
  // Only the credentials themselves fail every channel; anything else concerns one API.
  [20003, "provider_config"], // Authentication failure
  [20404, "channel_config"], // Resource not found (an API or product not available)
  [20403, "channel_config"], // Permission denied (e.g. voice not enabled on the account)
]);

/** Codes of one channel's API. */
const BY_CHANNEL: Readonly<Record<Channel, ReadonlyMap<number, FailureReason>>> = {
  sms: new Map([
    [21614, "unreachable_number"], // 'To' number is not a valid mobile number
    [21612, "unreachable_number"], // 'To' is not currently reachable via SMS
    [21635, "unreachable_number"], // 'To' number cannot be a landline
    [21610, "opted_out"], // Attempt to send to unsubscribed recipient (STOP)
    [21408, "geo_blocked"], // Permission to send an SMS has not been enabled for the region
    [21212, "channel_config"], // Invalid 'From' number
    [21603, "channel_config"], // 'From' phone number is required
    [21606, "channel_config"], // 'From' number is not valid for this account
    [21659, "channel_config"], // 'From' is not a Twilio phone number
    [21701, "channel_config"], // Messaging Service SID does not exist
    [21703, "channel_config"], // Messaging Service has no phone numbers
    [21704, "channel_config"], // Messaging Service contains no phone numbers
  ]),
  whatsapp: new Map([
    [21408, "geo_blocked"],
    [21610, "opted_out"],
    [63007, "channel_config"], // WhatsApp sender (From) not found
    [21656, "channel_config"], // ContentVariables invalid for the template
    [21655, "channel_config"], // ContentSid invalid
    [63018, "rate_limited"], // WhatsApp rate limit for the sender
  ]),
  voice: new Map([
    [21215, "geo_blocked"], // Geo permission configuration is not permitting the call
    [21216, "geo_blocked"], // Account not allowed to call this number
    [21217, "invalid_number"], // Phone number does not appear to be valid
    [13223, "invalid_number"], // Dial: invalid phone number format
    [13224, "invalid_number"], // Dial: invalid phone number
    [21210, "channel_config"], // 'From' is not a verified outgoing caller ID
    [21212, "channel_config"], // Invalid 'From' number (caller ID)
    [21219, "channel_config"], // Trial account: 'To' is not verified
  ]),
};

interface TwilioErrorLike {
  status: number;
  code?: number;
}

/** True for what twilio-node throws for an HTTP error answer (RestException and its kin). */
export function isTwilioError(err: unknown): err is TwilioErrorLike {
  return typeof err === "object" && err !== null &&
    typeof (err as { status?: unknown }).status === "number";
}

/**
 * Maps what the SDK threw to a failure. `detail` is safe to log (status, Twilio code and error
 * class only: Twilio's own messages can quote the number).
 *
 * @example
 * ```ts
 * classifyTwilioError({ status: 400, code: 21211 }, "sms").reason; // "invalid_number"
 * ```
 */
export function classifyTwilioError(
  err: unknown,
  channel: Channel,
): Extract<SendResult, { ok: false }> {
  if (isTwilioError(err)) {
    const code = typeof err.code === "number" && err.code > 0 ? err.code : undefined;
    const detail = `twilio status ${err.status}${code ? ` code ${code}` : ""}`;
    // Twilio's own error answer means it did not accept the message. A 5xx without Twilio's
    // error body may come from a proxy in front of it (TWILIO_API_BASE_URL) that had already
    // forwarded the request: whether the message left is then unknown.
    const sent: SentState = code === undefined && err.status >= 500 ? "unknown" : "no";
    const withCode = code === undefined ? {} : { providerCode: code };
    const known = code === undefined
      ? undefined
      : BY_CHANNEL[channel].get(code) ?? COMMON.get(code);
    const reason: FailureReason = known ??
      (err.status === 429
        ? "rate_limited"
        : err.status === 401
        ? "provider_config"
        : err.status === 403
        ? "channel_config"
        : err.status >= 500
        ? "provider_unavailable"
        : channel === "whatsapp" && code !== undefined && code >= 63000 && code < 64000
        ? "channel_refused" // WhatsApp's own policy refusals
        : "internal");
    return { ok: false, reason, sent, detail, ...withCode };
  }
  if (err instanceof TwilioAnswerLostError) {
    // Accepted, then the answer was cut short or outlasted the attempt: the message is queued.
    return {
      ok: false,
      reason: "internal",
      sent: "unknown",
      detail: "twilio answer lost after 2xx",
    };
  }
  const name = err instanceof Error ? err.name : typeof err;
  if (name === "TimeoutError" || name === "AbortError") {
    // The request may have reached Twilio: whether the message left is unknown.
    return { ok: false, reason: "timeout", sent: "unknown", detail: `twilio ${name}` };
  }
  // Deno words a refused connection in the error or its cause, depending on the version.
  const text = err instanceof Error
    ? `${err.message} ${String((err.cause as Error)?.message)}`
    : "";
  if (err instanceof TypeError && /connection refused|\(Connect\)|dns error/i.test(text)) {
    return {
      ok: false,
      reason: "provider_unavailable",
      sent: "no",
      detail: "twilio connect error",
    };
  }
  if (err instanceof TypeError) {
    return {
      ok: false,
      reason: "provider_unavailable",
      sent: "unknown",
      detail: "twilio network error",
    };
  }
  // A 2xx answer the SDK could not read (invalid JSON): Twilio may well have queued it.
  return { ok: false, reason: "internal", sent: "unknown", detail: `twilio ${name}` };
}
