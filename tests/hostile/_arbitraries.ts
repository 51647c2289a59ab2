/**
 * Generators of hostile requests for the three front doors (fast-check), and the reference
 * oracle that says which of them are authentic.
 *
 * Every generated request is a {@linkcode Plan}: the exact bytes and headers sent, whether it
 * was built the way the real caller builds it (`honest`), and the parts a checker needs (the
 * code, the number, the dedupe key). Authenticity of Standard Webhooks requests is decided by
 * the `standardwebhooks` reference package, not by our verifier.
 */
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { normalizeSecret } from "../../supabase/functions/_shared/webhook.ts";
import { NOW_MS, TEST_SECRET } from "../_helpers.ts";

/** The fixed clock of the fuzzed app, in Unix seconds. */
export const NOW_S = Math.floor(NOW_MS / 1000);
export const AUTH0_SECRET = "whsec_" + btoa("auth0 relay secret for the hostile tests");
export const OKTA_SECRET = "okta-hostile-secret-0123456789";
/** A secret of the right form that is not ours. */
const FOREIGN_SECRET = "whsec_" + btoa("somebody else's signing secret!!");

/** Runs per door (`OTP_FUZZ_RUNS`, 10,000 in CI) and the seed (`OTP_FUZZ_SEED`). */
export const FUZZ_RUNS = Number(Deno.env.get("OTP_FUZZ_RUNS") ?? 10_000);
export const FUZZ_SEED = seed(Deno.env.get("OTP_FUZZ_SEED"));

/** A fixed seed by default; `random` for nightly runs (printed, so a failure can be replayed). */
function seed(given: string | undefined): number {
  if (given === "random") {
    const value = crypto.getRandomValues(new Uint32Array(1))[0]! | 0;
    console.log(`OTP_FUZZ_SEED=${value}`);
    return value;
  }
  const value = Number(given ?? 20261123);
  if (!Number.isInteger(value)) throw new Error("OTP_FUZZ_SEED must be an integer or random");
  return value;
}

/** One generated request. */
export interface Plan {
  readonly body: string | Uint8Array;
  readonly headers: readonly (readonly [string, string])[];
  /** Built as the real caller builds it: right secret, fresh timestamp, untouched after signing. */
  readonly honest: boolean;
  /** A payload the door must deliver when `honest` (a well-formed request to a mobile). */
  readonly deliverable: boolean;
  /** The code in the payload, when it is a string of digits. */
  readonly code?: string;
  /** The destination's digits, when the payload has a number. */
  readonly digits?: string;
}

// --- Hostile values ----------------------------------------------------------------------------

const NASTY = [
  "\u0000",
  "\u0007",
  "\b",
  "\t",
  "\n",
  "\r",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u200b",
  "\u200e",
  "\u202e",
  "\u2028",
  "\ufeff",
  "\ufffd",
  "\ud800",
  "\udfff",
  "😀",
  "👩‍👩‍👧",
  "e\u0301",
  "١٢٣",
  "０１２",
  "𝟗",
  "%00",
  "\\u0000",
  '"',
  "\\",
  "<script>",
  "' OR 1=1 --",
  "${jndi:x}",
  "{{code}}",
  "__proto__",
];

/** Characters that break parsers, logs and terminals. */
const nastyChar = fc.constantFrom(...NASTY);
const phoneChar = fc.constantFrom(..."0123456789+ -().", ...NASTY);

/** A few huge strings (kept rare: they cost time, not coverage). */
const huge = fc.record({
  unit: fc.constantFrom("9", "a", "é", "😀", "\u0000", "{"),
  n: fc.constantFrom(5_000, 70_000, 300_000),
}).map(({ unit, n }) => unit.repeat(n));

/** Text of every kind: printable, binary unicode, control characters, huge. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 4, arbitrary: fc.string({ unit: nastyChar, maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: huge },
);

/** Any JSON value, or something JSON has no word for. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1e308, [], {}, [[]], "") },
);

/** Mobiles of several countries, as callers write them. */
const MOBILES = [
  "+447400123456",
  "447700900123",
  "+33612345678",
  "+4915112345678",
  "+5511961234567",
  "+8613800138000",
  "+919876543210",
  "+61412345678",
];

/** A number: real mobiles, near misses, garbage. */
export const phone: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...MOBILES) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...MOBILES), fc.nat(), phoneChar).map(([m, i, ch]) =>
      m.slice(0, i % (m.length + 1)) + ch + m.slice(i % (m.length + 1))
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: phoneChar, maxLength: 25 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "+1900555010",
      "+447000000000",
      "+0",
      "+",
      "",
      "+٤٤٧٤٠٠١٢٣٤٥٦",
      "+44 7400 123456 ext. 1",
      "tel:+447400123456",
      "+999999999999999",
    ),
  },
  { weight: 1, arbitrary: hostileText },
);

/** A code: mostly long canaries (a leak is then unmistakable), plus near misses. */
export const code: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[1-9]\d{7,9}$/) },
  { weight: 2, arbitrary: fc.stringMatching(/^\d{4,6}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "123", "12345678901", "12 34 56", "١٢٣٤٥٦", "123456\n", "0x1F"),
  },
  { weight: 1, arbitrary: hostileText },
);

/** Locales: real tags, odd casing, garbage. */
const locale: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("en", "pt-BR", "pt_br", "zh-Hant-TW", "de-CH", "fr", "ar", "EN-us", "x-klingon"),
  hostileText,
);

/** Ids as Auth and our relay make them. */
const realId = fc.uuid().map((u) => `msg_${u}`);
const webhookId = fc.oneof(
  { weight: 6, arbitrary: realId },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 300 }) },
);

/** `arbitrary` once in `every` values, else null (fc.option's `freq` is the other way round). */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: every - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary },
  );
}

// --- Structural mutations ------------------------------------------------------------------------

/** Replaces (or deletes) the value at one path of a JSON object, found by index. */
function replaceAt(value: unknown, index: number, replacement: unknown, del: boolean): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    }
  };
  walk(value, []);
  const path = paths[index % paths.length]!;
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (del && !Array.isArray(target)) delete target[last];
  else target[last] = replacement;
  return copy;
}

/** Zero to three wrong-typed or deleted fields anywhere in the payload. */
const typeMutations = fc.array(
  fc.record({ index: fc.nat(), value: anyValue, del: fc.boolean() }),
  { maxLength: 3 },
);

/** Byte-level damage to a serialised body. */
const bodyMutation = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: hostileText }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), text: nastyChar }),
  fc.record({ kind: fc.constant("duplicateKey" as const), text: anyValue }),
  fc.record({ kind: fc.constant("nest" as const), depth: fc.constantFrom(64, 64, 5_000, 100_000) }),
);

function mutateBody(body: string, m: Mutation): string {
  const at = "at" in m ? m.at % (body.length + 1) : 0;
  switch (m.kind) {
    case "truncate":
      return body.slice(0, at);
    case "insert":
      return body.slice(0, at) + m.text + body.slice(at);
    case "flip":
      return body.slice(0, at) + m.text + body.slice(at + 1);
    case "nest":
      // Deep nesting: parsers that recurse run out of stack.
      return `${"[".repeat(m.depth)}${body}${"]".repeat(m.depth)}`;
    case "duplicateKey":
      // JSON.parse keeps the last of two equal keys: a classic smuggling shape.
      return body.replace(/\}\s*$/, `,"sms":${JSON.stringify(m.text ?? null)}}`);
  }
}
type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "flip"; at: number; text: string }
  | { kind: "duplicateKey"; text: unknown }
  | { kind: "nest"; depth: number };

/** What a sender may do to a payload: nothing (mostly), wrong types, or byte damage. */
const damage = fc.record({
  types: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, {
    weight: 2,
    arbitrary: typeMutations,
  }),
  bytes: sometimes(bodyMutation, 4),
  /** Send bytes that are not UTF-8 at all. */
  binary: sometimes(fc.uint8Array({ maxLength: 64 }), 30),
});

interface Payload {
  readonly value: unknown;
  readonly deliverable: boolean;
  readonly code?: string;
  readonly digits?: string;
}

/** Serialises a payload after `damage`: the body, and whether it is still the payload. */
function damaged(
  payload: Payload,
  d: { types: readonly { index: number; value: unknown; del: boolean }[]; bytes: Mutation | null },
): { body: string; intact: boolean } {
  let value = payload.value;
  for (const t of d.types) value = replaceAt(value, t.index, t.value, t.del);
  let body = JSON.stringify(value) ?? "null";
  if (d.bytes) body = mutateBody(body, d.bytes);
  return { body, intact: d.types.length === 0 && d.bytes === null };
}

// --- Signatures --------------------------------------------------------------------------------

const signatureEntry = fc.constantFrom(
  "valid",
  "valid",
  "foreign",
  "random",
  "v2",
  "empty",
  "truncated",
  "noComma",
  "lowercased",
);

const timestamp = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -290, max: 290 }) },
  { weight: 3, arbitrary: fc.constantFrom(-302, -301, -300, -299, 299, 300, 301, 302) },
  { weight: 1, arbitrary: fc.integer({ min: -4e9, max: 4e9 }) },
);

const timestampFormat = fc.oneof(
  { weight: 8, arbitrary: fc.constant("digits") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "ms",
      "float",
      "signed",
      "padded",
      "spaced",
      "trailingJunk",
      "hex",
      "exponent",
      "missing",
      "empty",
    ),
  },
);

/** How a Standard Webhooks request is signed, honestly or not. */
const signing = fc.record({
  honest: fc.boolean(),
  secret: fc.constantFrom("ours", "ours", "ours", "foreign", "prefixless"),
  id: fc.option(webhookId, { freq: 12 }),
  honestId: realId,
  offset: timestamp,
  format: timestampFormat,
  entries: fc.array(signatureEntry, { maxLength: 5 }),
  joiner: fc.constantFrom(" ", ", ", ",", "  ", "\t"),
  afterSigning: sometimes(bodyMutation, 8),
  extraHeaders: fc.array(
    fc.tuple(
      fc.constantFrom("x-forwarded-for", "webhook-signature", "content-type", "x-a", "webhook-id"),
      fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
    ),
    { maxLength: 2 },
  ),
});

function formatTimestamp(seconds: number, format: string): string | undefined {
  switch (format) {
    case "ms":
      return String(seconds * 1000);
    case "float":
      return `${seconds}.5`;
    case "signed":
      return `+${seconds}`;
    case "padded":
      return `00${seconds}`;
    case "spaced":
      return ` ${seconds}`;
    case "trailingJunk":
      return `${seconds}abc`;
    case "hex":
      return `0x${seconds.toString(16)}`;
    case "exponent":
      return seconds.toExponential();
    case "missing":
      return undefined;
    case "empty":
      return "";
    default:
      return String(seconds);
  }
}

/** The base64 signature of the reference package, for one secret. */
function sign(secret: string, id: string, seconds: number, body: string): string {
  return new Webhook(normalizeSecret(secret)).sign(id, new Date(seconds * 1000), body).slice(3);
}

/** What HTTP makes of a header value (no CR/LF/NUL, Latin-1, trimmed): fetch would refuse it. */
function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, "").trim();
}

/** Headers and body for a payload, signed as `s` says. */
function signed(
  secretOfDoor: string,
  payloadBody: { body: string; intact: boolean },
  s: SigningPlan,
  binary: Uint8Array | null,
): { body: string | Uint8Array; headers: [string, string][]; honest: boolean } {
  // Strings travel as UTF-8: sign what the receiver will read (lone surrogates become U+FFFD;
  // a leading BOM stays, as it is sent).
  const body = new TextDecoder("utf-8", { ignoreBOM: true }).decode(
    new TextEncoder().encode(payloadBody.body),
  );
  const honest = s.honest;
  const id = honest ? s.honestId : s.id;
  // Honest requests reach the tolerance itself: ±300 s is still in time.
  const seconds = NOW_S + (honest ? Math.max(-300, Math.min(300, s.offset)) : s.offset);
  const secret = honest || s.secret === "ours"
    ? secretOfDoor
    : s.secret === "prefixless"
    ? secretOfDoor.replace(/^v1,/, "").replace(/^whsec_/, "")
    : FOREIGN_SECRET;
  const signedId = id ?? "";
  const valid = sign(secret, signedId, seconds, body);
  const entries = honest && !s.entries.includes("valid") ? [...s.entries, "valid"] : s.entries;
  const rendered = entries.map((e) => {
    switch (e) {
      case "valid":
        return `v1,${valid}`;
      case "foreign":
        return `v1,${sign(FOREIGN_SECRET, signedId, seconds, body)}`;
      case "random":
        // Well-formed but wrong, and derived from the plan so the seed replays it.
        return `v1,${btoa(valid.split("").reverse().join("")).slice(0, 44)}`;
      case "v2":
        return `v2,${valid}`;
      case "empty":
        return "v1,";
      case "truncated":
        return `v1,${valid.slice(0, -2)}`;
      case "noComma":
        return `v1${valid}`;
      default:
        return `v1,${valid.toLowerCase()}`;
    }
  });
  const headers: [string, string][] = [["content-type", "application/json"]];
  if (id !== null) headers.push(["webhook-id", headerSafe(id)]);
  const ts = honest ? String(seconds) : formatTimestamp(seconds, s.format);
  if (ts !== undefined) headers.push(["webhook-timestamp", ts]);
  if (rendered.length > 0) {
    // Auth joins several signatures with ", ", the spec with " ": honest requests use both.
    const honestJoiner = s.joiner === ", " ? ", " : " ";
    headers.push(["webhook-signature", rendered.join(honest ? honestJoiner : s.joiner)]);
  }
  if (!honest) { for (const [k, v] of s.extraHeaders) headers.push([k, headerSafe(v)]); }
  let sent: string | Uint8Array = body;
  if (!honest && s.afterSigning) sent = mutateBody(body, s.afterSigning);
  if (binary) sent = new Uint8Array(binary);
  return {
    body: sent,
    headers,
    honest: honest && payloadBody.intact && binary === null,
  };
}
type SigningPlan = {
  honest: boolean;
  secret: string;
  id: string | null;
  honestId: string;
  offset: number;
  format: string;
  entries: string[];
  joiner: string;
  afterSigning: Mutation | null;
  extraHeaders: [string, string][];
};

/**
 * Whether the reference package accepts the request as signed with `secret`, at the fixed clock.
 * A body that is not JSON still counts as authentic when its signature holds.
 */
export function referenceAccepts(secret: string, plan: Plan): boolean {
  const headers = new Headers(plan.headers as [string, string][]);
  // A signature covers the bytes as sent (issue 14 #7). The reference signs strings as UTF-8, so
  // it can have signed these bytes only if they are UTF-8: decode them exactly, BOM included,
  // and call anything else unsigned.
  const bytes = typeof plan.body === "string" ? new TextEncoder().encode(plan.body) : plan.body;
  let body: string;
  try {
    body = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return false;
  }
  const realNow = Date.now;
  Date.now = () => NOW_MS;
  try {
    new Webhook(normalizeSecret(secret)).verify(body, Object.fromEntries(headers));
    return true;
  } catch (err) {
    // The package parses the body after checking it: a signed body that isn't JSON is authentic.
    return err instanceof SyntaxError;
  } finally {
    Date.now = realNow;
  }
}

// --- The three doors ---------------------------------------------------------------------------

const supabasePayload = fc.record({
  uuid: fc.option(fc.oneof(fc.uuid(), hostileText), { freq: 10 }),
  phone: phone,
  smsPhone: fc.option(phone, { freq: 3 }),
  otp: code,
  smsType: fc.constantFrom("sms", "phone_change", "signup", "reauthentication", "x"),
  locale: fc.option(locale, { freq: 2 }),
  channel: fc.option(fc.constantFrom("sms", "whatsapp", "voice", "carrier pigeon"), { freq: 3 }),
  ip: fc.option(hostileText, { freq: 3 }),
}).map((p): Payload => {
  const value = {
    metadata: {
      ...(p.uuid === null ? {} : { uuid: p.uuid }),
      time: "2026-01-01T00:00:00Z",
      name: "send-sms",
      ip_address: p.ip ?? "203.0.113.7",
    },
    user: {
      id: "6481a5c1-3d37-4a56-9f6a-bee08c554965",
      phone: p.phone,
      app_metadata: { provider: "phone" },
      user_metadata: {
        ...(p.locale === null ? {} : { locale: p.locale }),
        ...(p.channel === null ? {} : { otp_channel: p.channel }),
      },
    },
    sms: { otp: p.otp, sms_type: p.smsType, ...(p.smsPhone === null ? {} : { phone: p.smsPhone }) },
  };
  const destination = p.smsPhone || p.phone;
  return {
    value,
    deliverable: MOBILES.includes(destination) && /^\d{4,10}$/.test(p.otp) &&
      (p.uuid === null || p.uuid.length <= 200),
    code: p.otp,
    digits: destination.replace(/\D/g, ""),
  };
});

/** Hostile requests to the Supabase door (`POST /send-sms`). */
export const supabaseRequest: fc.Arbitrary<Plan> = fc.tuple(supabasePayload, damage, signing)
  .map(([payload, d, s]) => {
    const body = damaged(payload, d);
    const req = signed(TEST_SECRET, body, s, d.binary);
    return {
      ...req,
      deliverable: payload.deliverable && req.honest,
      ...(payload.code === undefined ? {} : { code: payload.code }),
      ...(payload.digits === undefined ? {} : { digits: payload.digits }),
    };
  });

const auth0Payload = fc.record({
  shape: fc.constantFrom("action", "provider", "hook", "action", "provider", "hook", "none"),
  recipient: phone,
  code: code,
  channel: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("sms", "voice", "text", "SMS", " Voice ", "whatsapp") },
    { weight: 1, arbitrary: hostileText },
  ),
  kind: fc.constantFrom("otp_verify", "otp_enroll", "blocked_account", "change_password", "x"),
  words: fc.option(hostileText, { freq: 2 }),
  locale: fc.option(locale, { freq: 2 }),
  ip: fc.option(hostileText, { freq: 3 }),
}).map((p): Payload => {
  const request = { ip: p.ip ?? "203.0.113.9", language: p.locale ?? "en" };
  const words = p.words ?? `Your code is ${p.code}`;
  let value: unknown;
  let channelOk: boolean;
  switch (p.shape) {
    case "action":
      value = {
        message_options: {
          recipient: p.recipient,
          text: words,
          code: p.code,
          message_type: p.channel,
          action: p.kind,
        },
        request,
      };
      channelOk = ["sms", "voice"].includes(p.channel.trim().toLowerCase());
      break;
    case "provider":
      value = {
        notification: {
          recipient: p.recipient,
          as_text: words,
          as_voice: words,
          code: p.code,
          delivery_method: p.channel === "sms" ? "text" : p.channel,
          locale: p.locale ?? "en",
          message_type: p.kind,
        },
        request,
      };
      channelOk = ["text", "voice"].includes(
        (p.channel === "sms" ? "text" : p.channel).trim().toLowerCase(),
      );
      break;
    case "hook":
      value = {
        recipient: p.recipient,
        text: words,
        context: {
          message_type: p.channel,
          action: p.kind,
          language: p.locale ?? "en",
          code: p.code,
          ip: p.ip ?? "203.0.113.9",
        },
      };
      channelOk = ["sms", "voice"].includes(p.channel.trim().toLowerCase());
      break;
    default:
      value = { recipient: p.recipient, code: p.code };
      channelOk = false;
  }
  return {
    value,
    deliverable: channelOk && MOBILES.includes(p.recipient) && /^\d{4,10}$/.test(p.code),
    code: p.code,
    digits: p.recipient.replace(/\D/g, ""),
  };
});

/** Hostile requests to the Auth0 door (`POST /send-sms/auth0`). */
export const auth0Request: fc.Arbitrary<Plan> = fc.tuple(auth0Payload, damage, signing)
  .map(([payload, d, s]) => {
    const body = damaged(payload, d);
    const req = signed(AUTH0_SECRET, body, s, d.binary);
    return {
      ...req,
      deliverable: payload.deliverable && req.honest,
      ...(payload.code === undefined ? {} : { code: payload.code }),
      ...(payload.digits === undefined ? {} : { digits: payload.digits }),
    };
  });

const oktaPayload = fc.record({
  eventId: fc.oneof({ weight: 5, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileText }),
  eventType: fc.constantFrom(
    "com.okta.telephony.provider",
    "com.okta.telephony.provider",
    "com.okta.x",
  ),
  phone: phone,
  code: code,
  channel: fc.oneof(fc.constantFrom("SMS", "sms", "voice", "CALL", "Voice Call"), hostileText),
  locale: fc.option(locale, { freq: 2 }),
  template: fc.option(hostileText, { freq: 2 }),
  ip: fc.option(hostileText, { freq: 3 }),
}).map((p): Payload => ({
  value: {
    eventId: p.eventId,
    eventTime: "2022-01-28T21:43:40.000Z",
    eventType: p.eventType,
    eventTypeVersion: "1.0",
    contentType: "application/json",
    source: "https://example.okta.com/api/v1/inlineHooks/calz6lVQA77AwFeEe0g3",
    requestType: "com.okta.user.telephony.mfa-verification",
    data: {
      context: { request: { id: "reqRgSk8IBBRhuo0YdlEDTmUw", ipAddress: p.ip ?? "127.0.0.1" } },
      userProfile: { firstName: "test", lastName: "user", login: "test.user@okta.com" },
      messageProfile: {
        msgTemplate: p.template ?? "Your code is ${code}",
        phoneNumber: p.phone,
        otpExpires: "2022-01-28T21:48:34.116Z",
        deliveryChannel: p.channel,
        otpCode: p.code,
        locale: p.locale ?? "EN-US",
      },
    },
  },
  deliverable: p.eventType === "com.okta.telephony.provider" && p.eventId.length >= 1 &&
    p.eventId.length <= 200 && p.channel.length >= 1 && p.channel.length <= 40 &&
    MOBILES.includes(p.phone) && /^\d{4,10}$/.test(p.code),
  code: p.code,
  digits: p.phone.replace(/\D/g, ""),
}));

/** How the Okta header is presented. */
const oktaAuth = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: "right" as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        "missing",
        "empty",
        "prefix",
        "suffix",
        "upper",
        "bearer",
        "padded",
        "twice",
        "random",
        "otherHeader",
      ),
      text: fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
      cut: fc.nat(),
    }),
  },
);

/** Hostile requests to the Okta door (`POST /send-sms/okta`). */
export const oktaRequest: fc.Arbitrary<Plan> = fc.tuple(oktaPayload, damage, oktaAuth).map(
  ([payload, d, auth]) => {
    const body = damaged(payload, d);
    const headers: [string, string][] = [["content-type", "application/json"]];
    let honest = false;
    if (auth.kind === "right") {
      headers.push(["authorization", OKTA_SECRET]);
      honest = true;
    } else {
      const a = auth as { kind: string; text: string; cut: number };
      const value = ({
        missing: undefined,
        empty: "",
        prefix: OKTA_SECRET.slice(0, a.cut % OKTA_SECRET.length),
        suffix: OKTA_SECRET + a.text,
        upper: OKTA_SECRET.toUpperCase(),
        bearer: `Bearer ${OKTA_SECRET}`,
        // HTTP trims header values: a padded right secret is the right secret.
        padded: ` ${OKTA_SECRET}\t`,
        twice: `${OKTA_SECRET}, ${OKTA_SECRET}`,
        random: a.text,
        otherHeader: undefined,
      } as Record<string, string | undefined>)[a.kind];
      if (value !== undefined) headers.push(["authorization", headerSafe(value)]);
      if (a.kind === "otherHeader") headers.push(["x-okta-verification", OKTA_SECRET]);
    }
    const sent = d.binary
      ? new Uint8Array(d.binary)
      : new TextDecoder().decode(new TextEncoder().encode(body.body));
    return {
      body: sent,
      headers,
      honest: honest && body.intact && d.binary === null,
      deliverable: payload.deliverable && honest && body.intact && d.binary === null,
      ...(payload.code === undefined ? {} : { code: payload.code }),
      ...(payload.digits === undefined ? {} : { digits: payload.digits }),
    };
  },
);

/** Whether the Okta request carries the configured secret, as HTTP delivers the header. */
export function oktaAuthentic(plan: Plan): boolean {
  return new Headers(plan.headers as [string, string][]).get("authorization") === OKTA_SECRET;
}

/** What each door dedupes a request on, read from what was sent (undefined: nothing to send). */
export function dedupeKeyOf(door: "supabase" | "okta" | "auth0", plan: Plan): string | undefined {
  if (door === "auth0") {
    return `id:${new Headers(plan.headers as [string, string][]).get("webhook-id")}`;
  }
  const text = typeof plan.body === "string" ? plan.body : new TextDecoder().decode(plan.body);
  let json: { metadata?: { uuid?: unknown }; eventId?: unknown };
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (door === "okta") {
    return typeof json?.eventId === "string" ? `event:${json.eventId}` : undefined;
  }
  const uuid = json?.metadata?.uuid;
  return typeof uuid === "string" && uuid !== "" ? `uuid:${uuid}` : `body:${text}`;
}

/**
 * Why we refuse a request the reference package accepts, when it is one of the ways we are
 * deliberately stricter; undefined otherwise (then refusing it is a defect).
 */
export function knownStricter(plan: Plan): string | undefined {
  const headers = new Headers(plan.headers as [string, string][]);
  // The package reads the timestamp with parseInt ("+N", "N.5" and "Nabc" pass); we want digits.
  if (!/^\d{1,12}$/.test(headers.get("webhook-timestamp") ?? "")) return "timestamp not digits";
  // The id keys dedupe and appears in logs: printable ASCII, at most 256 characters.
  if (!/^[\x21-\x7e]{1,256}$/.test(headers.get("webhook-id") ?? "")) return "id not printable";
  // "v1,a,v1,b" (signatures joined without a space) reads as one entry "a" to the package.
  const entries = (headers.get("webhook-signature") ?? "").split(" ");
  if (entries.some((e) => e.replace(/,+$/, "").split(",").length > 2)) {
    return "joined without space";
  }
  return undefined;
}
