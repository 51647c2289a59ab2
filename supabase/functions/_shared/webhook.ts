/**
 * Standard Webhooks (symmetric `v1`) verification, as Supabase Auth and the shipped Auth0 relay
 * sign.
 *
 * The HMAC is `@noble/hashes` (audited, synchronous, ESM: no Node compatibility layer to load at
 * start, and ~5 µs where an awaited WebCrypto sign costs ~60 µs); signing for tools and tests is
 * in `webhook-sign.ts`, on the `standardwebhooks` reference package, so the tests check each
 * against the other and against the reference vector. Around the HMAC this
 * module adds what the traffic needs: several secrets for rotation, Auth's `", "` separator
 * between signatures, strict headers, and an injectable clock.
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { constantTimeEqual } from "./constant-time.ts";

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
export type WebhookVerdict = {
  readonly ok: true;
  /** The signature's `webhook-timestamp`, epoch ms: the signature is valid until it + tolerance. */
  readonly signedAt: number;
} | {
  readonly ok: false;
  readonly reason: WebhookRejection;
};

/** Verifies signed requests against a fixed set of secrets. */
export interface WebhookVerifier {
  /**
   * Checks the signature over the body **as received**: bytes (what was signed), or a string
   * (tools and tests; encoded as UTF-8).
   */
  verify(headers: WebhookHeaders, rawBody: Uint8Array | string): Promise<WebhookVerdict>;
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
 * const verdict = await verifier.verify({ id, timestamp, signature }, rawBody);
 * if (!verdict.ok) return new Response(null, { status: 401 });
 * ```
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  if (options.secrets.length === 0) throw new Error("At least one secret is required");
  // Each key's HMAC state is computed once and cloned per request.
  const keys = options.secrets.map((s) => hmac.create(sha256, secretBytes(normalizeSecret(s))));
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now;

  return {
    // deno-lint-ignore require-await -- the port is async: a verifier may need to await
    async verify(headers, rawBody) {
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
      // The signed content is `id.timestamp.` and the body's bytes, as they came: decoding first
      // would drop a leading BOM and turn invalid UTF-8 into U+FFFD (found in review).
      const body = typeof rawBody === "string" ? encoder.encode(rawBody) : rawBody;
      const prefix = encoder.encode(`${id}.${seconds}.`);
      let matched = false;
      for (const key of keys) {
        // Streamed: the body is never copied to prepend the prefix.
        const mac = key.clone().update(prefix).update(body).digest();
        const expected = encoder.encode(base64(mac));
        for (const candidate of passed) {
          // Every pair is compared, so timing does not reveal which secret or entry matched.
          if (constantTimeEqual(candidate, expected)) matched = true;
        }
      }
      return matched
        ? { ok: true, signedAt: seconds * 1000 }
        : { ok: false, reason: "bad_signature" };
    },
  };
}

/** `whsec_<base64>` → the key bytes. */
function secretBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    throw new Error("A webhook secret must be whsec_ followed by base64");
  }
  if (binary.length === 0) throw new Error("A webhook secret must not be empty");
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
