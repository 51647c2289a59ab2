/**
 * The Vonage provider, on Vonage's classic SMS API (`POST {base}/sms/json`, form-encoded, key and
 * secret in the form), as Supabase Auth's own Vonage provider calls it. SMS only.
 *
 * The API answers HTTP 200 even when it refuses a message: the verdict is each message's
 * `status`, where anything but `"0"` is a failure. Its `error-text` often repeats the number, so
 * it is never logged: only the status is.
 *
 * @module
 */
import { smsEncoding } from "../../delivery/sms-encoding.ts";
import type { FailureReason } from "../../delivery/types.ts";
import {
  basicAuth,
  callProvider,
  checkProvider,
  isFailure,
  member,
  notServed,
  type SendFailure,
  statusFailure,
} from "../_http.ts";
import type { Provider, ProviderCheck, SendResult } from "../../delivery/ports.ts";
import type { VonageConfig } from "./config.ts";

/**
 * What a non-zero `status` means. None of Vonage's statuses says exactly "this number does not
 * exist" (3 is any invalid parameter, ours included), so none ends a delivery: every refusal
 * lets the next provider try.
 */
const STATUS: ReadonlyMap<number, FailureReason> = new Map([
  [1, "rate_limited"], // Throttled
  [10, "rate_limited"], // Too many existing binds
  [4, "provider_config"], // Invalid credentials
  [8, "provider_config"], // Partner account barred (suspended)
  [9, "provider_config"], // Partner quota violation (no credit)
  [11, "provider_config"], // Account not enabled for HTTP
  [14, "provider_config"], // Invalid signature
  [29, "provider_config"], // Non-whitelisted destination (demo account)
  [15, "channel_config"], // Illegal sender address
  [17, "channel_refused"], // Message blocked
]);

/** Options of {@linkcode createVonageProvider}. */
export interface VonageProviderDeps {
  readonly fetch?: typeof fetch;
}

/** Maps Vonage's per-message status to a failure; `detail` holds only the status. */
export function classifyVonageStatus(status: number): SendFailure {
  return {
    ok: false,
    reason: STATUS.get(status) ?? "provider_unavailable",
    sent: "no",
    detail: `vonage status ${status}`,
    providerCode: status,
  };
}

/**
 * Creates the Vonage provider.
 *
 * @example
 * ```ts
 * const vonage = createVonageProvider(config);
 * await vonage.send({ channel: "sms", to, body }, { signal: AbortSignal.timeout(1500) });
 * ```
 */
export function createVonageProvider(
  config: VonageConfig,
  deps: VonageProviderDeps = {},
): Provider {
  return {
    name: "vonage",
    channels: ["sms"],
    async send(message, { signal }): Promise<SendResult> {
      if (message.channel !== "sms") return notServed("vonage", message.channel);
      const form = new URLSearchParams({
        api_key: config.apiKey,
        api_secret: config.apiSecret,
        from: config.from,
        to: message.to.e164.replace(/^\+/, ""),
        text: message.body,
      });
      // Without type=unicode, characters outside GSM-7 arrive as question marks.
      if (smsEncoding(message.body).encoding === "UCS-2") form.set("type", "unicode");
      if (config.ttlMs !== undefined) form.set("ttl", String(config.ttlMs));
      if (config.entityId) form.set("entity-id", config.entityId);
      if (config.contentId) form.set("content-id", config.contentId);
      // The delivery report (report.ts), only when it can be verified.
      if (config.statusCallbackUrl) form.set("callback", config.statusCallbackUrl);
      const answer = await callProvider({
        provider: "vonage",
        url: `${config.apiBaseUrl}/sms/json`,
        init: {
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: form.toString(),
        },
        signal,
        fetch: deps.fetch,
      });
      if (isFailure(answer)) return answer;
      if (answer.status !== 200) {
        // Not in Vonage's contract (always 200): a proxy or an outage. Nothing says it was sent
        // unless it was a 2xx.
        return answer.status >= 200 && answer.status < 300
          ? { ok: false, reason: "internal", sent: "unknown", detail: `vonage ${answer.status}` }
          : statusFailure("vonage", answer.status, answer.status >= 500 ? "unknown" : "no");
      }
      const first = (member(answer.body, "messages") as unknown[] | undefined)?.[0];
      const status = Number(member(first, "status"));
      const id = member(first, "message-id");
      if (status === 0 && typeof id === "string" && id !== "") return { ok: true, id };
      if (Number.isInteger(status) && status > 0) return classifyVonageStatus(status);
      // A 200 we can't read: Vonage may well have queued the message.
      return { ok: false, reason: "internal", sent: "unknown", detail: "vonage unreadable 200" };
    },
    /**
     * Reads the balance (`GET {base}/account/get-balance`, with Basic auth as Vonage's own
     * example does, so the secret never sits in a URL): 200 `{value, autoReload}`, 401 on wrong
     * credentials. The Account API lives on the same host as the SMS API (`rest.nexmo.com`).
     */
    check(signal): Promise<ProviderCheck> {
      return checkProvider({
        url: `${config.apiBaseUrl}/account/get-balance`,
        headers: {
          accept: "application/json",
          authorization: basicAuth(config.apiKey, config.apiSecret),
        },
        signal,
        fetch: deps.fetch,
      });
    },
  };
}
