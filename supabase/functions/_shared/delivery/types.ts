/**
 * The core vocabulary: every front door turns its caller's request into one
 * {@linkcode DeliveryRequest}, and every delivery ends in one {@linkcode Outcome}.
 *
 * @module
 */
import type { PhoneNumber } from "../phone.ts";

/** Every way otp-relay can reach a phone, in the order they are usually preferred. */
export const CHANNELS = ["sms", "whatsapp", "voice"] as const;

/** A way to reach a phone. */
export type Channel = typeof CHANNELS[number];

/** One code to deliver to one number, whichever platform asked. */
export interface DeliveryRequest {
  /** Which front door took the request; part of logs and of the dedupe key. */
  readonly door: "supabase" | "okta" | "auth0";
  /** Identifies the request across the caller's retries (e.g. Supabase `metadata.uuid`). */
  readonly dedupeKey: string;
  readonly to: PhoneNumber;
  /**
   * The one-time code, 4 to 10 digits. Never logged. Absent for a notice without a code
   * (Auth0's blocked-account and password messages), which carries its own words instead:
   * {@linkcode DeliveryRequest.callerText} and {@linkcode DeliveryRequest.callerSpeech}.
   */
  readonly code?: string;
  /** The end user's IP, where the caller gives it (Supabase `metadata.ip_address`). */
  readonly ip?: string;
  /**
   * The caller's own SMS text, code included (Okta's `msgTemplate`), used instead of ours only
   * when the owner says so (`OTP_USE_CALLER_TEXT`).
   */
  readonly callerText?: string;
  /** What a call says instead of our script; only notices without a code carry it. */
  readonly callerSpeech?: string;
  /** A channel the caller asked for (Okta and Auth0 say sms or voice; Supabase never does). */
  readonly channel?: Channel;
  /** Metadata only the app can write (Supabase `app_metadata`). */
  readonly appMetadata?: Readonly<Record<string, unknown>>;
  /** Metadata the user can write (Supabase `user_metadata`). */
  readonly userMetadata?: Readonly<Record<string, unknown>>;
  /**
   * Languages asked for, first match wins, as sent (`pt-BR`, `EN-US`, `en_US`): the user's
   * choice (Supabase `user_metadata.locale` / `language`), then the caller's locale.
   */
  readonly locales?: readonly unknown[];
  /** Epoch ms by which the caller must have its answer. */
  readonly deadline: number;
  /**
   * Epoch ms until which the request's signature stays valid (its timestamp + the tolerance): a
   * captured copy could be replayed until then, so its dedupe key must live at least that long.
   */
  readonly replayableUntil?: number;
  /**
   * What the caller says about the request, for the delivery's log line: Okta's `requestType`,
   * Auth0's shape and message type. Never a code or a number.
   */
  readonly about?: Readonly<Record<string, string>>;
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
  /** The provider's credentials are wrong (Twilio 20003): every channel on them fails. */
  | "provider_config"
  /** One channel's sender or template is wrong (Twilio 21606, 63007…): others may work. */
  | "channel_config"
  /** The channel refused this message for a reason of its own (a WhatsApp policy, …). */
  | "channel_refused"
  /** No configured channel can reach this number (e.g. a landline, voice not set up). */
  | "no_channel"
  /** The provider failed or could not be reached. */
  | "provider_unavailable"
  /** No answer within the attempt's time. */
  | "timeout"
  /** Too many codes for this number, number block, client IP, or in total (our limits). */
  | "limit_number"
  | "limit_prefix"
  | "limit_ip"
  | "limit_global"
  /** The number's country is not allowed (OTP_ALLOWED_COUNTRIES / OTP_BLOCKED_COUNTRIES). */
  | "country_not_allowed"
  /** The number's type is refused (OTP_BLOCKED_NUMBER_TYPES: premium rate, shared cost). */
  | "number_type_blocked"
  /** The shared store can't be reached and OTP_STORE_ON_FAILURE=closed. */
  | "store_unavailable"
  /** Anything else; a bug or an unexpected answer. */
  | "internal";

/** Whether the message may have left: decides if a retry of the same request may send again. */
export type SentState = "no" | "unknown";

/** One try on one channel. No code, no number: safe to log as it is. */
export type Attempt = {
  readonly channel: Channel;
  readonly provider: string;
  readonly ok: boolean;
  readonly reason?: FailureReason;
  /** The provider's error code (Twilio's), when it gave one. */
  readonly providerCode?: number;
  /** The provider's id of the message or call (Twilio SID). */
  readonly id?: string;
  readonly ms: number;
  /** SMS only: the language, whose words (`built-in` or the owner's variable), the encoding
   * and how many segments it cost. */
  readonly language?: string;
  readonly template?: string;
  readonly encoding?: "GSM-7" | "UCS-2";
  readonly segments?: number;
};

/** How a delivery ended. */
export type Outcome =
  | {
    readonly ok: true;
    readonly channel: Channel;
    readonly provider: string;
    /** The provider's id for the message (Twilio SID). */
    readonly id: string;
    readonly attempts: readonly Attempt[];
  }
  | {
    readonly ok: false;
    readonly reason: FailureReason;
    /** `no` when no attempt may have left: decides if a retry of the request may send. */
    readonly sent: SentState;
    readonly attempts: readonly Attempt[];
    /** Loggable detail of the last failure: provider code and status, never the code or number. */
    readonly detail?: string;
  };

/** A failed outcome. */
export type Failure = Extract<Outcome, { ok: false }>;
