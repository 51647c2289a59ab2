/**
 * Signing Standard Webhooks requests, for `deno task sign`, the tests and the benchmarks: the
 * `standardwebhooks` reference package signs, and `webhook.ts` (@noble/hashes) verifies, so each is
 * checked against the other. The function itself never signs, so it never loads this module.
 *
 * @module
 */
import { Webhook } from "standardwebhooks";
import { normalizeSecret } from "./webhook.ts";

/** What {@linkcode signWebhook} needs. */
export interface SignOptions {
  /** Secrets in `whsec_` or `v1,whsec_` form; one signature each, joined as Auth joins them. */
  secrets: readonly string[];
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
}

/**
 * Signs a body the way Supabase Auth does, for the local `sign` helper, the tests and relays.
 *
 * @example
 * ```ts
 * const headers = signWebhook({ secrets: ["v1,whsec_…"], id: "msg_1", timestamp: 1700000000, body });
 * await fetch(url, { method: "POST", headers, body });
 * ```
 */
export function signWebhook(options: SignOptions): Record<string, string> {
  const date = new Date(options.timestamp * 1000);
  const signature = options.secrets
    .map((s) => new Webhook(normalizeSecret(s)).sign(options.id, date, options.body))
    .join(", ");
  return {
    "webhook-id": options.id,
    "webhook-timestamp": String(options.timestamp),
    "webhook-signature": signature,
  };
}
