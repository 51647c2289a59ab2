/**
 * Vonage's settings (`VONAGE_*`), for its classic SMS API: the one Supabase Auth's built-in
 * Vonage provider uses, which needs only an API key and secret.
 *
 * @module
 */
import { z } from "zod";
import {
  apiUrl,
  clamp,
  optionalText,
  parseWith,
  type ProviderSettings,
  smsFrom,
} from "../../settings.ts";

/** Where Vonage's SMS API lives unless `VONAGE_API_BASE_URL` says otherwise. */
export const VONAGE_DEFAULT_API_BASE_URL = "https://rest.nexmo.com";

/** `ttl`'s range in the SMS API, in milliseconds (20 s to 7 days). */
export const VONAGE_TTL_MS = { min: 20_000, max: 604_800_000 } as const;

/** Settings of the Vonage provider (SMS only). */
export interface VonageConfig {
  readonly kind: "vonage";
  readonly apiKey: string;
  readonly apiSecret: string;
  /** A number (E.164) or an alphanumeric sender ID. */
  readonly from: string;
  readonly apiBaseUrl: string;
  /** `ttl` in ms, from `OTP_VALIDITY_MINUTES`, clamped to {@linkcode VONAGE_TTL_MS}. */
  readonly ttlMs?: number;
  /** India's DLT registration: `entity-id` and `content-id` (the template). */
  readonly entityId?: string;
  readonly contentId?: string;
}

const dltId = z.string().trim().regex(/^\d{1,30}$/, "must be the numeric DLT id");

const schema = z.object({
  VONAGE_API_KEY: optionalText,
  VONAGE_API_SECRET: optionalText,
  VONAGE_SMS_FROM: smsFrom.optional(),
  VONAGE_API_BASE_URL: apiUrl.optional(),
  VONAGE_ENTITY_ID: dltId.optional(),
  VONAGE_CONTENT_ID: dltId.optional(),
});

/** Vonage's settings. */
export const vonageSettings: ProviderSettings<VonageConfig> = {
  name: "vonage",
  key: "VONAGE_API_KEY",
  variables: Object.keys(schema.shape),
  channels: () => ["sms"],
  parse(env, context, problems) {
    const e = parseWith(schema, env, problems);
    if (!e) return undefined;
    for (const variable of ["VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_SMS_FROM"] as const) {
      if (!e[variable]) problems.push({ variable, message: "is required with vonage" });
    }
    if (!e.VONAGE_API_KEY || !e.VONAGE_API_SECRET || !e.VONAGE_SMS_FROM) return undefined;
    return {
      kind: "vonage",
      apiKey: e.VONAGE_API_KEY,
      apiSecret: e.VONAGE_API_SECRET,
      from: e.VONAGE_SMS_FROM,
      apiBaseUrl: e.VONAGE_API_BASE_URL ?? VONAGE_DEFAULT_API_BASE_URL,
      ...(context.validityMinutes === undefined ? {} : {
        ttlMs: clamp(context.validityMinutes * 60_000, VONAGE_TTL_MS.min, VONAGE_TTL_MS.max),
      }),
      ...(e.VONAGE_ENTITY_ID ? { entityId: e.VONAGE_ENTITY_ID } : {}),
      ...(e.VONAGE_CONTENT_ID ? { contentId: e.VONAGE_CONTENT_ID } : {}),
    };
  },
};
