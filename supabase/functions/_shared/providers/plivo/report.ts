/**
 * Plivo's message status callbacks, sent to each message's `url` with `method: "POST"`: a
 * form-encoded body with `MessageUUID`, `To`, `From`, `Type`, `Status`, `ErrorCode` (failed and
 * undelivered only), `Units`, `TotalRate`, `TotalAmount`, `MCC`, `MNC`, `ParentMessageUUID`,
 * `PartInfo`, `Sequence`, `MessageTime`, `QueuedTime`, `SentTime`, `DeliveryReportTime`,
 * `requester_ip` and `PowerpackUUID`.
 *
 * Only Plivo's V3 signature is accepted: V2 covers the URL and the nonce but not the body, so a
 * request signed with V2 alone could carry any status. `X-Plivo-Signature-V3` (or
 * `X-Plivo-Signature-Ma-V3`) holds one or more comma-separated base64 HMAC-SHA256 signatures
 * under the auth token of the text below followed by `.` and `X-Plivo-Signature-V3-Nonce`; any
 * one of them matching is enough.
 *
 * The text starts with the URL Plivo was given, as `scheme://host[:port]/path`. For a POST with
 * a body: then `?`, the URL's query parameters sorted as `name=value` joined by `&` and followed
 * by `.` (only when there are some), then every body field sorted by name as `namevalue` with no
 * separator. A POST without a body adds only `?` and the sorted query, if any. A GET adds `?` and
 * every parameter of the request sorted as `name=value` joined by `&`. Repeated names sort their
 * values too.
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
  hmacKey,
  messageId,
  recipient,
  reportStatus,
  sameSignature,
  statusWord,
  toBase64,
  unreadable,
  withoutBlanks,
} from "../_report.ts";

/** What {@linkcode createPlivoReportReader} needs. */
export interface PlivoReportSettings {
  /** `PLIVO_AUTH_TOKEN`: the key of the signatures. */
  readonly authToken: string;
}

/** Plivo's message statuses in the common vocabulary; any other word is `sent`. */
export const PLIVO_REPORT_STATUS: Readonly<Record<string, ReportStatus>> = {
  queued: "sent",
  sent: "sent",
  delivered: "delivered",
  undelivered: "undelivered",
  failed: "failed",
  rejected: "failed",
  read: "read",
};

/** `ErrorCode` 200: the recipient opted out (replied STOP). */
export const PLIVO_OPTED_OUT = 200;

const callback = z.looseObject({
  MessageUUID: messageId,
  // A multipart message's parts each have their own UUID; the parent is the one the send gave.
  ParentMessageUUID: messageId.optional(),
  Status: statusWord,
  ErrorCode: digitsCode.optional(),
  To: recipient.optional(),
});

/** `name=value` pairs sorted by name, then by value. */
function sorted(pairs: readonly [string, string][]): [string, string][] {
  return [...pairs].sort(([a, x], [b, y]) => byCodeUnit(a, b) || byCodeUnit(x, y));
}

/** The sorted pairs as a query: `a=1&b=2`. */
function asQuery(pairs: readonly [string, string][]): string {
  return sorted(pairs).map(([name, value]) => `${name}=${value}`).join("&");
}

/**
 * The text Plivo's V3 signature covers, without the nonce: `url` is the URL Plivo was given (or,
 * for a GET, its base with the request's parameters in `query`).
 */
export function plivoSignedText(
  method: string,
  url: string,
  body: string,
  query = "",
): string {
  const u = new URL(url);
  const base = `${u.protocol}//${u.host}${u.pathname}`;
  if (method.toUpperCase() === "GET") {
    const all = formPairs(query !== "" ? query : u.search);
    return all.length === 0 ? base : `${base}?${asQuery(all)}`;
  }
  const queryPairs = formPairs(u.search);
  const fields = formPairs(body);
  const q = asQuery(queryPairs);
  if (fields.length === 0) return q === "" ? base : `${base}?${q}`;
  const joined = sorted(fields).map(([name, value]) => `${name}${value}`).join("");
  return `${base}?${q === "" ? "" : `${q}.`}${joined}`;
}

/** The V3 signatures a request carries, from either header. */
function v3Signatures(headers: Headers): string[] {
  return [headers.get("x-plivo-signature-v3"), headers.get("x-plivo-signature-ma-v3")]
    .flatMap((value) => value?.split(",") ?? [])
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Creates the reader of Plivo's status callbacks: verifies the V3 signature, then reads the
 * callback.
 *
 * @example
 * ```ts
 * const read = createPlivoReportReader({ authToken });
 * const verdict = await read({ method: "POST", url, headers, body, query: "" });
 * ```
 */
export function createPlivoReportReader(
  settings: PlivoReportSettings,
): (input: InboundReport) => Promise<ReportVerdict> {
  let key: Promise<CryptoKey> | undefined;
  return async function readPlivoReport(input) {
    const method = input.method.toUpperCase();
    if (method !== "POST" && method !== "GET") return forbidden("method not allowed");
    const nonce = input.headers.get("x-plivo-signature-v3-nonce");
    const signatures = v3Signatures(input.headers);
    if (!nonce || signatures.length === 0) {
      return forbidden(
        input.headers.has("x-plivo-signature-v2") ? "V2 signature only (V3 required)" : "unsigned",
      );
    }
    let text: string;
    try {
      text = plivoSignedText(method, input.url, method === "GET" ? "" : input.body, input.query);
    } catch {
      return forbidden("unusable URL");
    }
    key ??= hmacKey("SHA-256", settings.authToken);
    const expected = toBase64(await hmac(await key, `${text}.${nonce}`));
    // Every candidate is compared, so the time taken does not say which one matched.
    let valid = false;
    for (const signature of signatures) valid = sameSignature(signature, expected) || valid;
    if (!valid) return forbidden("bad signature");

    const fields: Record<string, string> = {};
    for (const [name, value] of formPairs(method === "GET" ? input.query : input.body)) {
      if (Object.hasOwn(fields, name)) return unreadable("repeated field");
      fields[name] = value;
    }
    const parsed = callback.safeParse(withoutBlanks(fields));
    if (!parsed.success) return unreadable("not a status callback");
    const { data } = parsed;
    const code = errorCodeOf(data.ErrorCode);
    const report: DeliveryReport = {
      providerId: data.ParentMessageUUID ?? data.MessageUUID,
      status: reportStatus(PLIVO_REPORT_STATUS, data.Status),
      ...(code === undefined ? {} : { errorCode: code }),
      optedOut: code === PLIVO_OPTED_OUT,
      ...(data.To === undefined ? {} : { to: data.To }),
    };
    return { ok: true, reports: [report] };
  };
}
