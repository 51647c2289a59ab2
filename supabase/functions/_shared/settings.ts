/**
 * Building blocks of the configuration shared by `config.ts` and each provider's own settings
 * (`providers/<name>/config.ts`): field schemas, and how a problem names its variable.
 *
 * Every message names what is wrong and never repeats the value: values are secrets more often
 * than not.
 *
 * @module
 */
import { z } from "./zod.ts";
import type { Channel } from "./delivery/types.ts";

/** One problem with one variable. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/** The names of the providers otp-relay ships, as `OTP_PROVIDERS` spells them. */
export const PROVIDER_NAMES = ["twilio", "vonage", "plivo", "telnyx", "http", "console"] as const;

/** One of {@linkcode PROVIDER_NAMES}. */
export type ProviderName = typeof PROVIDER_NAMES[number];

/** What every provider's settings know besides their own variables. */
export interface ProviderContext {
  /** `OTP_PUBLIC_URL`: where delivery reports can reach this function. */
  readonly publicUrl?: string;
  /** `OTP_VALIDITY_MINUTES`: how long a code is valid, for providers that take a validity. */
  readonly validityMinutes?: number;
}

/** A provider's settings: its variables, and how they become its configuration. */
export interface ProviderSettings<C extends { readonly kind: ProviderName }> {
  readonly name: C["kind"];
  /** The variable whose presence means "this provider has settings". */
  readonly key: string;
  /** Every variable of the provider, for the documentation tests. */
  readonly variables: readonly string[];
  /** Parses the provider's variables; problems name the variable. */
  parse(
    env: Readonly<Record<string, string>>,
    context: ProviderContext,
    problems: ConfigProblem[],
  ): C | undefined;
  /** The channels a configuration serves. */
  channels(config: C): readonly Channel[];
}

/** Parses `env` with `schema`, turning each zod issue into a problem naming its variable. */
export function parseWith<T>(
  schema: z.ZodType<T>,
  env: Readonly<Record<string, string>>,
  problems: ConfigProblem[],
): T | undefined {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    problems.push({ variable: String(issue.path[0] ?? "environment"), message: issue.message });
  }
  return undefined;
}

/** An optional text: empty means unset. */
export const optionalText = z.string().trim().transform((v) => v === "" ? undefined : v)
  .optional();

/** E.164 number, or an alphanumeric sender ID (1–11 letters, digits and spaces, one letter). */
export const smsFrom = z.string().trim().refine(
  (v) => /^\+[1-9]\d{6,14}$/.test(v) || (/^[A-Za-z0-9 ]{1,11}$/.test(v) && /[A-Za-z]/.test(v)),
  "must be an E.164 number such as +15551234567 or an alphanumeric sender ID of up to 11 characters",
);

/** True for an alphanumeric sender ID (not a number). */
export function isAlphanumericSender(from: string): boolean {
  return !from.startsWith("+");
}

/** Host names that never leave the machine. */
export const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * An https URL, or http to a loopback host only (credentials travel in every request), without
 * query, fragment or credentials; trailing slashes are dropped.
 */
export const apiUrl = z.string().trim().refine((v) => {
  try {
    const u = new URL(v);
    const secure = u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.test(u.hostname));
    return secure && u.search === "" && u.hash === "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}, "must be an https URL (http only for localhost) without query or fragment")
  .transform((v) => v.replace(/\/+$/, ""));

/** An E.164 number. */
export const e164 = z.string().trim().regex(
  /^\+[1-9]\d{6,14}$/,
  "must be an E.164 number such as +15551234567",
);

/** A whole number of something within `[min, max]`. */
export const wholeNumber = (unit: string, min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, `must be a whole number of ${unit}`).transform(Number).pipe(
    z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );

/** `value` clamped into `[min, max]`. */
export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

const whsecBase64 = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** True for base64 the verifier can decode (whole, correctly padded). */
function decodable(b64: string): boolean {
  try {
    atob(b64);
    return true;
  } catch {
    return false;
  }
}

/** `v1,whsec_a|whsec_b` → `["whsec_a", "whsec_b"]`; Supabase writes the `v1,` prefix. */
export const hookSecrets = z.string({ error: "is required" }).transform((raw, ctx) => {
  const secrets = raw.split("|").map((s) => s.trim()).filter((s) => s !== "")
    .map((s) => s.startsWith("v1,") ? s.slice(3) : s);
  if (secrets.length === 0) {
    ctx.addIssue({ code: "custom", message: "is required" });
    return z.NEVER;
  }
  for (const [i, secret] of secrets.entries()) {
    if (
      !whsecBase64.test(secret) || secret.length < "whsec_".length + 4 ||
      !decodable(secret.slice("whsec_".length))
    ) {
      ctx.addIssue({
        code: "custom",
        message: `secret #${i + 1} must look like v1,whsec_<base64> (several joined with |)`,
      });
      return z.NEVER;
    }
  }
  return secrets;
});
