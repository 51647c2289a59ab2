/**
 * The provider port: something that hands one message to a telephony network.
 *
 * @module
 */
import type { Channel, FailureReason, SentState } from "../delivery/types.ts";
import type { PhoneNumber } from "../phone.ts";

/** One rendered message for one channel. */
export interface OutboundMessage {
  readonly channel: Channel;
  readonly to: PhoneNumber;
  /** The text, code included. Never logged by providers other than the console one. */
  readonly body: string;
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
  };

/** A telephony provider. */
export interface Provider {
  /** Short name for logs and answers (`twilio`, `console`). */
  readonly name: string;
  /** Channels this provider is configured for. */
  readonly channels: readonly Channel[];
  /** Sends one message; must settle soon after `signal` aborts. Never throws. */
  send(message: OutboundMessage, options: { signal: AbortSignal }): Promise<SendResult>;
}
