/**
 * The provider port: something that hands one message to a telephony network.
 *
 * @module
 */
import type { VoiceScript } from "../delivery/messages.ts";
import type { Channel, FailureReason, SentState } from "../delivery/types.ts";
import type { PhoneNumber } from "../phone.ts";

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

/** A telephony provider. */
export interface Provider {
  /**
   * Short name for logs, answers and routing (`twilio`, `vonage`, …, `console`). Channels of one
   * provider share its credentials: when those are wrong, none of its channels is tried again.
   */
  readonly name: string;
  /** Channels this provider is configured for. */
  readonly channels: readonly Channel[];
  /** Sends one message; must settle soon after `signal` aborts. Never throws. */
  send(message: OutboundMessage, options: SendOptions): Promise<SendResult>;
}
