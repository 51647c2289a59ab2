/**
 * Vonage's settings (`VONAGE_*`), for its classic SMS API: the one Supabase Auth's built-in
 * Vonage provider uses, which needs only an API key and secret.
 *
 * @module
 */
import { z } from "../../zod.ts";
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

/** The signature methods of Vonage's dashboard that delivery reports are verified with. */
export const VONAGE_SIGNATURE_METHODS = ["sha256", "sha512"] as const;

/** One of {@linkcode VONAGE_SIGNATURE_METHODS}: HMAC-SHA256 or HMAC-SHA512. */
export type VonageSignatureMethod = typeof VONAGE_SIGNATURE_METHODS[number];

/** The longest `callback` Vonage's SMS API takes. */
export const VONAGE_CALLBACK_MAX_LENGTH = 100;

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
  /**
   * `VONAGE_SIGNATURE_SECRET` and `VONAGE_SIGNATURE_METHOD`: what signs the delivery reports
   * (signed webhooks, in the dashboard's API settings).
   */
  readonly signature?: { readonly secret: string; readonly method: VonageSignatureMethod };
  /**
   * `${OTP_PUBLIC_URL}/vonage/status`, each SMS's `callback`: only with a signature secret, since
   * an unsigned report could not be told from a forged one.
   */
  readonly statusCallbackUrl?: string;
}

const dltId = z.string().trim().regex(/^\d{1,30}$/, "must be the numeric DLT id");

const schema = z.object({
  VONAGE_API_KEY: optionalText,
  VONAGE_API_SECRET: optionalText,
  VONAGE_SMS_FROM: smsFrom.optional(),
  VONAGE_API_BASE_URL: apiUrl.optional(),
  VONAGE_ENTITY_ID: dltId.optional(),
  VONAGE_CONTENT_ID: dltId.optional(),
  VONAGE_SIGNATURE_SECRET: optionalText,
  VONAGE_SIGNATURE_METHOD: z.string().trim().toLowerCase().transform((v, ctx) => {
    if (v === "") return undefined;
    if (v === "md5hash" || v === "md5" || v === "sha1") {
      ctx.addIssue({
        code: "custom",
        message: "MD5 and SHA-1 signatures are not accepted (the Edge Runtime's WebCrypto has no " +
          "MD5): choose SHA-256 HMAC or SHA-512 HMAC in the Vonage dashboard and set sha256 or " +
          "sha512",
      });
      return z.NEVER;
    }
    if (v !== "sha256" && v !== "sha512") {
      ctx.addIssue({ code: "custom", message: "must be sha256 or sha512" });
      return z.NEVER;
    }
    return v;
  }).optional(),
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
    const secret = e.VONAGE_SIGNATURE_SECRET;
    if (e.VONAGE_SIGNATURE_METHOD && !secret) {
      problems.push({
        variable: "VONAGE_SIGNATURE_METHOD",
        message: "is set without VONAGE_SIGNATURE_SECRET",
      });
    }
    const callback = secret && context.publicUrl ? `${context.publicUrl}/vonage/status` : undefined;
    if (callback && callback.length > VONAGE_CALLBACK_MAX_LENGTH) {
      problems.push({
        variable: "OTP_PUBLIC_URL",
        message: `is too long for Vonage's delivery reports: with /vonage/status it must fit in ` +
          `${VONAGE_CALLBACK_MAX_LENGTH} characters (or unset VONAGE_SIGNATURE_SECRET)`,
      });
      return undefined;
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
      ...(secret ? { signature: { secret, method: e.VONAGE_SIGNATURE_METHOD ?? "sha256" } } : {}),
      ...(callback ? { statusCallbackUrl: callback } : {}),
    };
  },
};
