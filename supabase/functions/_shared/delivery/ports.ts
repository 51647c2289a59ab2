/**
 * The ports of the core: what delivery needs from the outside world, defined here, in the core.
 * Adapters (providers/, store/) import these and implement them; the core never imports an
 * adapter.
 *
 * - {@linkcode Provider}: something that hands one message to a telephony network.
 * - {@linkcode DedupeStore}, {@linkcode CounterStore}, {@linkcode OptOutStore},
 *   {@linkcode StatusLog}: shared state.
 *
 * @module
 */
import type { PhoneNumber } from "../phone.ts";
import type { VoiceScript } from "./messages.ts";
import type { Channel, FailureReason, Outcome, SentState } from "./types.ts";
import type { LimitScope } from "./limits.ts";

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

/** One rendered message for one channel. Never logged, except by the console provider. */
export type OutboundMessage =
  | {
    readonly channel: "sms";
    readonly to: PhoneNumber;
    readonly body: string;
    /** The code the body carries; absent in a notice. For gateways that want it apart. */
    readonly code?: string;
    /** The body's language (BCP 47), where our templates wrote it. */
    readonly language?: string;
  }
  | {
    readonly channel: "whatsapp";
    readonly to: PhoneNumber;
    /** The code, the one variable of an approved authentication template. */
    readonly code: string;
  }
  | {
    readonly channel: "voice";
    readonly to: PhoneNumber;
    readonly script: VoiceScript;
    /** The code the script reads; absent in a notice. */
    readonly code?: string;
  };

/** What a send needs besides the message. */
export interface SendOptions {
  /** Aborts the call: the provider must settle soon after. */
  readonly signal: AbortSignal;
  /**
   * The same for every retry of one delivery (its dedupe key): providers that can deduplicate
   * (the owner's gateway) derive their idempotency key from it. Never logged.
   */
  readonly deliveryKey?: string;
}

/** What a provider says about one message. */
export type SendResult =
  | { readonly ok: true; readonly id: string }
  | {
    readonly ok: false;
    readonly reason: FailureReason;
    readonly sent: SentState;
    /** Loggable: provider status and error code, no code, number or secret. */
    readonly detail: string;
    /** The provider's own error code, when it gave one (Twilio's 21211, …). */
    readonly providerCode?: number;
  };

/** What a provider's cheap authenticated read (an account or balance resource) said. */
export type ProviderCheck =
  | { readonly ok: true }
  | {
    readonly ok: false;
    /** `credentials`: 401/403; `unreachable`: 5xx, timeout, refused; `unexpected`: anything else. */
    readonly problem: "credentials" | "unreachable" | "unexpected";
    /** The HTTP status, when there was one. */
    readonly status?: number;
  };

/** A telephony provider. */
export interface Provider {
  /**
   * Short name for logs, answers and routing (`twilio`, `vonage`, …, `console`). Channels of one
   * provider share its credentials: when those are wrong, none of its channels is tried again.
   */
  readonly name: string;
  /** Channels this provider is configured for. */
  readonly channels: readonly Channel[];
  /**
   * True when the provider refuses, at send time, an SMS to a number that opted out (Twilio
   * 21610, Telnyx 40300, a gateway's `opted_out`): an accepted send then proves the user has
   * replied START. Vonage and Plivo accept such a send and fail it later in a report, so only
   * a delivered report clears their record.
   */
  readonly refusesOptedOutAtSend?: boolean;
  /** Sends one message; must settle soon after `signal` aborts. Never throws. */
  send(message: OutboundMessage, options: SendOptions): Promise<SendResult>;
  /**
   * Checks the credentials with a cheap authenticated read that sends nothing and costs nothing
   * (`GET /send-sms/health?deep=1`). Absent when the provider has no such read (the owner's
   * gateway, console). Must settle soon after `signal` aborts. Never throws.
   */
  check?(signal: AbortSignal): Promise<ProviderCheck>;
}

/**
 * One status vocabulary across providers (Twilio's words, which the delivery log already uses):
 * `sent` for every state before the last (queued, accepted, buffered, sending, unconfirmed),
 * `delivered`, `undelivered` (the carrier could not deliver, or the message expired), `failed`
 * (the provider could not hand it to a carrier), `read` (WhatsApp).
 */
export type ReportStatus = "sent" | "delivered" | "undelivered" | "failed" | "read";

/** One verified delivery report, in the common vocabulary. */
export interface DeliveryReport {
  /** The provider's id of the message, as its send answer gave it. */
  readonly providerId: string;
  readonly status: ReportStatus;
  /** The provider's own error code, when it gave one. */
  readonly errorCode?: number;
  /** The provider says the recipient has opted out (replied STOP). */
  readonly optedOut: boolean;
  /**
   * The recipient in E.164 (`+` and digits), when the report names it: only hashed, to record an
   * opt-out. Never logged or stored as it is.
   */
  readonly to?: string;
}

/** An inbound request to a delivery-report route, as the reader needs it. */
export interface InboundReport {
  readonly method: string;
  /** The exact public URL the provider was given (`OTP_PUBLIC_URL` + the route). */
  readonly url: string;
  readonly headers: Headers;
  /** The raw body, as received: signatures cover these bytes. */
  readonly body: string;
  /** The query string of the request, without `?` (GET webhooks carry their fields there). */
  readonly query: string;
}

/** What a report reader says about one inbound request. */
export type ReportVerdict =
  | { readonly ok: true; readonly reports: readonly DeliveryReport[] }
  /** 403: no valid signature over the body; 400: signed but not a report we can read. */
  | { readonly ok: false; readonly status: 400 | 403; readonly why: string };

// ---------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------

/** One counter to increment. */
export interface CounterHit {
  readonly scope: LimitScope;
  /** A keyed hash of what is counted; never the number or IP itself. */
  readonly key: string;
  /** Start of the fixed window, ms since the epoch divided by the window. */
  readonly bucket: number;
  readonly windowMs: number;
}

/** Where counters live: memory for one instance, PostgreSQL for all. */
export interface CounterStore {
  /** Increments every counter at once and returns their new counts, in order. */
  hit(hits: readonly CounterHit[]): Promise<number[]>;
  /** Takes back the increments of a refused request (best effort). */
  undo(hits: readonly CounterHit[]): Promise<void>;
}

/** Answer of {@linkcode DedupeStore.claim}. */
export type Claim =
  /** Nobody else is delivering this key: the caller must deliver and then `settle`. */
  | { readonly kind: "first" }
  /**
   * The key was seen: `outcome` resolves with the first delivery's outcome (at once when it is
   * already known).
   */
  | { readonly kind: "duplicate"; readonly outcome: Promise<Outcome> };

/** What the delivery log keeps about a delivery besides its outcome: no code, no full number. */
export interface DeliveryRecord {
  /** `+4474•••••456`. */
  readonly toMasked: string;
  /** The keyed hash the per-number limit counts with; computed only by stores that keep it. */
  readonly toHash?: () => Promise<string>;
  readonly country?: string;
  readonly numberType: string;
  readonly ms: number;
}

/** What a claim is about. */
export interface ClaimOptions {
  /** How long a retry of the same request is answered from this claim. */
  readonly ttlMs: number;
  /** Epoch ms after which the caller stops waiting for another copy's outcome. */
  readonly deadline: number;
  /** The front door, for the log. */
  readonly door: string;
}

/** Remembers deliveries so that a caller's retry never sends a second message. */
export interface DedupeStore {
  /** Claims `key`; see {@linkcode Claim}. May reject when the store is unreachable. */
  claim(key: string, options: ClaimOptions): Promise<Claim>;
  /**
   * Records the outcome of a claimed key and wakes the duplicates waiting for it; `record`
   * completes the delivery log where the store keeps one.
   */
  settle(key: string, outcome: Outcome, record?: DeliveryRecord): Promise<void>;
}

/** The store could not be used and the configuration says to fail closed. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** What health says about the store. */
export interface StoreStatus {
  readonly kind: "memory" | "postgres";
  /** `ok`, or why deliveries run on memory (or fail, in closed mode). */
  readonly state: "ok" | "migration_missing" | "unreachable";
}

/** Where an opt-out was learnt: a provider's answer to a send, or a delivery report. */
export type OptOutSource = "send" | "report";

/**
 * Opt-outs (STOP) as providers reported them. While a number is recorded at a provider, its SMS
 * goes through that provider alone. Numbers are given in E.164; a store keeps only their keyed
 * hash, computed with the key every instance shares (never an isolate's own: a record under
 * another key could never be found again).
 */
export interface OptOutStore {
  /** The providers at which the number is recorded as opted out; empty when none. */
  find(e164: string): Promise<readonly string[]>;
  /** Records (or refreshes) an opt-out at `provider`. */
  record(e164: string, provider: string, source: OptOutSource): Promise<void>;
  /** Clears the record at `provider` (it delivered again), or every record (the owner). */
  clear(e164: string, provider?: string): Promise<void>;
}

/** What became of a delivery after the provider accepted it (status callbacks). */
export interface StatusLog {
  /**
   * Records a provider status (`delivered`, `undelivered` + 30007, …) for the delivery whose
   * message or call has `providerId` at `provider`; a status never replaces a later one.
   * Resolves to whether a delivery was updated.
   */
  recordStatus(
    provider: string,
    providerId: string,
    status: string,
    errorCode: number | undefined,
  ): Promise<boolean>;
}
