/**
 * What the delivery-report readers of the fetch-based providers (Vonage, Plivo, Telnyx) share:
 * HMAC with WebCrypto, hex and base64, constant-time comparison of encoded signatures, the
 * parameters of a form or query string, and the field schemas every report is read with.
 *
 * Each reader checks the signature over the request first and reads it only then: an unsigned or
 * forged request is 403 whatever it holds, a signed one we cannot read is 400. A `why` names what
 * was wrong and never repeats a value: reports carry phone numbers, and signatures secrets.
 *
 * @module
 */
import { z } from "../zod.ts";
import { constantTimeEqual } from "../constant-time.ts";
import type { ReportStatus, ReportVerdict } from "../delivery/ports.ts";

const encoder = new TextEncoder();

/** The HMAC hashes the readers use. */
export type HmacHash = "SHA-256" | "SHA-512";

/** Imports `secret` as an HMAC key for `hash`, for signing. */
export function hmacKey(hash: HmacHash, secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
}

/** The HMAC of `message` (UTF-8) with `key`. */
export async function hmac(key: CryptoKey, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Standard base64 (with padding) of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of standard base64 `text`, or `undefined` when it does not decode. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** True when two encoded signatures are the same text, compared in constant time. */
export function sameSignature(given: string, expected: string): boolean {
  return constantTimeEqual(encoder.encode(given), encoder.encode(expected));
}

/** The decoded name/value pairs of a form body or a query string, in order, repeats kept. */
export function formPairs(text: string): [string, string][] {
  return [...new URLSearchParams(text)];
}

/** Code-unit order of plain strings (never locale order: the providers sort bytes). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 403: no valid signature over the request. */
export function forbidden(why: string): ReportVerdict {
  return { ok: false, status: 403, why };
}

/** 400: signed, but not a report we can read. */
export function unreadable(why: string): ReportVerdict {
  return { ok: false, status: 400, why };
}

/** A provider's message id: what its send answer gave (hex, UUID, …), never free text. */
export const messageId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

/** A status word; unknown words are tolerated (see {@linkcode reportStatus}). */
export const statusWord = z.string().regex(/^[A-Za-z0-9_ -]{1,32}$/);

/** A provider error code as text: digits only. */
export const digitsCode = z.string().regex(/^\d{1,9}$/);

/** A recipient as providers write it (digits, with or without `+`), as E.164. */
export const recipient = z.string().regex(/^\+?[1-9]\d{6,14}$/)
  .transform((v) => v.startsWith("+") ? v : `+${v}`);

/**
 * A provider's status in the common vocabulary: its own table for the words it documents, and
 * `sent` (not final) for a word it may add later.
 */
export function reportStatus(
  table: Readonly<Record<string, ReportStatus>>,
  word: string,
): ReportStatus {
  const key = word.toLowerCase();
  return Object.hasOwn(table, key) ? table[key]! : "sent";
}

/** A record without the entries whose value is empty: providers send unset fields as `""`. */
export function withoutBlanks(fields: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ""));
}

/** A non-zero provider error code, from its text. */
export function errorCodeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const code = Number(text);
  return Number.isSafeInteger(code) && code > 0 ? code : undefined;
}
