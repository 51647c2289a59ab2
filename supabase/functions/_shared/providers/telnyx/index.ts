/**
 * The Telnyx provider, on Telnyx's Messaging API v2 (`POST {base}/v2/messages`, Bearer key,
 * JSON, `to` in +E.164). SMS only.
 *
 * Telnyx's HTTP statuses vary for one error (40300 has been seen as 400, 403, 409 and 422): the
 * verdict is keyed on `errors[0].code`. Its `detail` can repeat the number and is never logged.
 *
 * @module
 */
import type { FailureReason } from "../../delivery/types.ts";
import {
  callProvider,
  checkProvider,
  isFailure,
  member,
  notServed,
  type SendFailure,
  statusFailure,
} from "../_http.ts";
import type { Provider, ProviderCheck, SendResult } from "../../delivery/ports.ts";
import type { TelnyxConfig } from "./config.ts";

/** What Telnyx's error codes mean for a delivery. */
const CODES: ReadonlyMap<number, FailureReason> = new Map([
  [40310, "invalid_number"], // Invalid 'to' address: exactly "this number is wrong"
  [40300, "opted_out"], // Blocked due to STOP message
  [10011, "rate_limited"], // Too many requests
  [40318, "rate_limited"], // Message queue full
  [10009, "provider_config"], // Authentication failed
  [20001, "provider_config"], // API key invalid
  [20002, "provider_config"], // API key revoked
  [20008, "provider_config"], // API key unknown
  [20100, "provider_config"], // Insufficient funds
  [20012, "provider_config"], // Account inactive
  [20013, "provider_config"], // Account blocked
  [40314, "provider_config"], // Messaging disabled on the account
  [40312, "provider_config"], // Messaging profile disabled
  [40333, "provider_config"], // Messaging profile spend limit reached
  [40309, "geo_blocked"], // Destination region not enabled on the profile
  [40305, "channel_config"], // 'from' not valid or not on the profile
  [40306, "channel_config"], // Alphanumeric sender not configured
  [40307, "channel_config"], // Alphanumeric sender mismatch
  [40325, "channel_config"], // Invalid alphanumeric sender
]);

/** Options of {@linkcode createTelnyxProvider}. */
export interface TelnyxProviderDeps {
  readonly fetch?: typeof fetch;
}

/** Maps a Telnyx error answer (status, `errors[0].code`) to a failure. */
export function classifyTelnyxError(status: number, code: number | undefined): SendFailure {
  const known = code === undefined ? undefined : CODES.get(code);
  const withCode = code === undefined ? {} : { providerCode: code };
  const detail = `telnyx status ${status}${code === undefined ? "" : ` code ${code}`}`;
  if (known) return { ok: false, reason: known, sent: "no", detail, ...withCode };
  // Telnyx's own error body says it refused the message; a bare 5xx may come from a proxy.
  const failure = statusFailure(
    "telnyx",
    status,
    code === undefined && status >= 500 ? "unknown" : "no",
  );
  return { ...failure, detail, ...withCode };
}

/**
 * Creates the Telnyx provider.
 *
 * @example
 * ```ts
 * const telnyx = createTelnyxProvider(config);
 * await telnyx.send({ channel: "sms", to, body }, { signal: AbortSignal.timeout(1500) });
 * ```
 */
export function createTelnyxProvider(
  config: TelnyxConfig,
  deps: TelnyxProviderDeps = {},
): Provider {
  return {
    name: "telnyx",
    // It refuses an SMS to a number that opted out (its own code for it): see the port.
    refusesOptedOutAtSend: true,
    channels: ["sms"],
    async send(message, { signal }): Promise<SendResult> {
      if (message.channel !== "sms") return notServed("telnyx", message.channel);
      const body = {
        to: message.to.e164,
        text: message.body,
        ...(config.from ? { from: config.from } : {}),
        ...(config.messagingProfileId ? { messaging_profile_id: config.messagingProfileId } : {}),
        // The delivery webhooks (report.ts), only when they can be verified.
        ...(config.statusCallbackUrl ? { webhook_url: config.statusCallbackUrl } : {}),
      };
      const answer = await callProvider({
        provider: "telnyx",
        url: `${config.apiBaseUrl}/v2/messages`,
        init: {
          headers: {
            authorization: `Bearer ${config.apiKey}`,
            "content-type": "application/json",
            accept: "application/json",
          },
          body: JSON.stringify(body),
        },
        signal,
        fetch: deps.fetch,
      });
      if (isFailure(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) {
        const id = member(member(answer.body, "data"), "id");
        if (typeof id === "string" && id !== "") return { ok: true, id };
        return { ok: false, reason: "internal", sent: "unknown", detail: "telnyx unreadable 2xx" };
      }
      const first = (member(answer.body, "errors") as unknown[] | undefined)?.[0];
      const raw = member(first, "code");
      const code = typeof raw === "string" && /^\d{1,9}$/.test(raw)
        ? Number(raw)
        : typeof raw === "number" && Number.isInteger(raw)
        ? raw
        : undefined;
      return classifyTelnyxError(answer.status, code);
    },
    /** Reads the balance (`GET {base}/v2/balance`): 200 `{data: {balance, …}}`, 401 10009. */
    check(signal): Promise<ProviderCheck> {
      return checkProvider({
        url: `${config.apiBaseUrl}/v2/balance`,
        headers: { authorization: `Bearer ${config.apiKey}`, accept: "application/json" },
        signal,
        fetch: deps.fetch,
      });
    },
  };
}
