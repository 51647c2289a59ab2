/**
 * A local fake of Plivo's Message API on 127.0.0.1, speaking its request, response and error
 * shapes: `POST /v1/Account/{auth_id}/Message/` (trailing slash) with Basic
 * `auth_id:auth_token` and a JSON body, `202 {api_id, message, message_uuid: […]}` when it queues
 * the message, and `{api_id, error}` with a 4xx otherwise. See PROVIDERS.md §2.
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
}

/** Options of {@linkcode startFakePlivo}. */
export interface FakePlivoOptions {
  /** Defaults to {@linkcode FAKE_PLIVO_AUTH_ID}. */
  authId?: string;
  /** Defaults to {@linkcode FAKE_PLIVO_AUTH_TOKEN}. */
  authToken?: string;
  /** Called for each authenticated send request; `undefined` means behave like Plivo. */
  respond?: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;
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

/** Country code first, at most 14 digits (PROVIDERS.md §2.2). */
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

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
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
    close: server.close,
  };
}
