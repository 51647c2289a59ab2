/**
 * Reading a Standard Webhooks request: the body as sent, its signature checked against it, then
 * the JSON. Shared by the doors whose callers sign (Supabase Auth, the shipped Auth0 relay).
 *
 * @module
 */
import type { Context } from "hono";
import type { Logger } from "../log.ts";
import type { WebhookVerifier } from "../webhook.ts";

/** Strict UTF-8 (a leading BOM is dropped, as JSON allows). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A verified request, or the answer to give instead. */
export type SignedRequest =
  | {
    readonly ok: true;
    readonly raw: string;
    readonly json: unknown;
    readonly id: string;
    /** The signature's timestamp, epoch ms: a replay is possible until it + the tolerance. */
    readonly signedAt: number;
  }
  | { readonly ok: false; readonly response: Response };

/** What {@linkcode readSignedJson} needs. */
export interface ReadSignedOptions {
  readonly verifier: WebhookVerifier;
  readonly log: Logger;
  /** The door's name, for logs. */
  readonly door: string;
  /** The door's answer to a signed body that is not JSON. */
  readonly notJson: (c: Context) => Response;
}

/**
 * Verifies the signature over the raw body (before parsing: the signature covers the bytes),
 * then parses it. A bad signature is 401 with no detail; the reason goes to the log only.
 *
 * @example
 * ```ts
 * const read = await readSignedJson(c, { verifier, log, door: "auth0", notJson });
 * if (!read.ok) return read.response;
 * ```
 */
export async function readSignedJson(
  c: Context,
  options: ReadSignedOptions,
): Promise<SignedRequest> {
  // The bytes as received: the signature covers them, not a decoding of them.
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  const id = c.req.header("webhook-id");
  const verdict = await options.verifier.verify({
    id,
    timestamp: c.req.header("webhook-timestamp"),
    signature: c.req.header("webhook-signature"),
  }, bytes);
  if (!verdict.ok) {
    options.log.warn("unauthorized", { door: options.door, reason: verdict.reason });
    return { ok: false, response: c.json({ message: "Unauthorized" }, 401) };
  }
  try {
    // Authentic bytes that aren't UTF-8 are not a payload: refuse rather than guess.
    const raw = UTF8.decode(bytes);
    return { ok: true, raw, json: JSON.parse(raw), id: id!, signedAt: verdict.signedAt };
  } catch {
    options.log.warn("invalid_payload", { door: options.door, detail: "not JSON" });
    return { ok: false, response: options.notJson(c) };
  }
}
