/**
 * The Auth0 front door, at `POST /send-sms/auth0` (docs/contracts.md §3).
 *
 * Auth0 cannot call a URL for phone messages: it runs code. The relay we ship in
 * `integrations/auth0/` forwards its event here, signed with Standard Webhooks, in one of the
 * three shapes Auth0 has: the Actions `send-phone-message` event (`message_options`), the Custom
 * Phone Provider event (`notification`) and the legacy Hook's arguments (`recipient`, `text`,
 * `context`). Answers follow the Supabase door (`{}`, or the error object), plus `retryable`
 * and `reason` inside `error` so the relay can tell Auth0 to retry or to drop.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "../zod.ts";
import type { Auth0Config } from "../config.ts";
import { deliver, type DeliveryDeps } from "../delivery/deliver.ts";
import { retryable, userFacingError } from "../delivery/failures.ts";
import type { Channel, DeliveryRequest, Failure, FailureReason } from "../delivery/types.ts";
import { parsePhone } from "../phone.ts";
import { createWebhookVerifier } from "../webhook.ts";
import { callerWords, loggable, sendable, softText } from "./_fields.ts";
import { readSignedJson } from "./_signed.ts";
import { DEFAULT_TOLERANCE_SECONDS } from "../webhook.ts";
import { MAX_BODY_BYTES } from "./supabase.ts";

/** What the door needs besides the delivery dependencies. */
export interface Auth0DoorDeps extends DeliveryDeps {
  readonly auth0: Auth0Config;
  /** Use Auth0's own SMS text for codes (`OTP_USE_CALLER_TEXT`). */
  readonly useCallerText: boolean;
}

const text = softText;
/** A code, or none: Auth0 may send an empty string for a notice. */
const otp = z.string().regex(/^\d{4,10}$/, "must be 4 to 10 digits");
const optionalOtp = z.union([otp, z.literal("")]).nullish().transform((v) => v || undefined);
const recipient = z.string().min(1).max(40);
/** Auth0's enums, in any casing. */
const lower = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.string().transform((v) => v.trim().toLowerCase()).pipe(z.enum(values));
const request = z.looseObject({ ip: text, language: text }).nullish().catch(undefined);

/** The Actions `send-phone-message` event, as the relay forwards it. */
export const auth0ActionEvent = z.looseObject({
  message_options: z.looseObject({
    recipient,
    text: callerWords,
    code: otp,
    message_type: lower(["sms", "voice"]),
    action: text,
  }),
  request,
});

/** The Custom Phone Provider event, as the relay forwards it. */
export const auth0ProviderEvent = z.looseObject({
  notification: z.looseObject({
    recipient,
    as_text: callerWords,
    as_voice: callerWords,
    code: optionalOtp,
    delivery_method: lower(["text", "voice"]),
    locale: text,
    message_type: z.string().trim().min(1).max(64),
  }),
  request,
});

/** The legacy Hook's `recipient`, `text` and `context` (never its `webtask`: secrets). */
export const auth0HookArguments = z.looseObject({
  recipient,
  text: callerWords,
  context: z.looseObject({
    message_type: lower(["sms", "voice"]),
    action: text,
    language: text,
    code: otp,
    ip: text,
  }),
});

/** Custom Phone Provider messages that carry a code; others are notices, sent as written. */
const OTP_TYPES: ReadonlySet<string> = new Set(["otp_verify", "otp_enroll"]);

/** A request in one of the shapes, before the number is parsed. */
interface Normalized {
  readonly shape: "action" | "custom_provider" | "hook";
  /** Auth0's message type or action, for the log. */
  readonly kind: string;
  readonly recipient: string;
  readonly channel: Channel;
  readonly code?: string;
  readonly callerText?: string;
  readonly callerSpeech?: string;
  readonly locale?: string | null;
  readonly ip?: string | null;
}

type Parsed =
  | { readonly ok: true; readonly value: Normalized }
  | { readonly ok: false; readonly fields: string };

function issues(error: z.ZodError): string {
  // Paths only: values may hold the code or the number.
  return error.issues.map((i) => i.path.join(".")).join(",");
}

/** Recognises the shape by its top-level key and reduces it to what a delivery needs. */
export function parseAuth0(json: unknown, useCallerText: boolean): Parsed {
  const has = (key: string) =>
    typeof json === "object" && json !== null && !Array.isArray(json) && key in json;
  // Auth0's words for a code only when the owner asks for them and they can be sent as they are.
  const caller = (channel: Channel, value: string | null | undefined) => {
    const words = useCallerText && channel === "sms" ? sendable(value) : undefined;
    return words ? { callerText: words } : {};
  };

  if (has("message_options")) {
    const parsed = auth0ActionEvent.safeParse(json);
    if (!parsed.success) return { ok: false, fields: issues(parsed.error) };
    const m = parsed.data.message_options;
    return {
      ok: true,
      value: {
        shape: "action",
        kind: m.action ?? "unknown",
        recipient: m.recipient,
        channel: m.message_type,
        code: m.code,
        locale: parsed.data.request?.language,
        ip: parsed.data.request?.ip,
        ...caller(m.message_type, m.text),
      },
    };
  }
  if (has("notification")) {
    const parsed = auth0ProviderEvent.safeParse(json);
    if (!parsed.success) return { ok: false, fields: issues(parsed.error) };
    const n = parsed.data.notification;
    const channel: Channel = n.delivery_method === "voice" ? "voice" : "sms";
    const base = {
      shape: "custom_provider",
      kind: n.message_type,
      recipient: n.recipient,
      channel,
      locale: n.locale,
      ip: parsed.data.request?.ip,
    } as const;
    if (n.code) {
      return { ok: true, value: { ...base, code: n.code, ...caller(channel, n.as_text) } };
    }
    if (OTP_TYPES.has(n.message_type)) return { ok: false, fields: "notification.code" };
    // A notice (blocked account, password change or breach): Auth0's words, as written.
    const asText = sendable(n.as_text);
    const asVoice = sendable(n.as_voice);
    if (!(channel === "voice" ? asVoice : asText)) {
      return { ok: false, fields: `notification.${channel === "voice" ? "as_voice" : "as_text"}` };
    }
    return {
      ok: true,
      value: {
        ...base,
        ...(asText ? { callerText: asText } : {}),
        ...(asVoice ? { callerSpeech: asVoice } : {}),
      },
    };
  }
  if (has("context")) {
    const parsed = auth0HookArguments.safeParse(json);
    if (!parsed.success) return { ok: false, fields: issues(parsed.error) };
    const { context } = parsed.data;
    return {
      ok: true,
      value: {
        shape: "hook",
        kind: context.action ?? "unknown",
        recipient: parsed.data.recipient,
        channel: context.message_type,
        code: context.code,
        locale: context.language,
        ip: context.ip,
        ...caller(context.message_type, parsed.data.text),
      },
    };
  }
  return { ok: false, fields: "message_options|notification|context" };
}

/** A failure in the Supabase door's form, plus whether Auth0 may retry it and why. */
export function auth0Failure(
  c: Context,
  reason: FailureReason | "invalid_payload",
  outcome?: Failure,
): Response {
  const { httpCode, message } = userFacingError(reason);
  return c.json({
    error: {
      http_code: httpCode,
      message,
      reason,
      retryable: outcome ? retryable(outcome) : false,
    },
  });
}

/**
 * Creates the door as a Hono sub-app answering `POST /auth0`.
 *
 * @example
 * ```ts
 * app.route("/", createAuth0Door(deps));
 * ```
 */
export function createAuth0Door(deps: Auth0DoorDeps): Hono {
  const app = new Hono();
  const verifier = createWebhookVerifier({ secrets: deps.auth0.secrets, now: deps.now });

  app.post(
    "/auth0",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ message: "Payload too large" }, 413),
    }),
    async function auth0Relay(c) {
      try {
        return await handle(c);
      } catch (err) {
        deps.log.error("unhandled_error", {
          door: "auth0",
          error: err instanceof Error ? err.name : typeof err,
        });
        return auth0Failure(c, "internal");
      }
    },
  );

  async function handle(c: Context): Promise<Response> {
    const received = deps.now();
    const read = await readSignedJson(c, {
      verifier,
      log: deps.log,
      door: "auth0",
      notJson: (c) => auth0Failure(c, "invalid_payload"),
    });
    if (!read.ok) return read.response;
    const parsed = parseAuth0(read.json, deps.useCallerText);
    if (!parsed.ok) {
      deps.log.warn("invalid_payload", { door: "auth0", fields: parsed.fields });
      return auth0Failure(c, "invalid_payload");
    }
    const event = parsed.value;
    const to = parsePhone(event.recipient);
    if (!to) {
      deps.log.warn("invalid_number", { door: "auth0", digits: event.recipient.length });
      return auth0Failure(c, "invalid_number");
    }
    const request: DeliveryRequest = {
      door: "auth0",
      // The relay keeps one webhook-id across its own retries of an event. Auth0's retries
      // (api.notification.retry) are new events and get new ids: we only ask for them when
      // nothing was sent.
      dedupeKey: `auth0:${read.id}`,
      to,
      deadline: received + deps.auth0.deadlineMs,
      replayableUntil: read.signedAt + DEFAULT_TOLERANCE_SECONDS * 1000,
      // Auth0's user picked SMS or voice for the factor: that channel goes first.
      channel: event.channel,
      locales: [event.locale],
      about: { shape: event.shape, messageType: loggable(event.kind) },
      ...(event.code ? { code: event.code } : {}),
      ...(event.callerText ? { callerText: event.callerText } : {}),
      ...(event.callerSpeech ? { callerSpeech: event.callerSpeech } : {}),
      ...(event.ip ? { ip: event.ip } : {}),
    };
    const { outcome } = await deliver(request, deps);
    return outcome.ok ? c.json({}) : auth0Failure(c, outcome.reason, outcome);
  }

  return app;
}
