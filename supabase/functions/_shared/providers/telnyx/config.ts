/**
 * Telnyx's settings (`TELNYX_*`): an API key, and a sender number or a messaging profile (an
 * alphanumeric sender needs both).
 *
 * @module
 */
import { z } from "../../zod.ts";
import {
  apiUrl,
  isAlphanumericSender,
  optionalText,
  parseWith,
  type ProviderSettings,
  smsFrom,
} from "../../settings.ts";

/** Where Telnyx's API lives unless `TELNYX_API_BASE_URL` says otherwise. */
export const TELNYX_DEFAULT_API_BASE_URL = "https://api.telnyx.com";

/** Settings of the Telnyx provider (SMS only). Telnyx takes no per-message validity. */
export interface TelnyxConfig {
  readonly kind: "telnyx";
  readonly apiKey: string;
  readonly from?: string;
  readonly messagingProfileId?: string;
  readonly apiBaseUrl: string;
  /**
   * `TELNYX_PUBLIC_KEY`: the account's Ed25519 public key (base64 of its 32 raw bytes), which
   * verifies the signature of each webhook.
   */
  readonly publicKey?: string;
  /**
   * `${OTP_PUBLIC_URL}/telnyx/status`, each message's `webhook_url`: only with a public key, since
   * an unsigned report could not be told from a forged one.
   */
  readonly statusCallbackUrl?: string;
}

/** The raw length of an Ed25519 public key. */
const ED25519_PUBLIC_KEY_BYTES = 32;

/** True when `text` is standard base64 of exactly 32 bytes. */
function isEd25519PublicKey(text: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return false;
  try {
    return atob(text).length === ED25519_PUBLIC_KEY_BYTES;
  } catch {
    return false;
  }
}

const schema = z.object({
  TELNYX_API_KEY: optionalText,
  TELNYX_SMS_FROM: smsFrom.optional(),
  TELNYX_MESSAGING_PROFILE_ID: z.string().trim().regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    "must be a messaging profile UUID",
  ).optional(),
  TELNYX_API_BASE_URL: apiUrl.optional(),
  TELNYX_PUBLIC_KEY: optionalText.refine(
    (v) => v === undefined || isEd25519PublicKey(v),
    "must be the public key from the Telnyx portal (Keys & Credentials > Public Key): base64 of " +
      "32 bytes",
  ),
});

/** Telnyx's settings. */
export const telnyxSettings: ProviderSettings<TelnyxConfig> = {
  name: "telnyx",
  key: "TELNYX_API_KEY",
  variables: Object.keys(schema.shape),
  channels: () => ["sms"],
  parse(env, context, problems) {
    const e = parseWith(schema, env, problems);
    if (!e) return undefined;
    const before = problems.length;
    if (!e.TELNYX_API_KEY) {
      problems.push({ variable: "TELNYX_API_KEY", message: "is required with telnyx" });
    }
    const from = e.TELNYX_SMS_FROM;
    const profile = e.TELNYX_MESSAGING_PROFILE_ID;
    if (!from && !profile) {
      problems.push({
        variable: "TELNYX_SMS_FROM",
        message: "or TELNYX_MESSAGING_PROFILE_ID is required with telnyx",
      });
    } else if (from && isAlphanumericSender(from) && !profile) {
      problems.push({
        variable: "TELNYX_MESSAGING_PROFILE_ID",
        message: "is required with an alphanumeric TELNYX_SMS_FROM",
      });
    }
    if (!e.TELNYX_API_KEY || problems.length > before) return undefined;
    return {
      kind: "telnyx",
      apiKey: e.TELNYX_API_KEY,
      ...(from ? { from } : {}),
      ...(profile ? { messagingProfileId: profile } : {}),
      apiBaseUrl: e.TELNYX_API_BASE_URL ?? TELNYX_DEFAULT_API_BASE_URL,
      ...(e.TELNYX_PUBLIC_KEY ? { publicKey: e.TELNYX_PUBLIC_KEY } : {}),
      ...(e.TELNYX_PUBLIC_KEY && context.publicUrl
        ? { statusCallbackUrl: `${context.publicUrl}/telnyx/status` }
        : {}),
    };
  },
};
