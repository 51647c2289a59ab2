/**
 * Telnyx's message webhooks, POSTed as JSON to each message's `webhook_url`:
 * `{"data": {"event_type", "id", "occurred_at", "record_type": "event", "payload": <message>},
 * "meta": {"attempt", "delivered_to"}}`. `message.sent` and `message.finalized` carry the
 * message's status in `payload.to[0].status` and its errors in `payload.errors`; other events
 * (`message.received`, …) are acknowledged and carry no report.
 *
 * Every webhook must be signed: `telnyx-signature-ed25519` is the base64 Ed25519 signature of
 * `${telnyx-timestamp}|${raw body}` under the account's key pair, checked with its public key
 * (`TELNYX_PUBLIC_KEY`), and `telnyx-timestamp` (Unix seconds) must be within 300 s of now, so
 * that a captured webhook cannot be replayed later.
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
  forbidden,
  fromBase64,
  messageId,
  recipient,
  reportStatus,
  statusWord,
  unreadable,
} from "../_report.ts";

/** What {@linkcode createTelnyxReportReader} needs. */
export interface TelnyxReportSettings {
  /** `TELNYX_PUBLIC_KEY`: base64 of the 32 raw bytes of the Ed25519 public key. */
  readonly publicKey: string;
  /** The clock, in ms since the epoch; `Date.now` unless a test fixes it. */
  readonly now?: () => number;
}

/** How far `telnyx-timestamp` may be from now, in seconds. */
export const TELNYX_TIMESTAMP_TOLERANCE_SECONDS = 300;

/** Telnyx's per-recipient statuses in the common vocabulary; any other word is `sent`. */
export const TELNYX_REPORT_STATUS: Readonly<Record<string, ReportStatus>> = {
  queued: "sent",
  sending: "sent",
  sent: "sent",
  delivery_unconfirmed: "sent",
  delivered: "delivered",
  delivery_failed: "undelivered",
  expired: "undelivered",
  sending_failed: "failed",
};

/** Error code 40300: blocked due to a STOP message, the recipient opted out. */
export const TELNYX_OPTED_OUT = 40300;

/** The events that carry a message's status. */
const STATUS_EVENTS = new Set(["message.sent", "message.finalized"]);

const envelope = z.looseObject({
  data: z.looseObject({
    event_type: z.string().max(64),
    payload: z.unknown(),
  }),
});

const errorCode = z.union([z.string().max(16), z.number()]).nullish();

const message = z.looseObject({
  id: messageId,
  to: z.array(z.looseObject({
    phone_number: recipient.nullish(),
    status: statusWord,
  })).min(1),
  errors: z.array(z.looseObject({ code: errorCode })).max(32).nullish(),
});

/** A Telnyx error code as a number, when it is one. */
function numericCode(code: string | number | null | undefined): number | undefined {
  if (typeof code === "number") return Number.isSafeInteger(code) && code > 0 ? code : undefined;
  return typeof code === "string" && /^\d{1,9}$/.test(code) && +code > 0 ? +code : undefined;
}

/** The raw Ed25519 public key in `publicKey` (base64), or an error. */
function publicKeyBytes(publicKey: string): Uint8Array {
  const bytes = fromBase64(publicKey);
  if (bytes?.length !== 32) throw new Error("the Telnyx public key must be base64 of 32 bytes");
  return bytes;
}

/**
 * Creates the reader of Telnyx's message webhooks: verifies the Ed25519 signature and the
 * timestamp, then reads the event. Throws when `publicKey` is not base64 of 32 bytes (the
 * settings refuse such a key first).
 *
 * @example
 * ```ts
 * const read = createTelnyxReportReader({ publicKey });
 * const verdict = await read({ method: "POST", url, headers, body, query: "" });
 * ```
 */
export function createTelnyxReportReader(
  settings: TelnyxReportSettings,
): (input: InboundReport) => Promise<ReportVerdict> {
  const raw = publicKeyBytes(settings.publicKey);
  const now = settings.now ?? Date.now;
  let key: Promise<CryptoKey> | undefined;
  const encoder = new TextEncoder();
  return async function readTelnyxReport(input) {
    if (input.method.toUpperCase() !== "POST") return forbidden("method not allowed");
    const signature = input.headers.get("telnyx-signature-ed25519");
    const timestamp = input.headers.get("telnyx-timestamp");
    if (!signature || !timestamp) return forbidden("unsigned");
    if (!/^\d{1,12}$/.test(timestamp)) return forbidden("bad timestamp");
    if (Math.abs(now() / 1000 - Number(timestamp)) > TELNYX_TIMESTAMP_TOLERANCE_SECONDS) {
      return forbidden("stale timestamp");
    }
    const sig = fromBase64(signature.trim());
    if (sig?.length !== 64) return forbidden("bad signature");
    key ??= crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    let valid: boolean;
    try {
      valid = await crypto.subtle.verify(
        { name: "Ed25519" },
        await key,
        sig,
        encoder.encode(`${timestamp}|${input.body}`),
      );
    } catch {
      valid = false;
    }
    if (!valid) return forbidden("bad signature");

    let json: unknown;
    try {
      json = JSON.parse(input.body);
    } catch {
      return unreadable("body is not JSON");
    }
    const event = envelope.safeParse(json);
    if (!event.success) return unreadable("not a Telnyx event");
    if (!STATUS_EVENTS.has(event.data.data.event_type)) return { ok: true, reports: [] };
    const parsed = message.safeParse(event.data.data.payload);
    if (!parsed.success) return unreadable("not a message event");
    const { id, to, errors } = parsed.data;
    const first = to[0]!;
    const codes = (errors ?? []).map((e) => numericCode(e.code));
    const code = codes[0];
    const report: DeliveryReport = {
      providerId: id,
      status: reportStatus(TELNYX_REPORT_STATUS, first.status),
      ...(code === undefined ? {} : { errorCode: code }),
      optedOut: codes.includes(TELNYX_OPTED_OUT),
      ...(first.phone_number ? { to: first.phone_number } : {}),
    };
    return { ok: true, reports: [report] };
  };
}
