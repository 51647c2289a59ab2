/**
 * Plivo's settings (`PLIVO_*`): auth ID and token, and a sender number or a Powerpack (number
 * pool).
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

/** Where Plivo's API lives unless `PLIVO_API_BASE_URL` says otherwise. */
export const PLIVO_DEFAULT_API_BASE_URL = "https://api.plivo.com";

/** `message_expiry`'s range, in seconds. */
export const PLIVO_EXPIRY_SECONDS = { min: 5, max: 10_799 } as const;

/** Settings of the Plivo provider (SMS only). */
export interface PlivoConfig {
  readonly kind: "plivo";
  readonly authId: string;
  readonly authToken: string;
  /** Exactly one of a sender (`src`) and a Powerpack (`powerpack_uuid`). */
  readonly sender: { readonly src: string } | { readonly powerpackUuid: string };
  readonly apiBaseUrl: string;
  /** `message_expiry` in seconds, from `OTP_VALIDITY_MINUTES`. */
  readonly expirySeconds?: number;
  /** India's DLT registration. */
  readonly dltEntityId?: string;
  readonly dltTemplateId?: string;
  /**
   * `${OTP_PUBLIC_URL}/plivo/status`, each message's `url` (with `method: "POST"`): where Plivo
   * reports what became of it, signed with the auth token (report.ts).
   */
  readonly statusCallbackUrl?: string;
}

const dltId = z.string().trim().regex(/^\d{1,30}$/, "must be the numeric DLT id");

const schema = z.object({
  PLIVO_AUTH_ID: z.string().trim().regex(/^[A-Z0-9]{20}$/, "must be a 20-character Plivo auth ID")
    .optional(),
  PLIVO_AUTH_TOKEN: optionalText,
  PLIVO_SMS_FROM: smsFrom.optional(),
  PLIVO_POWERPACK_UUID: z.string().trim().regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    "must be a Powerpack UUID",
  ).optional(),
  PLIVO_API_BASE_URL: apiUrl.optional(),
  PLIVO_DLT_ENTITY_ID: dltId.optional(),
  PLIVO_DLT_TEMPLATE_ID: dltId.optional(),
});

/** Plivo's settings. */
export const plivoSettings: ProviderSettings<PlivoConfig> = {
  name: "plivo",
  key: "PLIVO_AUTH_ID",
  variables: Object.keys(schema.shape),
  channels: () => ["sms"],
  parse(env, context, problems) {
    const e = parseWith(schema, env, problems);
    if (!e) return undefined;
    for (const variable of ["PLIVO_AUTH_ID", "PLIVO_AUTH_TOKEN"] as const) {
      if (!e[variable]) problems.push({ variable, message: "is required with plivo" });
    }
    if (e.PLIVO_SMS_FROM && e.PLIVO_POWERPACK_UUID) {
      problems.push({
        variable: "PLIVO_POWERPACK_UUID",
        message: "cannot be set together with PLIVO_SMS_FROM (Plivo takes one sender)",
      });
    } else if (!e.PLIVO_SMS_FROM && !e.PLIVO_POWERPACK_UUID) {
      problems.push({
        variable: "PLIVO_SMS_FROM",
        message: "or PLIVO_POWERPACK_UUID is required with plivo",
      });
    }
    if (!e.PLIVO_AUTH_ID || !e.PLIVO_AUTH_TOKEN) return undefined;
    const sender = e.PLIVO_SMS_FROM && !e.PLIVO_POWERPACK_UUID
      ? { src: e.PLIVO_SMS_FROM.replace(/^\+/, "") }
      : e.PLIVO_POWERPACK_UUID && !e.PLIVO_SMS_FROM
      ? { powerpackUuid: e.PLIVO_POWERPACK_UUID }
      : undefined;
    if (!sender) return undefined;
    const { min, max } = PLIVO_EXPIRY_SECONDS;
    return {
      kind: "plivo",
      authId: e.PLIVO_AUTH_ID,
      authToken: e.PLIVO_AUTH_TOKEN,
      sender,
      apiBaseUrl: e.PLIVO_API_BASE_URL ?? PLIVO_DEFAULT_API_BASE_URL,
      ...(context.validityMinutes === undefined
        ? {}
        : { expirySeconds: clamp(context.validityMinutes * 60, min, max) }),
      ...(e.PLIVO_DLT_ENTITY_ID ? { dltEntityId: e.PLIVO_DLT_ENTITY_ID } : {}),
      ...(e.PLIVO_DLT_TEMPLATE_ID ? { dltTemplateId: e.PLIVO_DLT_TEMPLATE_ID } : {}),
      ...(context.publicUrl ? { statusCallbackUrl: `${context.publicUrl}/plivo/status` } : {}),
    };
  },
};
