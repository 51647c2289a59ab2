/**
 * Standard Webhooks (symmetric `v1`) verification and signing, as Supabase Auth uses them.
 *
 * The `standardwebhooks` package decodes the secret and computes the HMAC; this module adds what
 * Auth's traffic needs around it: several secrets for rotation, Auth's `", "` separator between
 * signatures, strict headers, and an injectable clock.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** The Standard Webhooks reference tolerance for `webhook-timestamp`. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** The three headers Standard Webhooks defines. */
export interface WebhookHeaders {
  readonly id: string | null | undefined;
  readonly timestamp: string | null | undefined;
  readonly signature: string | null | undefined;
}

/** Why a request was refused; for logs only, never for the answer. */
export type WebhookRejection =
  | "missing_headers"
  | "malformed_id"
  | "malformed_timestamp"
  | "stale"
  | "future"
  | "bad_signature";

/** Result of {@linkcode WebhookVerifier.verify}. */
export type WebhookVerdict = { readonly ok: true } | {
  readonly ok: false;
  readonly reason: WebhookRejection;
};

/** Verifies signed requests against a fixed set of secrets. */
export interface WebhookVerifier {
  verify(headers: WebhookHeaders, rawBody: string): WebhookVerdict;
}

/** Options of {@linkcode createWebhookVerifier}. */
export interface WebhookVerifierOptions {
  /** Secrets in `whsec_<base64>` form (a `v1,` prefix is stripped); any one may match. */
  secrets: readonly string[];
  /** Accepted clock skew in seconds, both ways. */
  toleranceSeconds?: number;
  /** Clock in epoch milliseconds. */
  now?: () => number;
}

/** Removes the `v1,` that Supabase writes in front of each secret; the library would choke on it. */
export function normalizeSecret(secret: string): string {
  const trimmed = secret.trim();
  return trimmed.startsWith("v1,") ? trimmed.slice(3) : trimmed;
}

const encoder = new TextEncoder();

/**
 * Splits a `webhook-signature` header into its `v1` signatures. Entries are separated by spaces
 * (the spec) and Auth joins several with `", "`, so commas between entries are tolerated.
 */
function v1Signatures(header: string): string[] {
  const out: string[] = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const sig = entry.slice(comma + 1).replace(/,+$/, "");
    if (sig !== "") out.push(sig);
  }
  return out;
}

/**
 * Creates a verifier for Standard Webhooks signatures. Comparisons are constant-time.
 *
 * @example
 * ```ts
 * const verifier = createWebhookVerifier({ secrets: ["v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] });
 * const verdict = verifier.verify({ id, timestamp, signature }, rawBody);
 * if (!verdict.ok) return new Response(null, { status: 401 });
 * ```
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  if (options.secrets.length === 0) throw new Error("At least one secret is required");
  const hooks = options.secrets.map((s) => new Webhook(normalizeSecret(s)));
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now;

  return {
    verify(headers, rawBody) {
      const { id, timestamp, signature } = headers;
      if (!id || !timestamp || !signature) return { ok: false, reason: "missing_headers" };
      // The id keys de-duplication: printable ASCII, bounded.
      if (!/^[\x21-\x7e]{1,256}$/.test(id)) return { ok: false, reason: "malformed_id" };
      if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed_timestamp" };
      const seconds = Number(timestamp);
      const nowSeconds = Math.floor(now() / 1000);
      if (nowSeconds - seconds > tolerance) return { ok: false, reason: "stale" };
      if (seconds - nowSeconds > tolerance) return { ok: false, reason: "future" };

      const passed = v1Signatures(signature).map((s) => encoder.encode(s));
      let matched = false;
      for (const hook of hooks) {
        const expected = encoder.encode(
          hook.sign(id, new Date(seconds * 1000), rawBody).slice("v1,".length),
        );
        for (const candidate of passed) {
          // Every pair is compared, so timing does not reveal which secret or entry matched.
          if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
            matched = true;
          }
        }
      }
      return matched ? { ok: true } : { ok: false, reason: "bad_signature" };
    },
  };
}

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
