/**
 * The Twilio provider, on the official `twilio` SDK with a `fetch` HTTP client.
 *
 * The SDK is imported on the first send, not at start: it is large (CONTRACTS.md §4) and a
 * function that is only asked for its health should not pay for it.
 *
 * @module
 */
import { raceAbort } from "../async.ts";
import type { TwilioConfig } from "../config.ts";
import type { FailureReason, SentState } from "../delivery/types.ts";
import { createTwilioHttpClient } from "./twilio-http.ts";
import type { Provider, SendResult } from "./types.ts";

type TwilioFactory = typeof import("twilio");

/** Options of {@linkcode createTwilioProvider}. */
export interface TwilioProviderDeps {
  fetch?: typeof fetch;
  /** Loads the SDK; tests may count calls. Defaults to a dynamic import of `twilio`. */
  loadSdk?: () => Promise<TwilioFactory>;
}

const defaultLoadSdk = async (): Promise<TwilioFactory> => (await import("twilio")).default;

/** Twilio error codes that a person or the owner must act on, and what they mean for us. */
const CODE_REASONS: ReadonlyMap<number, FailureReason> = new Map([
  [21211, "invalid_number"], // Invalid 'To' Phone Number
  [21614, "unreachable_number"], // 'To' number is not a valid mobile number
  [21612, "unreachable_number"], // 'To' is not currently reachable via SMS
  [21635, "unreachable_number"], // 'To' number cannot be a landline
  [21610, "opted_out"], // Attempt to send to unsubscribed recipient (STOP)
  [21408, "geo_blocked"], // Permission to send an SMS has not been enabled for the region
  [20429, "rate_limited"], // Too Many Requests
  [20003, "provider_config"], // Authentication failure
  [20404, "provider_config"], // Resource not found (wrong Account SID)
  [21212, "provider_config"], // Invalid 'From' number
  [21603, "provider_config"], // 'From' phone number is required
  [21606, "provider_config"], // 'From' number is not valid for this account
  [21659, "provider_config"], // 'From' is not a Twilio phone number
  [21701, "provider_config"], // Messaging Service SID does not exist
  [21703, "provider_config"], // Messaging Service has no phone numbers
  [21704, "provider_config"], // Messaging Service contains no phone numbers
]);

interface TwilioErrorLike {
  status: number;
  code?: number;
}

function isTwilioError(err: unknown): err is TwilioErrorLike {
  return typeof err === "object" && err !== null &&
    typeof (err as { status?: unknown }).status === "number";
}

/**
 * Maps what the SDK threw to a failure. Exported for tests; `detail` is safe to log (status,
 * Twilio code and error class only: Twilio's own messages can quote the number).
 */
export function classifyTwilioError(err: unknown): Extract<SendResult, { ok: false }> {
  if (isTwilioError(err)) {
    const code = typeof err.code === "number" ? err.code : undefined;
    const detail = `twilio status ${err.status}${code ? ` code ${code}` : ""}`;
    const known = code === undefined ? undefined : CODE_REASONS.get(code);
    // Twilio's own error answer means it did not accept the message. A 5xx without Twilio's
    // error body may come from a proxy in front of it (TWILIO_API_BASE_URL) that had already
    // forwarded the request: whether the message left is then unknown.
    const sent: SentState = code === undefined && err.status >= 500 ? "unknown" : "no";
    if (known) return { ok: false, reason: known, sent, detail };
    if (err.status === 429) return { ok: false, reason: "rate_limited", sent, detail };
    if (err.status === 401 || err.status === 403) {
      return { ok: false, reason: "provider_config", sent, detail };
    }
    if (err.status >= 500) return { ok: false, reason: "provider_unavailable", sent, detail };
    return { ok: false, reason: "internal", sent, detail };
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

/**
 * Creates the Twilio provider.
 *
 * @example
 * ```ts
 * const provider = createTwilioProvider(config.provider);
 * const result = await provider.send(message, { signal: AbortSignal.timeout(1500) });
 * ```
 */
export function createTwilioProvider(
  config: TwilioConfig,
  deps: TwilioProviderDeps = {},
): Provider {
  const loadSdk = deps.loadSdk ?? defaultLoadSdk;
  let sdk: Promise<TwilioFactory> | undefined;

  return {
    name: "twilio",
    channels: ["sms"],
    async send(message, { signal }) {
      let requested = false;
      try {
        sdk ??= loadSdk().catch((err) => {
          sdk = undefined; // let the next send try again
          throw err;
        });
        // A cold import of the SDK ignores signals: don't let it outlast the attempt.
        const twilio = await raceAbort(sdk, signal);
        // One client per send: the HTTP client carries this send's AbortSignal.
        const httpClient = createTwilioHttpClient({
          apiBaseUrl: config.apiBaseUrl,
          signal,
          fetch: deps.fetch,
          onRequest: () => requested = true,
        });
        const client = twilio(config.accountSid, config.authToken, {
          // The SDK types this option as its RequestClient class; ours is the duck type it calls.
          httpClient: httpClient as unknown as NonNullable<
            Parameters<TwilioFactory>[2]
          >["httpClient"],
        });
        const sent = await client.messages.create({
          to: message.to.e164,
          body: message.body,
          ...("messagingServiceSid" in config.sms
            ? { messagingServiceSid: config.sms.messagingServiceSid }
            : { from: config.sms.from }),
        });
        if (typeof sent.sid !== "string" || sent.sid === "") {
          return {
            ok: false,
            reason: "internal",
            sent: "unknown",
            detail: "twilio answered without a message SID",
          };
        }
        return { ok: true, id: sent.sid };
      } catch (err) {
        const failure = classifyTwilioError(
          signal.aborted && !isTwilioError(err) ? signal.reason : err,
        );
        // Nothing reached Twilio (SDK load failed or timed out): the message certainly did not
        // leave, so a retry may send it.
        return requested ? failure : { ...failure, sent: "no" };
      }
    },
  };
}
