/**
 * Configuration: the environment is parsed once, at start, by one zod schema and passed down.
 *
 * Every error names the variable it is about and never repeats its value, because values are
 * secrets more often than not.
 *
 * @module
 */
import { z } from "zod";

/** Log levels in increasing order of severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Where Twilio's REST API lives unless `TWILIO_API_BASE_URL` says otherwise. */
export const TWILIO_DEFAULT_API_BASE_URL = "https://api.twilio.com";

/** How a Twilio SMS names its sender: a Messaging Service, or a number / alphanumeric ID. */
export type TwilioSmsSender =
  | { readonly messagingServiceSid: string }
  | { readonly from: string };

/** Settings of the Twilio provider. */
export interface TwilioConfig {
  readonly kind: "twilio";
  readonly accountSid: string;
  readonly authToken: string;
  readonly sms: TwilioSmsSender;
  readonly apiBaseUrl: string;
}

/** Settings of the console provider, which prints deliveries instead of sending them. */
export interface ConsoleConfig {
  readonly kind: "console";
}

/** The provider chosen by `OTP_PROVIDER`. */
export type ProviderConfig = TwilioConfig | ConsoleConfig;

/** The whole, validated configuration. */
export interface Config {
  /** Standard Webhooks secrets for the Supabase door, `whsec_` form, newest first. */
  readonly supabaseHookSecrets: readonly string[];
  readonly provider: ProviderConfig;
  /** Upper bound of one provider call. */
  readonly attemptTimeoutMs: number;
  /** A delivery ends, and the Supabase door answers, within this many ms of the request. */
  readonly deadlineMs: number;
  /** How long a delivered request is remembered to suppress retries of it. */
  readonly dedupeTtlMs: number;
  /** Upper bound of entries in each in-memory store. */
  readonly memoryMaxEntries: number;
  /** Name of the app in messages, when set. */
  readonly appName: string | undefined;
  readonly logLevel: LogLevel;
  /** True on Supabase's hosted runtime (`SB_REGION` or `DENO_DEPLOYMENT_ID` set). */
  readonly deployed: boolean;
}

/** One problem with one variable. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * The environment cannot be turned into a configuration. `message` lists every problem as
 * `VARIABLE: what is wrong`; values are never included.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join("; ")}`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const optionalText = z.string().trim().transform((v) => v === "" ? undefined : v).optional();

const positiveMs = (fallback: number, max: number, min = 1) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number of milliseconds").transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);

const whsecBase64 = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** `v1,whsec_a|whsec_b` → `["whsec_a", "whsec_b"]`; Supabase writes the `v1,` prefix. */
const hookSecrets = z.string({ error: "is required" }).transform((raw, ctx) => {
  const secrets = raw.split("|").map((s) => s.trim()).filter((s) => s !== "")
    .map((s) => s.startsWith("v1,") ? s.slice(3) : s);
  if (secrets.length === 0) {
    ctx.addIssue({ code: "custom", message: "is required" });
    return z.NEVER;
  }
  for (const [i, secret] of secrets.entries()) {
    if (!whsecBase64.test(secret) || secret.length < "whsec_".length + 4) {
      ctx.addIssue({
        code: "custom",
        message: `secret #${i + 1} must look like v1,whsec_<base64> (several joined with |)`,
      });
      return z.NEVER;
    }
  }
  return secrets;
});

const sid = (prefix: string) =>
  z.string().trim().regex(
    new RegExp(`^${prefix}[0-9a-fA-F]{32}$`),
    `must be ${prefix} followed by 32 hex digits`,
  );

/** E.164 number, or an alphanumeric sender ID (1–11 letters, digits and spaces, one letter). */
const smsFrom = z.string().trim().refine(
  (v) => /^\+[1-9]\d{6,14}$/.test(v) || (/^[A-Za-z0-9 ]{1,11}$/.test(v) && /[A-Za-z]/.test(v)),
  "must be an E.164 number such as +15551234567 or an alphanumeric sender ID of up to 11 characters",
);

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** An https URL, or http to a loopback host only (credentials travel in every request). */
const apiUrl = z.string().trim().refine((v) => {
  try {
    const u = new URL(v);
    const secure = u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.test(u.hostname));
    return secure && u.search === "" && u.hash === "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}, "must be an https URL (http only for localhost) without query or fragment")
  .transform((v) => v.replace(/\/+$/, ""));

const schema = z.object({
  SEND_SMS_HOOK_SECRETS: hookSecrets,
  OTP_PROVIDER: z.enum(["twilio", "console"], {
    error: "must be twilio or console",
  }).optional(),
  TWILIO_ACCOUNT_SID: sid("AC").optional(),
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_MESSAGING_SERVICE_SID: sid("MG").optional(),
  TWILIO_SMS_FROM: smsFrom.optional(),
  TWILIO_API_BASE_URL: apiUrl.optional(),
  OTP_ATTEMPT_TIMEOUT_MS: positiveMs(1500, 10_000),
  OTP_DEADLINE_MS: positiveMs(4000, 4500),
  // Auth's retries all come within 5 s; a shorter memory would defeat the dedupe.
  OTP_DEDUPE_TTL_MS: positiveMs(600_000, 86_400_000, 10_000),
  OTP_MEMORY_MAX_ENTRIES: z.string().trim().regex(/^\d+$/, "must be a whole number")
    .transform(Number).pipe(z.number().int().min(100, "must be at least 100")).default(10_000),
  OTP_APP_NAME: optionalText.pipe(
    z.string().max(40, "must be at most 40 characters").optional(),
  ),
  OTP_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` })
    .default("info"),
});

/** Reads a map of environment variables (`Deno.env.toObject()`); throws {@linkcode ConfigError}. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings are how `.env` files and dashboards say "unset".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? "environment"),
      message: issue.message,
    })));
  }
  const e = parsed.data;
  const deployed = Boolean(present.SB_REGION || present.DENO_DEPLOYMENT_ID);
  const problems: ConfigProblem[] = [];

  let provider: ProviderConfig | undefined;
  // An explicit OTP_PROVIDER always wins. Unset, Twilio settings imply Twilio; the console
  // provider is never chosen silently (only `deno task start` sets it as its default).
  const kind = e.OTP_PROVIDER ?? (e.TWILIO_ACCOUNT_SID ? "twilio" : undefined);
  if (kind === "console") {
    provider = { kind: "console" };
  } else if (kind === "twilio") {
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
    if (!sms) {
      problems.push({
        variable: "TWILIO_MESSAGING_SERVICE_SID",
        message: "or TWILIO_SMS_FROM is required with twilio",
      });
    }
    if (e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN && sms) {
      provider = {
        kind: "twilio",
        accountSid: e.TWILIO_ACCOUNT_SID,
        authToken: e.TWILIO_AUTH_TOKEN,
        sms,
        apiBaseUrl: e.TWILIO_API_BASE_URL ?? TWILIO_DEFAULT_API_BASE_URL,
      };
    }
  } else {
    problems.push({
      variable: "OTP_PROVIDER",
      message: "is not set: set it to twilio (with the TWILIO_* settings) or console",
    });
  }
  if (problems.length > 0 || !provider) throw new ConfigError(problems);

  return {
    supabaseHookSecrets: e.SEND_SMS_HOOK_SECRETS,
    provider,
    attemptTimeoutMs: e.OTP_ATTEMPT_TIMEOUT_MS,
    deadlineMs: e.OTP_DEADLINE_MS,
    dedupeTtlMs: e.OTP_DEDUPE_TTL_MS,
    memoryMaxEntries: e.OTP_MEMORY_MAX_ENTRIES,
    appName: e.OTP_APP_NAME,
    logLevel: e.OTP_LOG_LEVEL,
    deployed,
  };
}
