/**
 * One HTTP call to a provider's API with `fetch`, and what a failure of the call itself means:
 * the shared part of the fetch-based providers (Vonage, Plivo, Telnyx, the owner's gateway), and
 * of every provider's credentials check (Twilio's included).
 *
 * Redirects are never followed: credentials travel in every request, and a provider's API does
 * not redirect a send.
 *
 * @module
 */
import type { ProviderCheck, SendResult } from "../delivery/ports.ts";

/** A failed send. */
export type SendFailure = Extract<SendResult, { ok: false }>;

/** The provider's answer: its status and its body as JSON, when the body was JSON. */
export interface ProviderAnswer {
  readonly status: number;
  /** The parsed body; `undefined` when it was empty or not JSON. */
  readonly body: unknown;
}

/** What {@linkcode callProvider} needs. */
export interface ProviderCall {
  /** The provider's name, for `detail`. */
  readonly provider: string;
  readonly url: string;
  readonly init: { readonly headers: Record<string, string>; readonly body: string };
  readonly signal: AbortSignal;
  readonly fetch?: typeof fetch;
}

/**
 * POSTs `init` to `url` and reads the answer. A failure of the call itself (no connection, a
 * timeout, an answer cut short) comes back as a failure; an HTTP answer, whatever its status,
 * comes back as a {@linkcode ProviderAnswer} for the provider to read.
 *
 * A 2xx whose body is lost (cut short, or still arriving when the attempt ends) means the
 * message was accepted: it is reported as sent-unknown, so nothing else is tried.
 */
export async function callProvider(call: ProviderCall): Promise<ProviderAnswer | SendFailure> {
  const doFetch = call.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(call.url, {
      method: "POST",
      headers: call.init.headers,
      body: call.init.body,
      redirect: "manual",
      signal: call.signal,
    });
  } catch (err) {
    return networkFailure(call.provider, err, call.signal);
  }
  let text: string;
  try {
    text = await response.text();
  } catch {
    if (response.status >= 200 && response.status < 300) {
      return {
        ok: false,
        reason: "internal",
        sent: "unknown",
        detail: `${call.provider} answer lost after ${response.status}`,
      };
    }
    return {
      ok: false,
      reason: "provider_unavailable",
      sent: "unknown",
      detail: `${call.provider} status ${response.status}, body lost`,
    };
  }
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** What {@linkcode checkProvider} needs. */
export interface CheckCall {
  /** A cheap authenticated read: an account or balance resource. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  readonly fetch?: typeof fetch;
}

/**
 * GETs `url` to check a provider's credentials, and says what the answer means (see
 * {@linkcode checkStatus}); no connection, a timeout or an abort is `unreachable`. The body is
 * discarded unread: an account resource may quote account details (Twilio's even holds the auth
 * token). Never throws; settles when `signal` aborts.
 */
export async function checkProvider(call: CheckCall): Promise<ProviderCheck> {
  const doFetch = call.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(call.url, {
      method: "GET",
      headers: call.headers,
      redirect: "manual",
      signal: call.signal,
    });
  } catch {
    return { ok: false, problem: "unreachable" };
  }
  try {
    await response.body?.cancel();
  } catch {
    // Only releases the connection: the status is all the check needs.
  }
  return checkStatus(response.status);
}

/**
 * What the status of a credentials check means: 2xx the credentials work; 401/403 they don't;
 * 5xx the provider is down; anything else (a redirect, never followed, included) unexpected.
 */
export function checkStatus(status: number): ProviderCheck {
  if (status >= 200 && status < 300) return { ok: true };
  if (status === 401 || status === 403) return { ok: false, problem: "credentials", status };
  if (status >= 500 && status < 600) return { ok: false, problem: "unreachable", status };
  return { ok: false, problem: "unexpected", status };
}

/** True for a failure rather than an answer. */
export function isFailure(value: ProviderAnswer | SendFailure): value is SendFailure {
  return "ok" in value;
}

/** A refused connection means nothing reached the provider; anything else may have. */
function networkFailure(provider: string, err: unknown, signal: AbortSignal): SendFailure {
  const name = err instanceof Error ? err.name : typeof err;
  if (signal.aborted || name === "TimeoutError" || name === "AbortError") {
    return { ok: false, reason: "timeout", sent: "unknown", detail: `${provider} timeout` };
  }
  const text = err instanceof Error
    ? `${err.message} ${String((err.cause as Error | undefined)?.message)}`
    : "";
  if (err instanceof TypeError && /connection refused|\(Connect\)|dns error/i.test(text)) {
    return {
      ok: false,
      reason: "provider_unavailable",
      sent: "no",
      detail: `${provider} connect error`,
    };
  }
  return {
    ok: false,
    reason: "provider_unavailable",
    sent: "unknown",
    detail: `${provider} network error`,
  };
}

/** A failure from an HTTP status alone: 401 credentials, 429 throttled, anything else down. */
export function statusFailure(
  provider: string,
  status: number,
  sent: "no" | "unknown",
): SendFailure {
  const detail = `${provider} status ${status}`;
  if (status === 401) return { ok: false, reason: "provider_config", sent: "no", detail };
  if (status === 429) return { ok: false, reason: "rate_limited", sent: "no", detail };
  if (status >= 300 && status < 400) {
    // Not followed: a send is never redirected, and the credentials would go along.
    return { ok: false, reason: "provider_unavailable", sent: "no", detail: `${detail} redirect` };
  }
  return { ok: false, reason: "provider_unavailable", sent, detail };
}

/** `user:password` as an HTTP Basic credential. */
export function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** A member of a JSON object, or `undefined`. */
export function member(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A message for a channel the provider doesn't serve (the router never sends one). */
export function notServed(provider: string, channel: string): SendFailure {
  return {
    ok: false,
    reason: "channel_config",
    sent: "no",
    detail: `${provider} has no ${channel}`,
  };
}
