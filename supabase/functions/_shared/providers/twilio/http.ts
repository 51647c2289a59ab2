/**
 * A `fetch`-based HTTP client for the `twilio` SDK.
 *
 * The SDK's own client is axios with its own timeout and retry rules; this one gives every call
 * the caller's `AbortSignal` (so a hanging Twilio cannot eat the hook's deadline), honours
 * `TWILIO_API_BASE_URL`, and keeps the SDK's request and error handling intact: the SDK still
 * builds the request and still raises `RestException` for non-2xx answers.
 *
 * @module
 */
import { TWILIO_DEFAULT_API_BASE_URL } from "./config.ts";

/** Twilio answered 2xx (so it accepted the message) but its answer's body could not be read. */
export class TwilioAnswerLostError extends Error {
  // No `status` field: that would make it look like the SDK's RestException (isTwilioError).
  constructor(status: number, options?: ErrorOptions) {
    super(`Twilio answered ${status}, then the answer was lost`, options);
    this.name = "TwilioAnswerLostError";
  }
}

/** The request the SDK hands its HTTP client (a subset of twilio-node's `RequestOptions`). */
export interface TwilioHttpRequest {
  method: string;
  uri: string;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  params?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

/** The response shape the SDK reads. */
export interface TwilioHttpResponse {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
}

/** The duck type twilio-node accepts as `httpClient`. */
export interface TwilioHttpClient {
  request(options: TwilioHttpRequest): Promise<TwilioHttpResponse>;
}

/** Options of {@linkcode createTwilioHttpClient}. */
export interface TwilioHttpClientOptions {
  /** Origin (and optional path prefix) that replaces `https://*.twilio.com`. */
  apiBaseUrl: string;
  /** Aborts the request; the SDK's own timeout is not applied to custom clients. */
  signal: AbortSignal;
  fetch?: typeof fetch;
  /** Called just before a request leaves, so the caller knows Twilio may have seen it. */
  onRequest?: () => void;
}

/** Form-encodes like the SDK does: arrays repeat their key, nullish values are left out. */
function formEncode(target: URLSearchParams, values: Record<string, unknown> | undefined): void {
  if (!values) return;
  for (const [key, value] of Object.entries(values)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue;
      target.append(key, typeof item === "string" ? item : JSON.stringify(item));
    }
  }
}

function rewrite(uri: string, apiBaseUrl: string): URL {
  const url = new URL(uri);
  if (apiBaseUrl === TWILIO_DEFAULT_API_BASE_URL || !url.hostname.endsWith(".twilio.com")) {
    return url;
  }
  const base = new URL(apiBaseUrl);
  const prefix = base.pathname.replace(/\/+$/, "");
  return new URL(`${base.origin}${prefix}${url.pathname}${url.search}`);
}

/**
 * Creates an HTTP client for one Twilio call.
 *
 * @example
 * ```ts
 * const httpClient = createTwilioHttpClient({ apiBaseUrl, signal: AbortSignal.timeout(1500) });
 * const client = twilio(accountSid, authToken, { httpClient: httpClient as never });
 * ```
 */
export function createTwilioHttpClient(options: TwilioHttpClientOptions): TwilioHttpClient {
  const doFetch = options.fetch ?? fetch;
  return {
    async request(req) {
      const url = rewrite(req.uri, options.apiBaseUrl);
      formEncode(url.searchParams, req.params);
      const headers = new Headers(req.headers);
      if (req.username !== undefined && req.password !== undefined) {
        headers.set("Authorization", `Basic ${btoa(`${req.username}:${req.password}`)}`);
      }
      let body: string | undefined;
      if (req.data) {
        const form = new URLSearchParams();
        formEncode(form, req.data);
        body = form.toString();
      }
      options.onRequest?.();
      const response = await doFetch(url, {
        method: req.method.toUpperCase(),
        headers,
        body,
        signal: options.signal,
        redirect: "manual",
      });
      let text: string;
      try {
        text = await response.text();
      } catch (err) {
        // Twilio said 2xx: the message is created, only its answer was lost (cut short, or too
        // slow for the attempt). Falling back to another channel would send the code twice.
        if (response.ok) throw new TwilioAnswerLostError(response.status, { cause: err });
        throw err;
      }
      return {
        statusCode: response.status,
        body: text,
        headers: Object.fromEntries(response.headers),
      };
    },
  };
}
