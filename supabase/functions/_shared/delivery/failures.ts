/**
 * How each failure reads to an end user, and which status Supabase Auth should report.
 *
 * Auth shows `message` to the person trying to sign in, so it is plain, actionable and free of
 * internals. Only 400, 403, 429 and 500 are used: auth-js turns 502–504 into a generic
 * retryable error and loses the message (docs/contracts.md §1.5).
 *
 * @module
 */
import type { Failure, FailureReason } from "./types.ts";

/** A failure as an HTTP-ish status and a sentence for the end user. */
export interface UserFacingError {
  readonly httpCode: 400 | 403 | 429 | 500;
  readonly message: string;
}

const TRY_LATER = "We couldn't send your code right now. Please try again in a few minutes.";

const table: Record<FailureReason | "invalid_payload", UserFacingError> = {
  invalid_payload: { httpCode: 400, message: "Invalid hook payload" },
  invalid_number: {
    httpCode: 400,
    message: "This phone number is not valid. Check it and try again.",
  },
  unreachable_number: {
    httpCode: 400,
    message: "This phone number can't receive text messages. Try a mobile number.",
  },
  opted_out: {
    httpCode: 400,
    message: "This phone number has opted out of our text messages. Reply START to opt back in.",
  },
  geo_blocked: {
    httpCode: 400,
    message: "We can't send codes to phone numbers in this country.",
  },
  rate_limited: {
    httpCode: 429,
    message: "Too many codes were requested. Please wait a minute and try again.",
  },
  provider_config: { httpCode: 500, message: TRY_LATER },
  channel_config: { httpCode: 500, message: TRY_LATER },
  channel_refused: { httpCode: 500, message: "We couldn't send your code. Please try again." },
  no_channel: { httpCode: 500, message: TRY_LATER },
  store_unavailable: { httpCode: 500, message: TRY_LATER },
  limit_number: {
    httpCode: 429,
    message:
      "Too many codes were requested for this phone number. Please wait and try again later.",
  },
  limit_prefix: {
    httpCode: 429,
    message: "Too many codes are being requested right now. Please try again later.",
  },
  limit_ip: {
    httpCode: 429,
    message: "Too many codes were requested from your network. Please wait and try again later.",
  },
  limit_global: {
    httpCode: 429,
    message: "Too many codes are being requested right now. Please try again later.",
  },
  country_not_allowed: {
    httpCode: 403,
    message: "We can't send codes to phone numbers in this country.",
  },
  number_type_blocked: {
    httpCode: 403,
    message: "This type of phone number can't receive codes. Please use a mobile number.",
  },
  provider_unavailable: {
    httpCode: 500,
    message: "We couldn't send your code. Please try again.",
  },
  timeout: { httpCode: 500, message: "We couldn't send your code. Please try again." },
  internal: { httpCode: 500, message: TRY_LATER },
};

/** The user-facing form of a failure reason. */
export function userFacingError(reason: FailureReason | "invalid_payload"): UserFacingError {
  return table[reason];
}

/** Failures that may pass: the provider or our store was down, slow or throttling us. */
const TRANSIENT: ReadonlySet<FailureReason> = new Set([
  "provider_unavailable",
  "timeout",
  "rate_limited",
  "store_unavailable",
  "internal",
]);

/**
 * True when the caller may try the same message again later: the failure may pass, and no
 * message may have left (a retry arrives as a new request, so a message in an unknown state
 * could reach the user twice). Our own refusals (limits, countries) are never retryable.
 *
 * @example
 * ```ts
 * retryable({ ok: false, reason: "timeout", sent: "no", attempts: [] }); // true
 * ```
 */
export function retryable(failure: Failure): boolean {
  return failure.sent === "no" && TRANSIENT.has(failure.reason);
}
