/**
 * The owner's own gateway: one signed JSON POST per message (docs/http-provider.md).
 *
 * The request is signed with Standard Webhooks under every configured secret, so the gateway can
 * rotate. Its `webhook-id` is derived from the delivery's dedupe key and the channel: every retry
 * of one delivery on one channel carries the same id, and the gateway answers a repeated id with
 * its first answer instead of sending again.
 *
 * @module
 */
import { Webhook } from "standardwebhooks";
import type { FailureReason } from "../../delivery/types.ts";
import {
  callProvider,
  isFailure,
  member,
  notServed,
  type SendFailure,
  statusFailure,
} from "../_http.ts";
import type { OutboundMessage, Provider, SendResult } from "../../delivery/ports.ts";
import type { HttpProviderConfig } from "./config.ts";

/** The reasons a gateway may give with a 4xx; anything else is the gateway's own failure. */
const REASONS: ReadonlySet<FailureReason> = new Set([
  "invalid_number",
  "unreachable_number",
  "opted_out",
  "geo_blocked",
  "rate_limited",
]);

/** Options of {@linkcode createHttpProvider}. */
export interface HttpProviderDeps {
  readonly fetch?: typeof fetch;
  /** Unix seconds, for `webhook-timestamp`. */
  readonly now?: () => number;
}

/** The words a call speaks, as one text. */
function spoken(message: Extract<OutboundMessage, { channel: "voice" }>): string {
  const { intro, again, digits } = message.script;
  if (digits.length === 0) return intro;
  const code = digits.join(", ");
  return `${intro} ${code}. ${again} ${code}.`;
}

/** `msg_` and 32 hex digits of SHA-256 over the delivery key and the channel. */
export async function gatewayMessageId(deliveryKey: string, channel: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`otp-relay\n${deliveryKey}\n${channel}`),
  );
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return `msg_${hex.slice(0, 32)}`;
}

/** Maps a gateway's 4xx or 5xx to a failure: only the listed reasons are the number's own. */
export function classifyGatewayError(status: number, body: unknown): SendFailure {
  const detail = `http status ${status}`;
  if (status === 401 || status === 403) {
    return { ok: false, reason: "provider_config", sent: "no", detail };
  }
  const reason = member(member(body, "error"), "reason");
  if (status >= 400 && status < 500 && typeof reason === "string") {
    if (REASONS.has(reason as FailureReason)) {
      return {
        ok: false,
        reason: reason as FailureReason,
        sent: "no",
        detail: `${detail} ${reason}`,
      };
    }
  }
  // The contract: a gateway never answers 5xx once it has sent, and a 4xx means not sent.
  return statusFailure("http", status, "no");
}

/**
 * Creates the gateway provider for the channels it declares.
 *
 * @example
 * ```ts
 * const gateway = createHttpProvider(config);
 * await gateway.send(message, { signal: AbortSignal.timeout(1500), deliveryKey });
 * ```
 */
export function createHttpProvider(
  config: HttpProviderConfig,
  deps: HttpProviderDeps = {},
): Provider {
  const signers = config.secrets.map((secret) => new Webhook(secret));
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  return {
    name: "http",
    // It refuses an SMS to a number that opted out (its own code for it): see the port.
    refusesOptedOutAtSend: true,
    channels: config.channels,
    async send(message, { signal, deliveryKey }): Promise<SendResult> {
      if (message.channel === "whatsapp" || !config.channels.includes(message.channel)) {
        return notServed("http", message.channel);
      }
      const payload = message.channel === "sms"
        ? {
          to: message.to.e164,
          channel: "sms",
          text: message.body,
          ...(message.code === undefined ? {} : { code: message.code }),
          ...(message.language === undefined ? {} : { language: message.language }),
        }
        : {
          to: message.to.e164,
          channel: "voice",
          text: spoken(message),
          ...(message.code === undefined ? {} : { code: message.code }),
          language: message.script.language,
        };
      const body = JSON.stringify(payload);
      const id = await gatewayMessageId(deliveryKey ?? crypto.randomUUID(), message.channel);
      const timestamp = now();
      const date = new Date(timestamp * 1000);
      const answer = await callProvider({
        provider: "http",
        url: config.url,
        init: {
          headers: {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(timestamp),
            // Standard Webhooks: space-separated signatures, one per secret.
            "webhook-signature": signers.map((s) => s.sign(id, date, body)).join(" "),
          },
          body,
        },
        signal,
        fetch: deps.fetch,
      });
      if (isFailure(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) {
        if (member(answer.body, "error") !== undefined) {
          return {
            ok: false,
            reason: "provider_unavailable",
            sent: "no",
            detail: "http 2xx error",
          };
        }
        const given = member(answer.body, "id");
        return { ok: true, id: typeof given === "string" && given !== "" ? given : id };
      }
      return classifyGatewayError(answer.status, answer.body);
    },
    // No `check`: the gateway contract (docs/http-provider.md) has one endpoint, the send, and no
    // read that proves the secrets without sending a message.
  };
}
