/**
 * Twilio's status callbacks: what became of a message or call after Twilio accepted it.
 * Carrier filtering (30007), SMS pumping protection (30450) and WhatsApp's 24-hour rule (63016)
 * only ever arrive this way.
 *
 * Every request must carry a valid `X-Twilio-Signature` for the exact URL Twilio was given
 * (`OTP_PUBLIC_URL` + `/twilio/status`), checked with the twilio package's `validateRequest`
 * (constant-time); anything else gets 403.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "../zod.ts";
import type { Logger } from "../log.ts";
import type { OptOutStore, StatusLog } from "../delivery/ports.ts";

/** Twilio's error code for a recipient who replied STOP. */
const TWILIO_OPTED_OUT = 21610;

/** The SDK's webhook signature check. */
export interface TwilioWebhooks {
  validateRequest(
    authToken: string,
    signature: string,
    url: string,
    params: Record<string, string>,
  ): boolean;
}

/** Imports only the SDK's webhooks module, not the whole package. */
export const loadTwilioWebhooks = async (): Promise<TwilioWebhooks> =>
  await import("twilio/lib/webhooks/webhooks.js");

/** What the door needs. */
export interface TwilioStatusDeps {
  readonly authToken: string;
  /** The exact URL given to Twilio as `StatusCallback`. */
  readonly callbackUrl: string;
  readonly statusLog: StatusLog;
  /** Where a STOP reported by a callback (error 21610) is recorded, under the number's hash. */
  readonly optOuts?: OptOutStore;
  readonly log: Logger;
  /** Loads the SDK's signature check (`twilio/lib/webhooks/webhooks.js`), on the first callback. */
  readonly loadSdk: () => Promise<TwilioWebhooks>;
}

const callback = z.looseObject({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-f]{32}$/).optional(),
  MessageStatus: z.string().max(32).optional(),
  CallSid: z.string().regex(/^CA[0-9a-f]{32}$/).optional(),
  CallStatus: z.string().max(32).optional(),
  // Absent without an error; tolerate it empty.
  ErrorCode: z.string().regex(/^\d{0,6}$/).optional(),
  // The recipient (`whatsapp:+…` on WhatsApp): only hashed, to record an opt-out.
  To: z.string().max(64).optional(),
});

/**
 * Creates the door as a Hono sub-app answering `POST /twilio/status`.
 *
 * @example
 * ```ts
 * app.route("/", createTwilioStatusDoor({ authToken, callbackUrl, statusLog, log, loadSdk }));
 * ```
 */
export function createTwilioStatusDoor(deps: TwilioStatusDeps): Hono {
  const app = new Hono();
  app.post(
    "/twilio/status",
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => c.json({ message: "Payload too large" }, 413),
    }),
    async function twilioStatus(c) {
      const raw = await c.req.text();
      const params = Object.fromEntries(new URLSearchParams(raw));
      const signature = c.req.header("x-twilio-signature");
      const twilio = await deps.loadSdk();
      if (
        !signature || !twilio.validateRequest(deps.authToken, signature, deps.callbackUrl, params)
      ) {
        deps.log.warn("twilio_status_forbidden", { signed: Boolean(signature) });
        return c.json({ message: "Forbidden" }, 403);
      }
      const parsed = callback.safeParse(params);
      const sid = parsed.success ? parsed.data.MessageSid ?? parsed.data.CallSid : undefined;
      const status = parsed.success
        ? parsed.data.MessageStatus ?? parsed.data.CallStatus
        : undefined;
      if (!parsed.success || !sid || !status) {
        deps.log.warn("twilio_status_invalid", {});
        return c.json({ message: "Invalid status callback" }, 400);
      }
      const errorCode = parsed.data.ErrorCode ? Number(parsed.data.ErrorCode) : undefined;
      let recorded = false;
      // A write that failed is answered 503, so Twilio sends the callback again.
      let notRecorded = false;
      try {
        recorded = await deps.statusLog.recordStatus("twilio", sid, status, errorCode);
      } catch (err) {
        notRecorded = true;
        deps.log.error("twilio_status_not_recorded", {
          id: sid,
          error: err instanceof Error ? err.name : typeof err,
        });
      }
      // 21610: the recipient replied STOP. Recorded so no other provider bypasses it (SMS only).
      const to = parsed.data.To;
      let optOut: "recorded" | "failed" | undefined;
      if (errorCode === TWILIO_OPTED_OUT && to && /^\+\d{6,15}$/.test(to) && deps.optOuts) {
        try {
          await deps.optOuts.record(to, "twilio", "report");
          optOut = "recorded";
        } catch (err) {
          notRecorded = true;
          optOut = "failed";
          deps.log.error("opt_out_not_recorded", {
            provider: "twilio",
            id: sid,
            error: err instanceof Error ? err.name : typeof err,
          });
        }
      }
      const failed = ["undelivered", "failed", "busy", "no-answer", "canceled"].includes(status);
      deps.log[failed ? "warn" : "info"]("delivery_status", {
        id: sid,
        status,
        ...(errorCode === undefined ? {} : { errorCode }),
        ...(optOut === undefined ? {} : { optOut }),
        recorded,
      });
      if (notRecorded) return c.json({ message: "Not recorded, send it again" }, 503);
      return c.body(null, 204);
    },
  );
  return app;
}
