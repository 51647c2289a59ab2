/**
 * Abuse limits and refusals, checked after dedupe (a caller's retry never counts) and before any
 * message leaves: SMS pumping sends codes to ranges of numbers the fraudster is paid for, so the
 * limits count per number, per 1,000-number block, per client IP and globally; geo lists and
 * number types refuse what should never be sent to.
 *
 * Counters use fixed windows: a window's count resets when the next window starts.
 *
 * @module
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { LineType, PhoneNumber } from "../phone.ts";
import type { CounterHit, CounterStore } from "./ports.ts";
import type { FailureReason } from "./types.ts";

/** A count per window, e.g. `5/15m`. */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

/** What can be limited. */
export type LimitScope = "number" | "prefix" | "ip" | "global";

/** The owner's limits and refusals. */
export interface LimitsConfig {
  readonly perNumber?: RateLimit;
  readonly perPrefix?: RateLimit;
  readonly perIp?: RateLimit;
  readonly global?: RateLimit;
  /** ISO codes; when set, other countries (and numbers of no single country) are refused. */
  readonly allowedCountries?: readonly string[];
  readonly blockedCountries: readonly string[];
  /** libphonenumber types refused outright. */
  readonly blockedTypes: readonly string[];
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `5/15m`, `20/10m`, `10000/1d` or `off`. Throws an `Error` saying what is wrong.
 *
 * @example
 * ```ts
 * parseRateLimit("5/15m"); // { max: 5, windowMs: 900000 }
 * ```
 */
export function parseRateLimit(text: string): RateLimit | undefined {
  const t = text.trim().toLowerCase();
  if (t === "off") return undefined;
  const m = t.match(/^(\d{1,9})\s*\/\s*(\d{1,6})\s*([smhd])$/);
  if (!m) throw new Error("must look like 5/15m (count/duration with s, m, h or d) or off");
  const max = Number(m[1]);
  const windowMs = Number(m[2]) * UNITS[m[3]!]!;
  if (max < 1) throw new Error("must allow at least 1");
  if (windowMs < 1000 || windowMs > 31 * 86_400_000) {
    throw new Error("must use a window between 1s and 31d");
  }
  return { max, windowMs };
}

const REFUSAL_REASONS = [
  "limit_number",
  "limit_prefix",
  "limit_ip",
  "limit_global",
  "country_not_allowed",
  "number_type_blocked",
] as const satisfies readonly FailureReason[];

/** What refused a request, as a failure reason. */
export type Refusal = typeof REFUSAL_REASONS[number];

/** Refusals are final: a retry of a refused request is refused again without counting. */
export const REFUSALS: ReadonlySet<FailureReason> = new Set<Refusal>(REFUSAL_REASONS);

/** Country and number type refusals, which need no counting. */
export function refuse(to: PhoneNumber, config: LimitsConfig): Refusal | undefined {
  const country = to.country;
  if (config.allowedCountries && (!country || !config.allowedCountries.includes(country))) {
    return "country_not_allowed";
  }
  if (country && config.blockedCountries.includes(country)) return "country_not_allowed";
  // A number of no single country is refused when every country it could belong to is blocked
  // (found in review: with RU and KZ blocked, +7 601… went through).
  const candidates = to.possibleCountries ?? [];
  if (
    !country && candidates.length > 0 &&
    candidates.every((c) => config.blockedCountries.includes(c))
  ) {
    return "country_not_allowed";
  }
  if (to.type && config.blockedTypes.includes(to.type)) return "number_type_blocked";
  return undefined;
}

/**
 * What the per-IP limit counts for an address: IPv4 as dotted decimal; IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`) as that IPv4; any other IPv6 as its /64, canonical (`2001:db8:1:2::/64`),
 * since one subscriber gets a whole /64 and picks addresses in it at will (found in review:
 * seven addresses of one /64, and two spellings of one address, counted apart). Text that is
 * no address is counted as it is, trimmed and lower-cased.
 *
 * @example
 * ```ts
 * ipKey("2001:DB8:1:2::1"); // "2001:db8:1:2::/64"
 * ```
 */
export function ipKey(text: string): string {
  const ip = text.trim().toLowerCase().replace(/%.*$/, ""); // a zone id names no other host
  const v4 = parseIPv4(ip);
  if (v4) return v4.join(".");
  const v6 = parseIPv6(ip);
  if (!v6) return ip.slice(0, 64);
  const mapped = v6.slice(0, 5).every((h) => h === 0) && v6[5] === 0xffff;
  if (mapped) return [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255].join(".");
  const prefix = v6.slice(0, 4).map((h) => h.toString(16));
  // Canonical text of the /64: trailing zero groups fold into "::".
  while (prefix.length > 0 && prefix.at(-1) === "0") prefix.pop();
  return `${prefix.join(":")}::/64`;
}

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => /^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN);
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function parseIPv6(text: string): number[] | undefined {
  if (!/^[0-9a-f:.]{2,45}$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/.test(piece)) out.push(parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...Array(missing).fill(0), ...tail] : undefined;
}

/** `+447400123456` → `+447400123`: the block of 1,000 numbers it belongs to. */
export function numberBlock(e164: string): string {
  return e164.slice(0, -3);
}

/** Keyed hashing of what is counted (HMAC-SHA-256, hex). */
export type KeyedHash = (value: string) => Promise<string>;

/** Values longer than this are hashed but never memoised (a body can be a megabyte). */
export const MEMO_MAX_VALUE_CHARS = 256;
/** Results memoised at most. */
export const MEMO_ENTRIES = 512;

/**
 * Creates a {@linkcode KeyedHash} from a secret key. The last few hundred results for short
 * values are kept: a request hashes its number for the limit, for opt-outs and for the delivery
 * log. Long values (a request body, for the dedupe key of a request without an id) are never
 * kept: 512 of them could hold half a gigabyte (found in review: 150 signed 1 MB bodies grew
 * the heap by 153 MB). `memoChars` says how much the memo holds.
 */
export function createKeyedHash(secret: string): KeyedHash & { readonly memoChars: number } {
  // Two generations: a value is looked up in the young one, then the old one; when the young one
  // is full it becomes the old one. (Dropping the single oldest entry of one Map walks over every
  // entry deleted since V8 last compacted it.)
  let young = new Map<string, string>();
  let old = new Map<string, string>();
  const hash = keyedHex(secret);
  const keyed = (value: string) => {
    if (value.length > MEMO_MAX_VALUE_CHARS) return Promise.resolve(hash(value));
    let result = young.get(value);
    if (result === undefined) {
      result = old.get(value) ?? hash(value);
      if (young.size >= MEMO_ENTRIES / 2) {
        old = young;
        young = new Map();
      }
      young.set(value, result);
    }
    return Promise.resolve(result);
  };
  return Object.defineProperty(keyed, "memoChars", {
    get: () => [...young.keys(), ...old.keys()].reduce((n, k) => n + k.length, 0),
  }) as KeyedHash & { readonly memoChars: number };
}

function keyedHex(secret: string): (value: string) => string {
  // @noble/hashes: synchronous and ESM (node:crypto would load Node's compatibility layer at
  // every cold start; an awaited WebCrypto sign costs ~10× more per call). The keyed state
  // (the key's inner and outer blocks) is computed once and cloned per value: two of the four
  // SHA-256 blocks a short value costs.
  const encoder = new TextEncoder();
  const keyed = hmac.create(sha256, encoder.encode(secret));
  return (value) => hex(keyed.clone().update(encoder.encode(value)).digest());
}

/** Character codes of `0`–`9`, `a`–`f`. */
const HEX_DIGITS = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/**
 * Lower-case hex of `bytes` as one flat string. (Appending two characters at a time, as most hex
 * helpers do, leaves a V8 string of some thirty linked pieces; the stores keep these hashes as
 * keys, and the pieces were 40% of the live heap once they were full: bench/OPTIMISATIONS.md.)
 */
export function hex(bytes: Uint8Array): string {
  const codes = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    codes[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    codes[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return String.fromCharCode(...codes);
}

/** What {@linkcode checkLimits} looks at. */
export interface LimitSubject {
  readonly to: PhoneNumber;
  readonly ip?: string;
}

/**
 * Counts a request against every configured limit and says which one it exceeds, if any.
 * Refusals by country and number type come first and count nothing.
 */
export async function checkLimits(
  subject: LimitSubject,
  config: LimitsConfig,
  deps: { counters: CounterStore; hash: KeyedHash; now: () => number },
): Promise<Refusal | undefined> {
  const refused = refuse(subject.to, config);
  if (refused) return refused;

  const active: [LimitScope, RateLimit, string, Refusal][] = [];
  if (config.perNumber) active.push(["number", config.perNumber, subject.to.e164, "limit_number"]);
  if (config.perPrefix) {
    active.push(["prefix", config.perPrefix, numberBlock(subject.to.e164), "limit_prefix"]);
  }
  const ip = config.perIp && subject.ip !== undefined ? ipKey(subject.ip) : "";
  if (config.perIp && ip !== "") active.push(["ip", config.perIp, ip, "limit_ip"]);
  if (config.global) active.push(["global", config.global, "*", "limit_global"]);
  if (active.length === 0) return undefined;
  const at = deps.now();
  // Every key is asked for before any is awaited: when the shared hash key has to be read from
  // the database, the hashes wait on one read (and, if it fails, fail together).
  const keys = await Promise.all(
    active.map(([scope, , value]) => scope === "global" ? "*" : deps.hash(`${scope}:${value}`)),
  );
  const hits: CounterHit[] = active.map(([scope, limit], i) => ({
    scope,
    key: keys[i]!,
    bucket: Math.floor(at / limit.windowMs),
    windowMs: limit.windowMs,
  }));
  const counts = await deps.counters.hit(hits);
  for (const [i, [, limit, , refusal]] of active.entries()) {
    if (counts[i]! > limit.max) {
      // A refused request sends nothing, so it must not use up the other budgets (a flood at
      // one blocked number would otherwise exhaust its whole block, or the global cap).
      await deps.counters.undo(hits).catch(() => {});
      return refusal;
    }
  }
  return undefined;
}

/** libphonenumber line types an owner may block. */
export const LINE_TYPES: readonly Exclude<LineType, undefined>[] = [
  "MOBILE",
  "FIXED_LINE",
  "FIXED_LINE_OR_MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];
