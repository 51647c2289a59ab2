/**
 * A local fake of Vonage's classic SMS API (`rest.nexmo.com`) on 127.0.0.1, speaking its request,
 * response and error shapes: `POST /sms/json` with the body form-encoded (as documented) or JSON
 * (as the current Node SDK sends it), credentials in a Basic header or as `api_key`/`api_secret`
 * fields, and every answer an HTTP 200 whose `messages[0].status` says what happened
 * (`"0"` accepted, anything else an error with its `error-text`). See docs/contracts.md §5. And
 * the Account API's `GET /account/get-balance` a credentials check reads (`{value, autoReload}`, or
 * 401), counted in `reads`, answered by `respondRead` when given.
 *
 * By default it behaves like Vonage accepting the message; `respond` overrides the answer per
 * request to inject failures (error statuses, 5xx, hangs). Signed requests (`sig`) are not
 * supported: the fake answers them with status 14.
 *
 * @module
 */
import { serveFake } from "./_server.ts";

/** One authenticated send request the fake received. */
export interface ReceivedRequest {
  /** The URL's pathname. */
  readonly path: string;
  readonly headers: Headers;
  /** Parsed body: the form fields (first value of each) or the JSON object. */
  readonly body: Record<string, unknown>;
  /** How the body was encoded. */
  readonly encoding: "form" | "json";
  /** The body as it came. */
  readonly raw: string;
}

/** What `respond` may return instead of the default: a Response, or `"hang"` (never answer). */
export type FakeAnswer = Response | "hang" | undefined;

/** A message the fake accepted (answered with status `"0"`). */
export interface AcceptedMessage {
  /** The `message-id` it answered with. */
  readonly id: string;
  /** As Vonage got it: digits, no `+`. */
  readonly to: string;
  readonly text: string;
  /** The `callback` the send asked delivery receipts to go to, if any. */
  readonly callback?: string;
}

/** Options of {@linkcode startFakeVonage}. */
export interface FakeVonageOptions {
  /** Defaults to {@linkcode FAKE_VONAGE_API_KEY}. */
  apiKey?: string;
  /** Defaults to {@linkcode FAKE_VONAGE_API_SECRET}. */
  apiSecret?: string;
  /** Called for each authenticated send request; `undefined` means behave like Vonage. */
  respond?: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;
  /** Called for each authenticated balance read; `undefined` means behave like Vonage. */
  respondRead?: (read: ReceivedRead) => FakeAnswer | Promise<FakeAnswer>;
}

/** One authenticated balance read (`GET /account/get-balance`): it sends nothing. */
export interface ReceivedRead {
  readonly path: string;
  readonly headers: Headers;
  readonly query: URLSearchParams;
}

/** A running fake. */
export interface FakeVonage {
  /** `http://127.0.0.1:<port>`: send to `${baseUrl}/sms/json`. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Every authenticated send request, in order, whatever the answer. */
  readonly requests: ReceivedRequest[];
  /** The messages it accepted, in order. */
  readonly accepted: AcceptedMessage[];
  /** Every authenticated balance read, in order: counted apart, a read sends nothing. */
  readonly reads: ReceivedRead[];
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

export const FAKE_VONAGE_API_KEY = "abcd1234";
export const FAKE_VONAGE_API_SECRET = "s3cr3tS3cr3t1234";

/** Vonage's `error-text` for the statuses a client is likely to meet. */
const ERROR_TEXTS: Readonly<Record<number, string>> = {
  1: "Throughput Rate Exceeded - please wait [ 30 ] and retry",
  2: "Missing to param",
  3: "Invalid to address",
  4: "Bad Credentials",
  5: "Internal Error",
  6: "Unroutable message - rejected",
  7: "Number barred.",
  8: "Partner account barred.",
  9: "Partner quota violation (0.00000000)",
  10: "Too many existing binds",
  11: "Account not enabled for HTTP",
  12: "Message too long",
  14: "Invalid Signature",
  15: "Illegal Sender Address - rejected",
  17: "Message has been blocked",
  22: "Invalid Network Code",
  23: "Invalid Callback Url",
  29: "Non White-listed Destination - rejected",
  32: "Signature And API Secret Disallowed",
  33: "Number De-activated.",
};

/**
 * Vonage's answer for a rejected message: HTTP 200, with the status and its `error-text` in
 * `messages[0]`. The text defaults to Vonage's usual one for that status; pass your own to quote
 * a number, as Vonage does (`"Non White-listed Destination - rejected 447700900123"`).
 *
 * @example
 * ```ts
 * const vonage = startFakeVonage({ respond: () => vonageStatus(29) });
 * ```
 */
export function vonageStatus(status: number, errorText?: string): Response {
  return Response.json({
    "message-count": "1",
    messages: [{
      status: String(status),
      "error-text": errorText ?? ERROR_TEXTS[status] ?? "Unknown error",
    }],
  });
}

/** A field's value as a string, if it is a scalar. */
function field(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

async function readBody(
  req: Request,
): Promise<Pick<ReceivedRequest, "body" | "encoding" | "raw">> {
  const raw = await req.text();
  if (req.headers.get("content-type")?.toLowerCase().includes("json")) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        return { body: parsed as Record<string, unknown>, encoding: "json", raw };
      }
    } catch {
      // Not JSON after all: its fields are missing, as Vonage would find them.
    }
    return { body: {}, encoding: "json", raw };
  }
  const body: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    if (!(name in body)) body[name] = value;
  }
  return { body, encoding: "form", raw };
}

/** `user:password` from a Basic header, or `undefined` if there is none that decodes. */
function basicCredentials(header: string | null): string | undefined {
  const match = header?.match(/^Basic\s+(\S+)$/i);
  if (!match?.[1]) return undefined;
  try {
    return atob(match[1]);
  } catch {
    return "";
  }
}

/** What Vonage checks before it looks at the message: `undefined` if the caller is who it says. */
function authError(
  req: Request,
  body: Record<string, unknown>,
  apiKey: string,
  apiSecret: string,
): Response | undefined {
  const basic = basicCredentials(req.headers.get("authorization"));
  if (basic !== undefined) {
    return basic === `${apiKey}:${apiSecret}` ? undefined : vonageStatus(4);
  }
  const key = field(body, "api_key");
  if (!key) return vonageStatus(2, "Missing api_key");
  const secret = field(body, "api_secret");
  const sig = field(body, "sig");
  if (sig !== undefined && secret !== undefined) return vonageStatus(32);
  // The fake does not compute `sig` hashes: a signed request is one it cannot verify.
  if (sig !== undefined) return vonageStatus(14);
  if (secret === undefined) return vonageStatus(2, "Missing api_secret");
  return key === apiKey && secret === apiSecret ? undefined : vonageStatus(4);
}

/**
 * The Account API's check of the caller (`rest.nexmo.com/account/…`): key and secret in a Basic
 * header or in the query, as a send takes them in its body; 401 with the Account API's legacy
 * error body when they are wrong or missing.
 */
function accountAuthError(
  req: Request,
  url: URL,
  apiKey: string,
  apiSecret: string,
): Response | undefined {
  const basic = basicCredentials(req.headers.get("authorization"));
  const given = basic ??
    `${url.searchParams.get("api_key") ?? ""}:${url.searchParams.get("api_secret") ?? ""}`;
  if (given === `${apiKey}:${apiSecret}`) return undefined;
  return Response.json(
    { "error-code": "401", "error-code-label": "authentication failed" },
    { status: 401 },
  );
}

const MESSAGE_TYPES = new Set(["text", "binary", "unicode", "wappush", "vcal", "vcard"]);

/** Vonage's default answer to an authenticated request. */
function sendMessage(body: Record<string, unknown>): Response {
  const from = field(body, "from");
  const to = field(body, "to");
  const text = field(body, "text");
  if (!from) return vonageStatus(2, "Missing from param");
  if (!to) return vonageStatus(2, "Missing to param");
  if (!text) return vonageStatus(2, "Missing text param");
  // The spec's pattern for `to` is 7–15 digits; a `+` or any other character is an invalid param.
  if (!/^\d{7,15}$/.test(to)) return vonageStatus(3, "Invalid to address");
  const sender = from.replaceAll(" ", "").replace(/^\+/, "");
  if (/^\d+$/.test(sender) ? sender.length > 15 : !/^[A-Za-z0-9]{1,11}$/.test(sender)) {
    return vonageStatus(15);
  }
  const type = field(body, "type");
  if (type !== undefined && !MESSAGE_TYPES.has(type)) {
    return vonageStatus(3, "Invalid message type");
  }
  const ttl = field(body, "ttl");
  if (ttl !== undefined && !(/^\d+$/.test(ttl) && +ttl >= 20000 && +ttl <= 604800000)) {
    return vonageStatus(3, "Invalid ttl");
  }
  const clientRef = field(body, "client-ref");
  if (clientRef !== undefined && clientRef.length > 100) {
    return vonageStatus(3, "Invalid client-ref");
  }
  const callback = field(body, "callback");
  if (callback !== undefined && (callback.length > 100 || !URL.canParse(callback))) {
    return vonageStatus(23);
  }
  // Text outside GSM-7 without `type=unicode` is accepted, as Vonage does (and garbles it on the
  // handset); the tests check the request's `type` themselves.
  return Response.json({
    "message-count": "1",
    messages: [{
      to,
      "message-id": crypto.randomUUID(),
      status: "0",
      "remaining-balance": "3.14159265",
      "message-price": "0.03330000",
      network: "12345",
      ...(clientRef !== undefined ? { "client-ref": clientRef } : {}),
    }],
  });
}

/**
 * Starts the fake on a free loopback port.
 *
 * @example
 * ```ts
 * const vonage = startFakeVonage();
 * await fetch(`${vonage.baseUrl}/sms/json`, {
 *   method: "POST",
 *   body: new URLSearchParams({
 *     api_key: vonage.apiKey, api_secret: vonage.apiSecret,
 *     from: "Acme", to: "447700900000", text: "Your code is 123456",
 *   }),
 * });
 * await vonage.close();
 * ```
 */
export function startFakeVonage(options: FakeVonageOptions = {}): FakeVonage {
  const apiKey = options.apiKey ?? FAKE_VONAGE_API_KEY;
  const apiSecret = options.apiSecret ?? FAKE_VONAGE_API_SECRET;
  const requests: ReceivedRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  const reads: ReceivedRead[] = [];

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/account/get-balance" && req.method === "GET") {
      const denied = accountAuthError(req, url, apiKey, apiSecret);
      if (denied) return denied;
      const read: ReceivedRead = {
        path: url.pathname,
        headers: req.headers,
        query: url.searchParams,
      };
      reads.push(read);
      const given = await options.respondRead?.(read);
      if (given === "hang") return await server.hang(req.signal);
      return given ?? Response.json({ value: 10.28, autoReload: false });
    }
    if (url.pathname !== "/sms/json") return new Response("Not Found", { status: 404 });
    if (req.method !== "POST") return new Response("Method Not Allowed", { status: 405 });
    const { body, encoding, raw } = await readBody(req);
    const denied = authError(req, body, apiKey, apiSecret);
    if (denied) return denied;

    const received: ReceivedRequest = {
      path: url.pathname,
      headers: req.headers,
      body,
      encoding,
      raw,
    };
    requests.push(received);
    const given = await options.respond?.(received);
    if (given === "hang") return await server.hang(req.signal);
    const res = given ?? sendMessage(body);

    if (res.status === 200) {
      const result = await res.clone().json().catch(() => ({}));
      const message = result?.messages?.[0];
      if (message?.status === "0" && typeof message["message-id"] === "string") {
        accepted.push({
          id: message["message-id"],
          to: field(body, "to") ?? "",
          text: field(body, "text") ?? "",
          callback: field(body, "callback"),
        });
      }
    }
    return res;
  }

  const server = serveFake(answer);
  return {
    baseUrl: server.baseUrl,
    apiKey,
    apiSecret,
    requests,
    accepted,
    reads,
    close: server.close,
  };
}

/** What {@linkcode signedVonageReport} builds a delivery receipt from. */
export interface VonageReportOptions {
  /** The account's signature secret. */
  secret: string;
  /** The dashboard's signature method; defaults to `sha256`. */
  method?: "sha256" | "sha512";
  /** The `callback` the send gave. */
  url: string;
  /** The send answer's `message-id`. */
  messageId: string;
  /** The recipient, digits without `+`. */
  msisdn: string;
  /** `delivered`, `expired`, `failed`, `rejected`, `accepted`, `buffered` or `unknown`. */
  status: string;
  /** Defaults to `"0"`. */
  errCode?: string;
  /** How the dashboard sends receipts: GET query, POST form or POST JSON; defaults to `get`. */
  format?: "get" | "form" | "json";
  /** Our sender, which Vonage names `to`; defaults to `MyApp`. */
  from?: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Defaults to {@linkcode FAKE_VONAGE_API_KEY}. */
  apiKey?: string;
}

/**
 * A delivery receipt for a message the fake accepted, as Vonage sends it with signed webhooks on:
 * every field, plus `timestamp`, `nonce` and `sig` (lower-case hex HMAC of the fields sorted by
 * name as `&name=value`, `&` and `=` in values replaced by `_`).
 *
 * @example
 * ```ts
 * const req = await signedVonageReport({
 *   secret, url, messageId: vonage.accepted[0]!.id, msisdn: "447700900123", status: "delivered",
 * });
 * ```
 */
export async function signedVonageReport(options: VonageReportOptions): Promise<Request> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const when = new Date(timestamp * 1000).toISOString();
  const fields: Record<string, string> = {
    msisdn: options.msisdn,
    to: options.from ?? "MyApp",
    "network-code": "23410",
    messageId: options.messageId,
    price: "0.03330000",
    status: options.status,
    scts: when.slice(2, 16).replace(/\D/g, ""),
    "err-code": options.errCode ?? "0",
    "api-key": options.apiKey ?? FAKE_VONAGE_API_KEY,
    "message-timestamp": `${when.slice(0, 10)} ${when.slice(11, 19)}`,
    timestamp: String(timestamp),
    nonce: crypto.randomUUID(),
  };
  const text = Object.keys(fields).sort()
    .map((name) => `&${name}=${fields[name]!.replaceAll("&", "_").replaceAll("=", "_")}`)
    .join("");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(options.secret),
    { name: "HMAC", hash: options.method === "sha512" ? "SHA-512" : "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  fields.sig = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
  const format = options.format ?? "get";
  if (format === "get") {
    return new Request(`${options.url}?${new URLSearchParams(fields)}`, { method: "GET" });
  }
  return new Request(options.url, {
    method: "POST",
    headers: {
      "content-type": format === "json" ? "application/json" : "application/x-www-form-urlencoded",
    },
    body: format === "json" ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
  });
}
