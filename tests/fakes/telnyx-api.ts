/**
 * A local fake of Telnyx's Messaging API v2 on 127.0.0.1, speaking its request, response and error
 * shapes: `POST /v2/messages` with `Authorization: Bearer <API key>` and a JSON body,
 * `200 {data: <outbound message>}` when it queues the message, and
 * `{errors: [{code, title, detail, source}]}` with a 4xx otherwise. See docs/contracts.md §7. And
 * `GET /v2/balance` a credentials check reads (`{data: {balance, currency, …}}`, or 401 10009),
 * counted in `reads`, answered by `respondRead` when given.
 *
 * By default it behaves like Telnyx accepting the message; `respond` overrides the answer per
 * request to inject failures (error codes, 5xx, hangs).
 *
 * @module
 */
import { serveFake } from "./_server.ts";

/** One authenticated send request the fake received. */
export interface ReceivedRequest {
  /** The URL's pathname. */
  readonly path: string;
  readonly headers: Headers;
  /** The parsed JSON object (`{}` if the body was not a JSON object). */
  readonly body: Record<string, unknown>;
  /** How the body was encoded: Telnyx takes JSON only. */
  readonly encoding: "form" | "json";
  /** The body as it came. */
  readonly raw: string;
}

/** What `respond` may return instead of the default: a Response, or `"hang"` (never answer). */
export type FakeAnswer = Response | "hang" | undefined;

/** A message the fake accepted (answered 2xx with a `data.id`). */
export interface AcceptedMessage {
  /** `data.id`. */
  readonly id: string;
  /** As sent: `+E.164`. */
  readonly to: string;
  readonly text: string;
  /** The `webhook_url` the send asked message events to go to, if any. */
  readonly callback?: string;
}

/** Options of {@linkcode startFakeTelnyx}. */
export interface FakeTelnyxOptions {
  /** Defaults to {@linkcode FAKE_TELNYX_API_KEY}. */
  apiKey?: string;
  /** Called for each authenticated send request; `undefined` means behave like Telnyx. */
  respond?: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;
  /** Called for each authenticated balance read; `undefined` means behave like Telnyx. */
  respondRead?: (read: ReceivedRead) => FakeAnswer | Promise<FakeAnswer>;
}

/** One authenticated balance read (`GET /v2/balance`): it sends nothing. */
export interface ReceivedRead {
  readonly path: string;
  readonly headers: Headers;
}

/** A running fake. */
export interface FakeTelnyx {
  /** `http://127.0.0.1:<port>`: send to `${baseUrl}/v2/messages`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Every authenticated send request, in order, whatever the answer. */
  readonly requests: ReceivedRequest[];
  /** The messages it accepted, in order. */
  readonly accepted: AcceptedMessage[];
  /** Every authenticated balance read, in order: counted apart, a read sends nothing. */
  readonly reads: ReceivedRead[];
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

export const FAKE_TELNYX_API_KEY = "KEY0123456789ABCDEF_test";

/** The messaging profile the fake reports when the request names none. */
export const FAKE_TELNYX_PROFILE_ID = "4001767e-ce0f-4cae-9d5f-0d5e636e7809";

/** The pool number the fake sends from when the request has no `from`. */
const POOL_NUMBER = "+13125550100";

/** Telnyx's titles (and the field each points at) for the codes a client is likely to meet. */
const ERRORS: Readonly<Record<string, { title: string; pointer?: string }>> = {
  "10003": { title: "Invalid URL" },
  "10004": { title: "Missing required parameter" },
  "10009": { title: "Authentication failed" },
  "10011": { title: "Too many requests" },
  "10015": { title: "Bad Request" },
  "10016": { title: "Phone number must be in +E.164 format", pointer: "/to" },
  "10023": { title: "Invalid JSON" },
  "10032": { title: "Invalid enumerated value" },
  "20100": { title: "Insufficient funds" },
  "40001": { title: "Not routable", pointer: "/to" },
  "40300": { title: "Blocked due to STOP message", pointer: "/to" },
  "40305": { title: "Invalid 'from' address", pointer: "/from" },
  "40306": { title: "Alpha sender not configured", pointer: "/from" },
  "40310": { title: "Invalid 'to' address", pointer: "/to" },
  "40316": { title: "No content", pointer: "/text" },
  "40318": { title: "Queue full" },
  "40325": { title: "Invalid alpha sender ID", pointer: "/from" },
  "40333": { title: "Spend limit reached" },
};

/**
 * Telnyx's error body, as its API sends it: one entry in `errors`, with the code's usual title
 * and, for codes about one field, `source.pointer` at it (`/to`, `/from`, `/text`), or `pointer`.
 *
 * @example
 * ```ts
 * const telnyx = startFakeTelnyx({ respond: () => telnyxError(400, "40300") });
 * ```
 */
export function telnyxError(
  status: number,
  code: string,
  detail?: string,
  pointer?: string,
): Response {
  const known = ERRORS[code];
  const at = pointer ?? known?.pointer;
  return Response.json({
    errors: [{
      code,
      title: known?.title ?? "Error",
      detail: detail ?? known?.title ?? "An error occurred.",
      ...(at !== undefined ? { source: { pointer: at } } : {}),
      meta: { url: `https://developers.telnyx.com/docs/overview/errors/${code}` },
    }],
  }, { status });
}

const E164 = /^\+[1-9]\d{6,14}$/;
const SHORT_CODE = /^\d{3,8}$/;
/** 1–11 letters, digits and spaces, at least one letter (docs/contracts.md §7.1). */
const ALPHANUMERIC = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;

const GSM7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENDED = "\f^{}\\[~]|€";

/** The encoding Telnyx's `auto` picks, and how many parts the text takes in it. */
function encodingOf(text: string): { encoding: "GSM-7" | "UCS-2"; parts: number } {
  let septets = 0;
  for (const char of text) {
    if (GSM7.includes(char)) septets += 1;
    else if (GSM7_EXTENDED.includes(char)) septets += 2;
    else {
      const units = text.length; // UTF-16 code units
      return { encoding: "UCS-2", parts: units <= 70 ? 1 : Math.ceil(units / 67) };
    }
  }
  return { encoding: "GSM-7", parts: septets <= 160 ? 1 : Math.ceil(septets / 153) };
}

/** Telnyx's default answer to an authenticated request. */
function sendMessage(body: Record<string, unknown>): Response {
  let to = body.to;
  if (Array.isArray(to)) {
    if (to.length !== 1) {
      return telnyxError(400, "40310", "Only one destination is allowed per message.");
    }
    to = to[0];
  }
  if (to === undefined || to === null || to === "") {
    return telnyxError(400, "10004", "The 'to' parameter is required.", "/to");
  }
  if (typeof to !== "string" || !E164.test(to)) {
    return telnyxError(400, "10016", "The 'to' parameter must be in +E.164 format.");
  }

  const from = typeof body.from === "string" && body.from !== "" ? body.from : undefined;
  const profile = typeof body.messaging_profile_id === "string" && body.messaging_profile_id
    ? body.messaging_profile_id
    : undefined;
  if (from === undefined && profile === undefined) {
    return telnyxError(
      400,
      "10004",
      "Either 'from' or 'messaging_profile_id' is required.",
      "/from",
    );
  }
  if (from !== undefined && !E164.test(from) && !SHORT_CODE.test(from)) {
    if (!/[A-Za-z]/.test(from)) return telnyxError(400, "40305");
    if (!ALPHANUMERIC.test(from)) {
      return telnyxError(400, "40325", "Use 1–11 letters, digits and spaces.");
    }
    if (profile === undefined) {
      return telnyxError(
        400,
        "40306",
        "An alphanumeric sender ID needs a 'messaging_profile_id'.",
      );
    }
  }

  const text = body.text;
  if (typeof text !== "string" || text === "") {
    return telnyxError(400, "40316", "The message has no text or media.");
  }
  const type = body.type ?? "SMS";
  if (type !== "SMS" && type !== "MMS") {
    return telnyxError(400, "10032", "The 'type' must be one of SMS, MMS.", "/type");
  }
  const requested = body.encoding ?? "auto";
  if (requested !== "auto" && requested !== "gsm7" && requested !== "ucs2") {
    return telnyxError(
      400,
      "10032",
      "The 'encoding' must be one of auto, gsm7, ucs2.",
      "/encoding",
    );
  }
  const auto = encodingOf(text);
  if (requested === "gsm7" && auto.encoding !== "GSM-7") {
    return telnyxError(400, "10015", "The text cannot be encoded as GSM-7.", "/encoding");
  }
  const { encoding, parts } = requested === "ucs2"
    ? { encoding: "UCS-2", parts: text.length <= 70 ? 1 : Math.ceil(text.length / 67) }
    : auto;
  for (const name of ["webhook_url", "webhook_failover_url"]) {
    const url = body[name];
    if (url !== undefined && url !== null && (typeof url !== "string" || !URL.canParse(url))) {
      return telnyxError(400, "10003", `The '${name}' is not a valid URL.`, `/${name}`);
    }
  }

  const now = Date.now();
  return Response.json({
    data: {
      record_type: "message",
      direction: "outbound",
      id: crypto.randomUUID(),
      type,
      messaging_profile_id: profile ?? FAKE_TELNYX_PROFILE_ID,
      from: { phone_number: from ?? POOL_NUMBER, carrier: "Telnyx", line_type: "Wireless" },
      to: [{ phone_number: to, status: "queued", carrier: "T-Mobile", line_type: "Wireless" }],
      text,
      media: [],
      encoding,
      parts,
      cost: { amount: (0.0051 * parts).toFixed(4), currency: "USD" },
      received_at: new Date(now).toISOString(),
      sent_at: null,
      completed_at: null,
      valid_until: new Date(now + 3600_000).toISOString(),
      errors: [],
      webhook_url: typeof body.webhook_url === "string" ? body.webhook_url : null,
      webhook_failover_url: typeof body.webhook_failover_url === "string"
        ? body.webhook_failover_url
        : null,
    },
  });
}

/**
 * Starts the fake on a free loopback port.
 *
 * @example
 * ```ts
 * const telnyx = startFakeTelnyx();
 * await fetch(`${telnyx.baseUrl}/v2/messages`, {
 *   method: "POST",
 *   headers: { authorization: `Bearer ${telnyx.apiKey}`, "content-type": "application/json" },
 *   body: JSON.stringify({ from: "+13125550123", to: "+447700900000", text: "Code: 123456" }),
 * });
 * await telnyx.close();
 * ```
 */
export function startFakeTelnyx(options: FakeTelnyxOptions = {}): FakeTelnyx {
  const apiKey = options.apiKey ?? FAKE_TELNYX_API_KEY;
  const requests: ReceivedRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  const reads: ReceivedRead[] = [];

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const balance = url.pathname === "/v2/balance";
    if (!balance && url.pathname !== "/v2/messages") {
      return telnyxError(404, "10005", "The requested resource or URL could not be found.");
    }
    if (req.method !== (balance ? "GET" : "POST")) {
      return telnyxError(405, "10030", "The URL is valid, but the method is not allowed.");
    }
    const token = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (token !== apiKey) {
      return telnyxError(
        401,
        "10009",
        "The required authentication headers were either invalid or not included in the request.",
      );
    }
    if (balance) {
      const read: ReceivedRead = { path: url.pathname, headers: req.headers };
      reads.push(read);
      const given = await options.respondRead?.(read);
      if (given === "hang") return await server.hang(req.signal);
      return given ?? Response.json({
        data: {
          record_type: "balance",
          balance: "300.00",
          credit_limit: "100.00",
          available_credit: "400.00",
          currency: "USD",
          pending: "10.00",
        },
      });
    }

    const raw = await req.text();
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    } catch {
      // Recorded with an empty body, and answered 400 below.
    }
    const received: ReceivedRequest = {
      path: url.pathname,
      headers: req.headers,
      body: body ?? {},
      encoding: "json",
      raw,
    };
    requests.push(received);
    const given = await options.respond?.(received);
    if (given === "hang") return await server.hang(req.signal);
    const res = given ??
      (body ? sendMessage(body) : telnyxError(400, "10023", "The supplied JSON is invalid."));

    if (res.ok) {
      const result = await res.clone().json().catch(() => ({}));
      const id = result?.data?.id;
      if (typeof id === "string") {
        const to = Array.isArray(body?.to) ? body.to[0] : body?.to;
        accepted.push({
          id,
          to: typeof to === "string" ? to : "",
          text: typeof body?.text === "string" ? body.text : "",
          callback: typeof body?.webhook_url === "string" ? body.webhook_url : undefined,
        });
      }
    }
    return res;
  }

  const server = serveFake(answer);
  return {
    baseUrl: server.baseUrl,
    apiKey,
    requests,
    accepted,
    reads,
    close: server.close,
  };
}

/** A webhook signing key pair, as the Telnyx portal holds one for the account. */
export interface TelnyxKeyPair {
  /** What the portal shows: base64 of the 32 raw bytes of the public key. */
  readonly publicKey: string;
  readonly privateKey: CryptoKey;
}

/** A fresh Ed25519 key pair for signing webhooks. */
export async function telnyxKeyPair(): Promise<TelnyxKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { publicKey: btoa(String.fromCharCode(...raw)), privateKey: pair.privateKey };
}

/** What {@linkcode telnyxMessageEvent} builds an event from. */
export interface TelnyxEventOptions {
  /** The message's id, as the send answered it (`data.id`). */
  id: string;
  /** The recipient, `+E.164`. */
  to: string;
  /** `queued`, `sending`, `sent`, `delivered`, `sending_failed`, `delivery_failed`, … */
  status: string;
  /** Defaults to `message.finalized`. */
  eventType?: string;
  /** Error codes in `payload.errors`, with Telnyx's titles where the fake knows them. */
  errors?: string[];
  /** The `webhook_url` the event is delivered to. */
  url?: string;
}

/** A message event as Telnyx sends it to a message's `webhook_url`. */
export function telnyxMessageEvent(options: TelnyxEventOptions): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    data: {
      event_type: options.eventType ?? "message.finalized",
      id: crypto.randomUUID(),
      occurred_at: now,
      record_type: "event",
      payload: {
        record_type: "message",
        direction: "outbound",
        id: options.id,
        type: "SMS",
        messaging_profile_id: FAKE_TELNYX_PROFILE_ID,
        from: { phone_number: POOL_NUMBER, carrier: "Telnyx", line_type: "Wireless" },
        to: [{
          phone_number: options.to,
          status: options.status,
          carrier: "T-Mobile",
          line_type: "Wireless",
        }],
        text: "Your code is 482913",
        encoding: "GSM-7",
        parts: 1,
        cost: { amount: "0.0051", currency: "USD" },
        errors: (options.errors ?? []).map((code) => ({
          code,
          title: ERRORS[code]?.title ?? "Error",
          detail: `Message to ${options.to} failed.`,
        })),
        webhook_url: options.url ?? null,
        completed_at: now,
      },
    },
    meta: { attempt: 1, delivered_to: options.url ?? "" },
  };
}

/** What {@linkcode signedTelnyxReport} needs. */
export interface TelnyxReportOptions {
  privateKey: CryptoKey;
  /** The `webhook_url` the send gave. */
  url: string;
  /** The event (see {@linkcode telnyxMessageEvent}), or a raw body. */
  body: Record<string, unknown> | string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
}

/**
 * A webhook as Telnyx POSTs it: the JSON body, `telnyx-timestamp`, and
 * `telnyx-signature-ed25519`, the base64 Ed25519 signature of `${timestamp}|${body}`.
 *
 * @example
 * ```ts
 * const keys = await telnyxKeyPair();
 * const body = telnyxMessageEvent({ id, to: "+447700900123", status: "delivered" });
 * const req = await signedTelnyxReport({ privateKey: keys.privateKey, url, body });
 * ```
 */
export async function signedTelnyxReport(options: TelnyxReportOptions): Promise<Request> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const signature = new Uint8Array(
    await crypto.subtle.sign(
      { name: "Ed25519" },
      options.privateKey,
      new TextEncoder().encode(`${timestamp}|${body}`),
    ),
  );
  return new Request(options.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "telnyx-timestamp": timestamp,
      "telnyx-signature-ed25519": btoa(String.fromCharCode(...signature)),
    },
    body,
  });
}
