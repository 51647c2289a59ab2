/**
 * The core vocabulary: every front door turns its caller's request into one
 * {@linkcode DeliveryRequest}, and every delivery ends in one {@linkcode Outcome}.
 *
 * @module
 */
import type { PhoneNumber } from "../phone.ts";

/** A way to reach a phone. Only SMS exists so far; WhatsApp and voice come with the router. */
export type Channel = "sms";

/** One code to deliver to one number, whichever platform asked. */
export interface DeliveryRequest {
  /** Which front door took the request; part of logs and of the dedupe key. */
  readonly door: "supabase";
  /** Identifies the request across the caller's retries (e.g. Supabase `metadata.uuid`). */
  readonly dedupeKey: string;
  readonly to: PhoneNumber;
  /** The one-time code, 4 to 10 digits. Never logged. */
  readonly code: string;
  /** Epoch ms by which the caller must have its answer. */
  readonly deadline: number;
}

/**
 * Why a delivery did not happen. Doors translate reasons into their dialect
 * (see `failures.ts` for the Supabase table).
 */
export type FailureReason =
  /** The number cannot be a phone number, or the provider says so (Twilio 21211). */
  | "invalid_number"
  /** The number cannot receive this channel (Twilio 21614, landline). */
  | "unreachable_number"
  /** The recipient replied STOP (Twilio 21610). */
  | "opted_out"
  /** The destination country is not enabled (Twilio 21408). */
  | "geo_blocked"
  /** The provider throttles us (HTTP 429, Twilio 20429). */
  | "rate_limited"
  /** Credentials or sender are wrong (Twilio 20003, 21606…): needs the owner, not the user. */
  | "provider_config"
  /** The provider failed or could not be reached. */
  | "provider_unavailable"
  /** No answer within the attempt's time. */
  | "timeout"
  /** Anything else; a bug or an unexpected answer. */
  | "internal";

/** Whether the message may have left: decides if a retry of the same request may send again. */
export type SentState = "no" | "unknown";

/** How a delivery ended. */
export type Outcome =
  | {
    readonly ok: true;
    readonly channel: Channel;
    readonly provider: string;
    /** The provider's id for the message (Twilio SID). */
    readonly id: string;
    readonly attempts: number;
  }
  | {
    readonly ok: false;
    readonly reason: FailureReason;
    /** `no` when the provider certainly did not accept the message. */
    readonly sent: SentState;
    readonly attempts: number;
    /** Loggable detail: provider code and status, never the code or the number. */
    readonly detail?: string;
  };

/** A failed outcome. */
export type Failure = Extract<Outcome, { ok: false }>;
