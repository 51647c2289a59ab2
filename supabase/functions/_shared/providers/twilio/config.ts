/**
 * Twilio's settings (`TWILIO_*`): credentials, one sender per channel, regional processing.
 * A channel is available when its settings are present.
 *
 * @module
 */
import { z } from "../../zod.ts";
import type { Channel } from "../../delivery/types.ts";
import {
  apiUrl,
  clamp,
  type ConfigProblem,
  e164,
  optionalText,
  parseWith,
  type ProviderSettings,
  smsFrom,
} from "../../settings.ts";

/** Where Twilio's REST API lives unless `TWILIO_API_BASE_URL` says otherwise. */
export const TWILIO_DEFAULT_API_BASE_URL = "https://api.twilio.com";

/** How a Twilio SMS names its sender: a Messaging Service, or a number / alphanumeric ID. */
export type TwilioSmsSender =
  | { readonly messagingServiceSid: string }
  | { readonly from: string };

/** WhatsApp through Twilio: a sender and an approved authentication template. */
export interface TwilioWhatsAppConfig {
  /** `whatsapp:+E164`. */
  readonly from: string;
  /** `HX…`: the Content API template carrying the code as its one variable. */
  readonly contentSid: string;
}

/** Settings of the Twilio provider; a channel is available when its settings are present. */
export interface TwilioConfig {
  readonly kind: "twilio";
  readonly accountSid: string;
  readonly authToken: string;
  readonly apiBaseUrl: string;
  /** `TWILIO_REGION` / `TWILIO_EDGE`: Twilio's regional processing (e.g. `ie1`, `dublin`). */
  readonly region?: string;
  readonly edge?: string;
  readonly sms?: TwilioSmsSender;
  readonly whatsapp?: TwilioWhatsAppConfig;
  /** Caller ID of voice calls (E.164). */
  readonly voice?: { readonly from: string };
  /** `${OTP_PUBLIC_URL}/twilio/status`: where Twilio reports what became of each message. */
  readonly statusCallbackUrl?: string;
  /**
   * `ValidityPeriod` of messages, in seconds (1–36000): a message still queued at Twilio after
   * the code expired is dropped instead of delivered late. From `OTP_VALIDITY_MINUTES`.
   */
  readonly validitySeconds?: number;
}

/** `ValidityPeriod`'s range in Twilio's Messages API. */
export const TWILIO_VALIDITY_SECONDS = { min: 1, max: 36_000 } as const;

const sid = (prefix: string) =>
  z.string().trim().regex(
    new RegExp(`^${prefix}[0-9a-fA-F]{32}$`),
    `must be ${prefix} followed by 32 hex digits`,
  );

const schema = z.object({
  TWILIO_ACCOUNT_SID: sid("AC").optional(),
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_MESSAGING_SERVICE_SID: sid("MG").optional(),
  TWILIO_SMS_FROM: smsFrom.optional(),
  TWILIO_API_BASE_URL: apiUrl.optional(),
  // The twilio SDK's own variables for regional processing; a client built from parts does not
  // read process.env, so they are parsed here.
  TWILIO_REGION: z.string().trim().regex(/^[a-z0-9]{2,10}$/, "must be a Twilio region, e.g. ie1")
    .optional(),
  TWILIO_EDGE: z.string().trim().regex(/^[a-z0-9-]{2,20}$/, "must be a Twilio edge, e.g. dublin")
    .optional(),
  TWILIO_WHATSAPP_FROM: z.string().trim().transform((v) => v.replace(/^whatsapp:/i, ""))
    .pipe(e164).optional(),
  TWILIO_WHATSAPP_CONTENT_SID: sid("HX").optional(),
  TWILIO_VOICE_FROM: e164.optional(),
});

/** The channels a Twilio configuration has settings for. */
export function twilioChannels(config: TwilioConfig): Channel[] {
  const channels: Channel[] = [];
  if (config.sms) channels.push("sms");
  if (config.whatsapp) channels.push("whatsapp");
  if (config.voice) channels.push("voice");
  return channels;
}

/** Twilio's settings. */
export const twilioSettings: ProviderSettings<TwilioConfig> = {
  name: "twilio",
  key: "TWILIO_ACCOUNT_SID",
  variables: Object.keys(schema.shape),
  channels: twilioChannels,
  parse(env, context, problems: ConfigProblem[]) {
    const e = parseWith(schema, env, problems);
    if (!e) return undefined;
    if (!e.TWILIO_ACCOUNT_SID) {
      problems.push({ variable: "TWILIO_ACCOUNT_SID", message: "is required with twilio" });
    }
    if (!e.TWILIO_AUTH_TOKEN) {
      problems.push({ variable: "TWILIO_AUTH_TOKEN", message: "is required with twilio" });
    }
    const sms: TwilioSmsSender | undefined = e.TWILIO_MESSAGING_SERVICE_SID
      ? { messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID }
      : e.TWILIO_SMS_FROM
      ? { from: e.TWILIO_SMS_FROM }
      : undefined;
    // WhatsApp needs an approved template: a free-form body fails outside a 24-hour session.
    // A sender without a template leaves the channel off (see `configWarnings`).
    if (e.TWILIO_WHATSAPP_CONTENT_SID && !e.TWILIO_WHATSAPP_FROM) {
      problems.push({
        variable: "TWILIO_WHATSAPP_FROM",
        message: "is required with TWILIO_WHATSAPP_CONTENT_SID",
      });
    }
    const whatsapp = e.TWILIO_WHATSAPP_FROM && e.TWILIO_WHATSAPP_CONTENT_SID
      ? { from: `whatsapp:${e.TWILIO_WHATSAPP_FROM}`, contentSid: e.TWILIO_WHATSAPP_CONTENT_SID }
      : undefined;
    const voice = e.TWILIO_VOICE_FROM ? { from: e.TWILIO_VOICE_FROM } : undefined;
    if (!sms && !whatsapp && !voice) {
      problems.push({
        variable: "TWILIO_MESSAGING_SERVICE_SID",
        message: "or TWILIO_SMS_FROM is required with twilio (or a WhatsApp or voice sender)",
      });
    }
    if (!e.TWILIO_ACCOUNT_SID || !e.TWILIO_AUTH_TOKEN || !(sms || whatsapp || voice)) {
      return undefined;
    }
    const { min, max } = TWILIO_VALIDITY_SECONDS;
    return {
      kind: "twilio",
      accountSid: e.TWILIO_ACCOUNT_SID,
      authToken: e.TWILIO_AUTH_TOKEN,
      apiBaseUrl: e.TWILIO_API_BASE_URL ?? TWILIO_DEFAULT_API_BASE_URL,
      ...(e.TWILIO_REGION ? { region: e.TWILIO_REGION } : {}),
      ...(e.TWILIO_EDGE ? { edge: e.TWILIO_EDGE } : {}),
      ...(sms ? { sms } : {}),
      ...(whatsapp ? { whatsapp } : {}),
      ...(voice ? { voice } : {}),
      ...(context.publicUrl ? { statusCallbackUrl: `${context.publicUrl}/twilio/status` } : {}),
      ...(context.validityMinutes === undefined ? {} : {
        validitySeconds: clamp(context.validityMinutes * 60, min, max),
      }),
    };
  },
};
