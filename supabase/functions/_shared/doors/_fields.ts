/**
 * Field schemas the doors share.
 *
 * @module
 */
import { z } from "../zod.ts";

/**
 * A string the delivery can do without (a locale, an IP, a request type): a wrong type or an
 * absurd length reads as absent instead of refusing the request and losing its code.
 */
export const softText = z.string().max(2000).nullish().catch(undefined);

/** The caller's own words (an SMS text, a notice): bounded, kept even when too long to send. */
export const callerWords = z.string().max(20_000).nullish().catch(undefined);

/** Twilio's limit for one message body. */
export const MAX_SMS_CHARS = 1600;

/** The caller's words when they can be sent as they are: not blank, not over Twilio's limit. */
export function sendable(words: string | null | undefined): string | undefined {
  return words && words.trim() !== "" && words.length <= MAX_SMS_CHARS ? words : undefined;
}

/** A value for the delivery log line, cut to a sane length. */
export function loggable(value: string | null | undefined): string {
  return value ? value.slice(0, 100) : "unknown";
}
