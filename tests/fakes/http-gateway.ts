/**
 * A local fake of the owner's own SMS/voice gateway on 127.0.0.1: it takes
 * `POST {to, channel, text, code?, language}` as JSON on any path, signed with Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`; see docs/contracts.md §8), verifies
 * the signature with the `standardwebhooks` reference package, and answers `200 {id: "gw_…"}`.
 *
 * It dedupes on `webhook-id` as a careful receiver would: a request repeating the id of one it
 * accepted gets that first answer again and is not accepted twice. Answers that were not 2xx are
 * not remembered, so a retry after an error (same id, as Standard Webhooks retries) is answered
 * afresh.
 *
 * `respond` overrides the answer per request to inject failures (error statuses, hangs).
 *
 * @module
 */
import { serveFake } from "./_server.ts";
import { Webhook } from "standardwebhooks";

/** One verified request the fake received. */
export interface ReceivedRequest {
  /** The URL's pathname. */
  readonly path: string;
  readonly headers: Headers;
  /** The parsed JSON object (`{}` if the body was not a JSON object). */
  readonly body: Record<string, unknown>;
  /** How the body was encoded: the gateway takes JSON only. */
  readonly encoding: "form" | "json";
  /** The body as it came (what the signature covers). */
  readonly raw: string;
  /** The `webhook-id` header. */
  readonly webhookId: string;
  /** The `webhook-timestamp` header, in Unix seconds. */
  readonly timestamp: number;
}

/** What `respond` may return instead of the default: a Response, or `"hang"` (never answer). */
export type FakeAnswer = Response | "hang" | undefined;

/** A message the gateway accepted (answered 2xx), once per `webhook-id`. */
export interface AcceptedMessage {
  /** The `id` of the answer's body, or the `webhook-id` if it has none. */
  readonly id: string;
  readonly webhookId: string;
  readonly to: string;
  readonly channel: string;
  readonly text: string;
  readonly code?: string;
}

/** Options of {@linkcode startFakeGateway}. */
export interface FakeGatewayOptions {
  /**
   * The signing secret, `whsec_<base64>` (a `v1,` prefix, as Supabase writes it, is dropped).
   * Defaults to {@linkcode FAKE_GATEWAY_SECRET}.
   */
  secret?: string;
  /**
   * Called for each verified request that is not a replay of an accepted one; `undefined` means
   * the default answer.
   */
  respond?: (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;
}

/** A running fake. */
export interface FakeGateway {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** `${baseUrl}/send`: the URL to configure (any path is served). */
  readonly url: string;
  readonly secret: string;
  /** Every verified request, in order, replays included. */
  readonly requests: ReceivedRequest[];
  /** The messages it accepted, in order, once per `webhook-id`. */
  readonly accepted: AcceptedMessage[];
  /** The `webhook-id` of every verified request, in order, repeats included. */
  readonly ids: string[];
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

export const FAKE_GATEWAY_SECRET = "whsec_" + btoa("gateway secret for the tests");

/**
 * The gateway's error answer: `{"error": {"reason": reason}}`, or `{}` without a reason.
 *
 * @example
 * ```ts
 * const gateway = startFakeGateway({
 *   respond: () => gatewayError(503, "busy", { "retry-after": "1" }),
 * });
 * ```
 */
export function gatewayError(status: number, reason?: string, headers?: HeadersInit): Response {
  return Response.json(reason === undefined ? {} : { error: { reason } }, { status, headers });
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** The gateway's default answer to a verified request. */
function send(body: Record<string, unknown> | undefined): Response {
  if (!body) return gatewayError(400, "invalid_json");
  if (typeof body.to !== "string" || !E164.test(body.to)) return gatewayError(400, "invalid_to");
  if (body.channel !== "sms" && body.channel !== "voice") {
    return gatewayError(400, "invalid_channel");
  }
  if (typeof body.text !== "string" || body.text === "") return gatewayError(400, "missing_text");
  if (body.code !== undefined && typeof body.code !== "string") {
    return gatewayError(400, "invalid_code");
  }
  if (body.language !== undefined && typeof body.language !== "string") {
    return gatewayError(400, "invalid_language");
  }
  return Response.json({ id: `gw_${crypto.randomUUID()}` });
}

/** An answer kept to be sent again. */
interface Kept {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: string;
}

/**
 * Starts the fake on a free loopback port.
 *
 * @example
 * ```ts
 * const gateway = startFakeGateway();
 * const body = JSON.stringify({ to: "+5511987654321", channel: "sms", text: "Código: 123456" });
 * const id = crypto.randomUUID();
 * const signature = new Webhook(gateway.secret).sign(id, new Date(), body);
 * await fetch(gateway.url, {
 *   method: "POST",
 *   headers: {
 *     "content-type": "application/json",
 *     "webhook-id": id,
 *     "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
 *     "webhook-signature": signature,
 *   },
 *   body,
 * });
 * await gateway.close();
 * ```
 */
export function startFakeGateway(options: FakeGatewayOptions = {}): FakeGateway {
  const secret = (options.secret ?? FAKE_GATEWAY_SECRET).replace(/^v1,/, "");
  const webhook = new Webhook(secret);
  const requests: ReceivedRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  const ids: string[] = [];
  const kept = new Map<string, Kept>();
  const acceptedIds = new Set<string>();

  async function answer(req: Request): Promise<Response> {
    if (req.method !== "POST") return gatewayError(405, "method_not_allowed");
    const raw = await req.text();
    const headers = {
      "webhook-id": req.headers.get("webhook-id") ?? "",
      "webhook-timestamp": req.headers.get("webhook-timestamp") ?? "",
      "webhook-signature": req.headers.get("webhook-signature") ?? "",
    };
    try {
      webhook.verify(raw, headers, { jsonParse: false });
    } catch {
      return gatewayError(401, "unauthorized");
    }

    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        body = parsed as Record<string, unknown>;
      }
    } catch {
      // Recorded with an empty body, and answered 400 by default.
    }
    const webhookId = headers["webhook-id"];
    const received: ReceivedRequest = {
      path: new URL(req.url).pathname,
      headers: req.headers,
      body: body ?? {},
      encoding: "json",
      raw,
      webhookId,
      timestamp: Number(headers["webhook-timestamp"]),
    };
    requests.push(received);
    ids.push(webhookId);

    const previous = kept.get(webhookId);
    if (previous) {
      return new Response(previous.body, { status: previous.status, headers: previous.headers });
    }

    const given = await options.respond?.(received);
    if (given === "hang") return await server.hang(req.signal);
    const res = given ?? send(body);

    if (res.ok) {
      const text = await res.clone().text();
      kept.set(webhookId, { status: res.status, headers: [...res.headers], body: text });
      // A duplicate that raced the first one is answered, but not accepted again.
      if (!acceptedIds.has(webhookId)) {
        acceptedIds.add(webhookId);
        let id: unknown;
        try {
          id = JSON.parse(text)?.id;
        } catch {
          // No JSON body (e.g. a 204): the message is known by its webhook-id.
        }
        accepted.push({
          id: typeof id === "string" ? id : webhookId,
          webhookId,
          to: typeof body?.to === "string" ? body.to : "",
          channel: typeof body?.channel === "string" ? body.channel : "",
          text: typeof body?.text === "string" ? body.text : "",
          ...(typeof body?.code === "string" ? { code: body.code } : {}),
        });
      }
    }
    return res;
  }

  const server = serveFake(answer);
  const baseUrl = server.baseUrl;
  return {
    baseUrl,
    url: `${baseUrl}/send`,
    secret,
    requests,
    accepted,
    ids,
    close: server.close,
  };
}
