/**
 * A local fake of Plivo's Message API on 127.0.0.1, speaking its request, response and error
 * shapes: `POST /v1/Account/{auth_id}/Message/` (trailing slash) with Basic
 * `auth_id:auth_token` and a JSON body, `202 {api_id, message, message_uuid: […]}` when it queues
 * the message, and `{api_id, error}` with a 4xx otherwise. See docs/contracts.md §6. And the
 * Account resource (`GET /v1/Account/{auth_id}/`) a credentials check reads, counted in `reads`,
 * answered by `respondRead` when given.
 *
 * By default it behaves like Plivo accepting the message; `respond` overrides the answer per
 * request to inject failures (error statuses, 5xx, hangs).
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
  /** How the body was encoded: Plivo takes JSON only. */
  readonly encoding: "form" | "json";
  /** The body as it came. */
  readonly raw: string;
}

/** What `respond` may return instead of the default: a Response, or `"hang"` (never answer). */
export type FakeAnswer = Response | "hang" | undefined;

/** A message the fake accepted (answered 202), one per destination. */
export interface AcceptedMessage {
  /** Its `message_uuid` entry. */
  readonly id: string;
  /** As Plivo reads `dst`: digits only, `+ - . ( ) /` and whitespace stripped. */
  readonly to: string;
  readonly text: string;
  /** The `url` the send asked status callbacks to go to, if any, and its `method`. */
  readonly callback?: string;
  readonly callbackMethod?: string;
}

/** Options of {@linkcode startFakePlivo}. */
export interface FakePlivoOptions {
  /** Defaults to {@linkcode FAKE_PLIVO_AUTH_ID}. */
  authId?: string;
  /** Defaults to {@linkcode FAKE_PLIVO_AUTH_TOKEN}. */
  authToken?: string;
  /** Called for each authenticated send request; `undefined` means behave like Plivo. */
  respond?: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;
  /** Called for each authenticated account read; `undefined` means behave like Plivo. */
  respondRead?: (read: ReceivedRead) => FakeAnswer | Promise<FakeAnswer>;
}

/** One authenticated account read (`GET /v1/Account/{auth_id}/`): it sends nothing. */
export interface ReceivedRead {
  readonly path: string;
  readonly headers: Headers;
}

/** A running fake. */
export interface FakePlivo {
  /** `http://127.0.0.1:<port>`: send to `${baseUrl}/v1/Account/${authId}/Message/`. */
  readonly baseUrl: string;
  readonly authId: string;
  readonly authToken: string;
  /** Every authenticated send request, in order, whatever the answer. */
  readonly requests: ReceivedRequest[];
  /** The messages it accepted, in order (one per destination). */
  readonly accepted: AcceptedMessage[];
  /** Every authenticated account read, in order: counted apart, a read sends nothing. */
  readonly reads: ReceivedRead[];
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

export const FAKE_PLIVO_AUTH_ID = "MAZDQ1ZJIYMDFLMZQ5NG";
export const FAKE_PLIVO_AUTH_TOKEN = "ZmFrZSBwbGl2byBhdXRoIHRva2VuIDAx";

/**
 * Plivo's error body, as its API sends it: `{api_id, error}` with the given status.
 *
 * @example
 * ```ts
 * const plivo = startFakePlivo({ respond: () => plivoError(429, "too many requests") });
 * ```
 */
export function plivoError(status: number, error: string): Response {
  return Response.json({ api_id: crypto.randomUUID(), error }, { status });
}

/** Plivo's Account resource, as `GET /v1/Account/{auth_id}/` answers it (200). */
function accountResource(authId: string): Response {
  return Response.json({
    account_type: "standard",
    address: "",
    api_id: crypto.randomUUID(),
    auth_id: authId,
    auto_recharge: false,
    billing_mode: "prepaid",
    cash_credits: "23.75100",
    city: "",
    name: "otp-relay test account",
    resource_uri: `/v1/Account/${authId}/`,
    state: "",
    timezone: "UTC",
  });
}

/** A field's value as a string, if it is a scalar. */
function field(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** A destination as Plivo reads it: it strips `/ - . + ( )` and whitespace. */
function sanitizeDst(dst: string): string {
  return dst.replace(/[/\-.+()\s]/g, "");
}

/** Country code first, at most 14 digits (docs/contracts.md §6.2). */
const NUMBER = /^[1-9]\d{6,13}$/;

/** Plivo's default answer to an authenticated request. */
function sendMessage(body: Record<string, unknown>): Response {
  const src = field(body, "src");
  const powerpack = field(body, "powerpack_uuid");
  if (src !== undefined && powerpack !== undefined) {
    return plivoError(400, "specify either src or powerpack_uuid, not both");
  }
  if (!src && !powerpack) return plivoError(400, "src or powerpack_uuid is required");
  if (src !== undefined) {
    const sender = src.replace(/[^A-Za-z0-9]/g, "");
    if (/^\d+$/.test(sender) ? !NUMBER.test(sender) : !/^[A-Za-z0-9]{1,11}$/.test(sender)) {
      return plivoError(400, `${src} is not a valid source`);
    }
  }
  const dst = field(body, "dst");
  if (!dst) return plivoError(400, "dst parameter is required");
  const type = field(body, "type") ?? "sms";
  if (!["sms", "mms", "whatsapp"].includes(type)) {
    return plivoError(400, "type should be one of sms, mms or whatsapp");
  }
  const text = field(body, "text");
  if (!text && type === "sms") return plivoError(400, "text parameter is required for sms");
  const url = field(body, "url");
  if (url !== undefined && !URL.canParse(url)) return plivoError(400, "url is not a valid URL");
  const method = field(body, "method");
  if (method !== undefined && !["GET", "POST"].includes(method.toUpperCase())) {
    return plivoError(400, "method should be GET or POST");
  }
  const expiry = field(body, "message_expiry");
  if (expiry !== undefined && !(/^\d+$/.test(expiry) && +expiry >= 5 && +expiry <= 10800)) {
    return plivoError(400, "message_expiry should be between 5 and 10800 seconds");
  }

  // Several destinations are joined with `<`; invalid ones are listed, valid ones queued.
  const destinations = dst.split("<").map((d) => ({ given: d, number: sanitizeDst(d) }));
  const invalid = destinations.filter((d) => !NUMBER.test(d.number)).map((d) => d.given);
  const valid = destinations.filter((d) => NUMBER.test(d.number));
  if (valid.length === 0) {
    return plivoError(400, `${invalid.join(", ")} is not a valid phone number`);
  }
  return Response.json({
    api_id: crypto.randomUUID(),
    message: "message(s) queued",
    message_uuid: valid.map(() => crypto.randomUUID()),
    ...(invalid.length > 0 ? { invalid_number: invalid } : {}),
  }, { status: 202 });
}

/**
 * Starts the fake on a free loopback port.
 *
 * @example
 * ```ts
 * const plivo = startFakePlivo();
 * await fetch(`${plivo.baseUrl}/v1/Account/${plivo.authId}/Message/`, {
 *   method: "POST",
 *   headers: {
 *     authorization: `Basic ${btoa(`${plivo.authId}:${plivo.authToken}`)}`,
 *     "content-type": "application/json",
 *   },
 *   body: JSON.stringify({ src: "Acme", dst: "447700900000", text: "Your code is 123456" }),
 * });
 * await plivo.close();
 * ```
 */
export function startFakePlivo(options: FakePlivoOptions = {}): FakePlivo {
  const authId = options.authId ?? FAKE_PLIVO_AUTH_ID;
  const authToken = options.authToken ?? FAKE_PLIVO_AUTH_TOKEN;
  const requests: ReceivedRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  const expectedAuth = `Basic ${btoa(`${authId}:${authToken}`)}`;
  const reads: ReceivedRead[] = [];

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const account = url.pathname.match(/^\/v1\/Account\/([^/]+)\/$/);
    if (account && req.method === "GET") {
      // The credentials are checked as for a send.
      if (req.headers.get("authorization") !== expectedAuth || account[1] !== authId) {
        return plivoError(401, "authentication failed");
      }
      const read: ReceivedRead = { path: url.pathname, headers: req.headers };
      reads.push(read);
      const given = await options.respondRead?.(read);
      if (given === "hang") return await server.hang(req.signal);
      return given ?? accountResource(authId);
    }
    const match = url.pathname.match(/^\/v1\/Account\/([^/]+)\/Message\/$/);
    if (!match) return plivoError(404, "not found");
    if (req.method !== "POST") return plivoError(405, "method not allowed");
    if (req.headers.get("authorization") !== expectedAuth || match[1] !== authId) {
      return plivoError(401, "authentication failed");
    }

    const raw = await req.text();
    let body: Record<string, unknown> = {};
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
      body,
      encoding: "json",
      raw,
    };
    requests.push(received);
    const given = await options.respond?.(received);
    if (given === "hang") return await server.hang(req.signal);
    const res = given ??
      (Object.keys(body).length === 0 ? plivoError(400, "invalid JSON body") : sendMessage(body));

    if (res.status === 202) {
      const result = await res.clone().json().catch(() => ({}));
      const uuids: unknown[] = Array.isArray(result?.message_uuid) ? result.message_uuid : [];
      // The default answer queues the valid destinations, in order; an injected 202 may not.
      const all = (field(body, "dst") ?? "").split("<").map(sanitizeDst);
      const valid = all.filter((n) => NUMBER.test(n));
      const numbers = valid.length > 0 ? valid : all;
      uuids.forEach((id, i) => {
        if (typeof id === "string") {
          accepted.push({
            id,
            to: numbers[i] ?? numbers[0] ?? "",
            text: field(body, "text") ?? "",
            callback: field(body, "url"),
            callbackMethod: field(body, "method"),
          });
        }
      });
    }
    return res;
  }

  const server = serveFake(answer);
  return {
    baseUrl: server.baseUrl,
    authId,
    authToken,
    requests,
    accepted,
    reads,
    close: server.close,
  };
}

/**
 * The fields of a status callback for a message the fake accepted, as Plivo POSTs them:
 * `ErrorCode` only for `failed` and `undelivered`.
 */
export function plivoReportFields(options: {
  messageUuid: string;
  /** The recipient, digits without `+`. */
  to: string;
  status: string;
  errorCode?: string;
  from?: string;
}): Record<string, string> {
  const now = new Date().toISOString().replace("T", " ").slice(0, 19) + "+00:00";
  return {
    From: options.from ?? "14155550100",
    MessageUUID: options.messageUuid,
    ParentMessageUUID: options.messageUuid,
    PartInfo: "1 of 1",
    Sequence: "1",
    To: options.to,
    Type: "sms",
    Status: options.status,
    ...(options.status === "failed" || options.status === "undelivered"
      ? { ErrorCode: options.errorCode ?? "900" }
      : {}),
    Units: "1",
    TotalRate: "0.00500",
    TotalAmount: "0.00500",
    MCC: "234",
    MNC: "10",
    MessageTime: now,
    QueuedTime: now,
    SentTime: now,
    DeliveryReportTime: now,
    requester_ip: "203.0.113.50",
    PowerpackUUID: "",
  };
}

/** What {@linkcode signedPlivoReport} builds a callback from. */
export interface PlivoReportOptions {
  /** The account's auth token: the key of both signatures. */
  authToken: string;
  /** The `url` the send gave. */
  url: string;
  /** The form fields (see {@linkcode plivoReportFields}). */
  fields: Record<string, string>;
  /** Defaults to 20 random digits. */
  nonce?: string;
  /** Which signatures to send: both (as Plivo does) or V2 alone; defaults to `both`. */
  signatures?: "both" | "v2";
}

async function hmacBase64(key: string, message: string): Promise<string> {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey(
    "raw",
    enc.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(message)));
  return btoa(String.fromCharCode(...mac));
}

/**
 * A status callback as Plivo POSTs it: the fields form-encoded, signed with V2 (URL and nonce)
 * and V3 (URL, query, sorted fields and nonce) under the auth token.
 *
 * @example
 * ```ts
 * const fields = plivoReportFields({ messageUuid: id, to: "447700900123", status: "delivered" });
 * const req = await signedPlivoReport({ authToken, url, fields });
 * ```
 */
export async function signedPlivoReport(options: PlivoReportOptions): Promise<Request> {
  const nonce = options.nonce ??
    Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => String(b % 10)).join("");
  const u = new URL(options.url);
  const base = `${u.protocol}//${u.host}${u.pathname}`;
  const sortPairs = (pairs: [string, string][]) =>
    pairs.sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0);
  const query = sortPairs([...u.searchParams]).map(([k, v]) => `${k}=${v}`).join("&");
  const body = sortPairs(Object.entries(options.fields)).map(([k, v]) => `${k}${v}`).join("");
  // Without body fields, only the URL (and its query) is signed.
  const v3Text = body === ""
    ? (query === "" ? base : `${base}?${query}`)
    : `${base}?${query === "" ? "" : `${query}.`}${body}`;
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    "x-plivo-signature-v2": await hmacBase64(options.authToken, `${base}${nonce}`),
    "x-plivo-signature-v2-nonce": nonce,
  };
  if ((options.signatures ?? "both") === "both") {
    headers["x-plivo-signature-v3"] = await hmacBase64(options.authToken, `${v3Text}.${nonce}`);
    headers["x-plivo-signature-v3-nonce"] = nonce;
  }
  return new Request(options.url, {
    method: "POST",
    headers,
    body: new URLSearchParams(options.fields).toString(),
  });
}
