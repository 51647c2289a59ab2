/**
 * Vonage's delivery receipts (DLRs) for the classic SMS API, sent to each message's `callback`.
 *
 * The account chooses the format in the dashboard: GET with the fields in the query string, POST
 * form-encoded, or POST JSON (every value a string); all three are read. The fields: `msisdn`
 * (the recipient, digits without `+`), `to` (our sender: Vonage's naming), `network-code`,
 * `messageId` (the send answer's `message-id`), `price`, `status`, `scts`, `err-code`, `api-key`,
 * `client-ref`, `message-timestamp`, and with signing on `timestamp`, `nonce` and `sig`.
 *
 * Every receipt must be signed (signed webhooks, in the dashboard's API settings) with HMAC-SHA256
 * or HMAC-SHA512; MD5 and SHA-1 are refused when the settings are read. The signed text is every
 * received field but `sig`, sorted by name in code-unit order, each as `&name=value` with every
 * `&` and `=` in the value replaced by `_`; the signature is its lower-case hex HMAC under the
 * signature secret. Vonage documents no freshness window for `timestamp`; a receipt signed more
 * than a day ago (or five minutes ahead) is refused as a replay.
 *
 * @module
 */
import { z } from "../../zod.ts";
import type {
  DeliveryReport,
  InboundReport,
  ReportStatus,
  ReportVerdict,
} from "../../delivery/ports.ts";
import {
  byCodeUnit,
  digitsCode,
  errorCodeOf,
  forbidden,
  formPairs,
  hmac,
  type HmacHash,
  hmacKey,
  messageId,
  recipient,
  reportStatus,
  sameSignature,
  statusWord,
  toHex,
  unreadable,
  withoutBlanks,
} from "../_report.ts";
import type { VonageSignatureMethod } from "./config.ts";

/** What {@linkcode createVonageReportReader} needs. */
export interface VonageReportSettings {
  /** `VONAGE_SIGNATURE_SECRET`. */
  readonly secret: string;
  /** `VONAGE_SIGNATURE_METHOD`. */
  readonly method: VonageSignatureMethod;
  /** Clock in epoch ms (tests). */
  readonly now?: () => number;
}

/**
 * How old a signed receipt may be. Vonage documents no window; a day is far longer than any
 * delivery takes, and bounds how late a captured receipt can be replayed (found in review: a
 * replayed STOP would re-create an opt-out the owner had cleared).
 */
export const VONAGE_REPORT_MAX_AGE_S = 86_400;

/** Vonage's DLR statuses in the common vocabulary; any other word is `sent`. */
export const VONAGE_REPORT_STATUS: Readonly<Record<string, ReportStatus>> = {
  delivered: "delivered",
  expired: "undelivered",
  failed: "undelivered",
  rejected: "failed",
  accepted: "sent",
  buffered: "sent",
  unknown: "sent",
};

/** `err-code` 9: "illegal number", the recipient opted out. */
export const VONAGE_OPTED_OUT = 9;

const HASH: Readonly<Record<VonageSignatureMethod, HmacHash>> = {
  sha256: "SHA-256",
  sha512: "SHA-512",
};

const receipt = z.looseObject({
  messageId: messageId,
  status: statusWord,
  "err-code": digitsCode.optional(),
  msisdn: recipient.optional(),
});

/** The received fields as name/value pairs, or why they cannot carry a signature. */
function receivedFields(input: InboundReport): [string, string][] | string {
  const method = input.method.toUpperCase();
  if (method === "GET") return formPairs(input.query);
  if (method !== "POST") return "method not allowed";
  const type = input.headers.get("content-type")?.toLowerCase() ?? "";
  if (!type.includes("json")) return formPairs(input.body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.body);
  } catch {
    return "body is not JSON";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return "body is not a JSON object";
  }
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === "string") pairs.push([name, value]);
    else if (typeof value === "number" || typeof value === "boolean") {
      pairs.push([name, String(value)]);
    } else return "body is not a flat JSON object";
  }
  return pairs;
}

/** The text Vonage signs: `&name=value` for every field but `sig`, sorted by name. */
export function vonageSignedText(fields: Readonly<Record<string, string>>): string {
  return Object.keys(fields).filter((name) => name !== "sig").sort(byCodeUnit)
    .map((name) => `&${name}=${fields[name]!.replace(/[&=]/g, "_")}`).join("");
}

/**
 * Creates the reader of Vonage's DLRs: verifies `sig`, then reads the receipt.
 *
 * @example
 * ```ts
 * const read = createVonageReportReader({ secret, method: "sha256" });
 * const verdict = await read({ method: "GET", url, headers, body: "", query });
 * ```
 */
export function createVonageReportReader(
  settings: VonageReportSettings,
): (input: InboundReport) => Promise<ReportVerdict> {
  let key: Promise<CryptoKey> | undefined;
  return async function readVonageReport(input) {
    const pairs = receivedFields(input);
    if (typeof pairs === "string") return forbidden(pairs);
    const fields: Record<string, string> = {};
    for (const [name, value] of pairs) {
      // A repeated field makes the signed text ambiguous: Vonage never sends one.
      if (Object.hasOwn(fields, name)) return forbidden("repeated field");
      fields[name] = value;
    }
    const sig = fields.sig;
    if (sig === undefined || sig === "") return forbidden("unsigned");
    key ??= hmacKey(HASH[settings.method], settings.secret);
    const expected = toHex(await hmac(await key, vonageSignedText(fields)));
    if (!sameSignature(sig.toLowerCase(), expected)) return forbidden("bad signature");
    // The signed timestamp (Unix seconds): too old, or from the future, is a replay.
    const signedAt = Number(fields.timestamp);
    const nowS = (settings.now ?? Date.now)() / 1000;
    if (
      !/^\d{1,12}$/.test(fields.timestamp ?? "") || nowS - signedAt > VONAGE_REPORT_MAX_AGE_S ||
      signedAt - nowS > 300
    ) {
      return forbidden("stale or missing timestamp");
    }

    const parsed = receipt.safeParse(withoutBlanks(fields));
    if (!parsed.success) return unreadable("not a delivery receipt");
    const { data } = parsed;
    const code = errorCodeOf(data["err-code"]);
    const report: DeliveryReport = {
      providerId: data.messageId,
      status: reportStatus(VONAGE_REPORT_STATUS, data.status),
      ...(code === undefined ? {} : { errorCode: code }),
      optedOut: code === VONAGE_OPTED_OUT,
      ...(data.msisdn === undefined ? {} : { to: data.msisdn }),
    };
    return { ok: true, reports: [report] };
  };
}
