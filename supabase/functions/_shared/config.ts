/**
 * Configuration: the environment is parsed once, at start, by one zod schema and passed down.
 *
 * Every error names the variable it is about and never repeats its value, because values are
 * secrets more often than not.
 *
 * @module
 */
import type { ProviderRouting as Routing, ProviderRule as Rule } from "./delivery/policy.ts";
import { z } from "./zod.ts";
import { type LimitsConfig, LINE_TYPES, parseRateLimit } from "./delivery/limits.ts";
import type { MessageSettings } from "./delivery/messages.ts";
import { PLACEHOLDERS, placeholdersOf } from "./delivery/templates.ts";
import type { Channel } from "./delivery/types.ts";
import {
  type ChannelPolicy,
  parseChannelList,
  parseChannelRules,
  parseCountryRules,
} from "./delivery/policy.ts";
import { httpProviderSettings } from "./providers/http/config.ts";
import type { HttpProviderConfig } from "./providers/http/config.ts";
import { plivoSettings } from "./providers/plivo/config.ts";
import type { PlivoConfig } from "./providers/plivo/config.ts";
import { telnyxSettings } from "./providers/telnyx/config.ts";
import type { TelnyxConfig } from "./providers/telnyx/config.ts";
import { twilioSettings } from "./providers/twilio/config.ts";
import type { TwilioConfig } from "./providers/twilio/config.ts";
import { vonageSettings } from "./providers/vonage/config.ts";
import type { VonageConfig } from "./providers/vonage/config.ts";
import {
  apiUrl,
  type ConfigProblem,
  hookSecrets,
  optionalText,
  PROVIDER_NAMES,
  type ProviderName,
  type ProviderSettings,
} from "./settings.ts";

export type { ConfigProblem, ProviderName };

/** Log levels in increasing order of severity. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Settings of the console provider, which prints deliveries instead of sending them. */
export interface ConsoleConfig {
  readonly kind: "console";
}

/** One provider's settings. */
export type ProviderConfig =
  | TwilioConfig
  | VonageConfig
  | PlivoConfig
  | TelnyxConfig
  | HttpProviderConfig
  | ConsoleConfig;

/** A per-country provider order (`OTP_PROVIDER_RULES`). */
export type ProviderRule = Rule<ProviderName>;

/** Which providers a delivery tries, in which order. */
export type ProviderRouting = Routing<ProviderName>;

/** Where shared state lives. */
export type StoreConfig =
  | { readonly kind: "memory" }
  | {
    readonly kind: "postgres";
    /** A secret: never logged. */
    readonly url: string;
    /** `OTP_STORE_ON_FAILURE`. */
    readonly onFailure: "open" | "closed";
    /** `OTP_DB_TIMEOUT_MS`: upper bound of one query. */
    readonly timeoutMs: number;
  };

/** The Okta telephony inline hook door, when `OKTA_HOOK_AUTH_SECRET` is set. */
export interface OktaConfig {
  /** Lower-case header name Okta sends the secret in. */
  readonly authHeader: string;
  readonly authSecret: string;
  readonly deadlineMs: number;
}

/** The Auth0 door, when `AUTH0_HOOK_SECRETS` is set. */
export interface Auth0Config {
  /** Standard Webhooks secrets the shipped Auth0 code signs with, `whsec_` form, newest first. */
  readonly secrets: readonly string[];
  readonly deadlineMs: number;
}

/** The whole, validated configuration. */
export interface Config {
  readonly okta: OktaConfig | undefined;
  readonly auth0: Auth0Config | undefined;
  /**
   * `OTP_USE_CALLER_TEXT`: send the caller's SMS text (Okta's `msgTemplate`, Auth0's `text`)
   * instead of ours.
   */
  readonly useCallerText: boolean;
  /** The shared store: PostgreSQL when a database URL is set. */
  readonly store: StoreConfig;
  /** Abuse limits and refusals. */
  readonly limits: LimitsConfig;
  /** `OTP_HASH_KEY`: overrides the hash key the migration generated. */
  readonly hashKey: string | undefined;
  /** `OTP_LOG_RETENTION_DAYS`: deliveries older than this are purged. */
  readonly logRetentionDays: number;
  /**
   * Standard Webhooks secrets for the Supabase door, `whsec_` form, newest first; unset, the door
   * is closed (an Okta- or Auth0-only deployment).
   */
  readonly supabaseHookSecrets: readonly string[] | undefined;
  /** Every provider a delivery may use (named by the order or a rule), each once. */
  readonly providers: readonly ProviderConfig[];
  readonly routing: ProviderRouting;
  /** Which channels to try in which order. */
  readonly policy: ChannelPolicy;
  /** Upper bound of one provider call. */
  readonly attemptTimeoutMs: number;
  /**
   * `OTP_PROVIDER_BENCH_AFTER` consecutive failures bench a provider for `OTP_PROVIDER_BENCH_MS`
   * (per isolate; see delivery/bench.ts).
   */
  readonly bench: { readonly after: number; readonly ms: number };
  /** `OTP_HEALTH_TOKEN`: opens `GET /health?deep=1`; unset, deep health is closed. */
  readonly healthToken: string | undefined;
  /** A delivery ends, and the Supabase door answers, within this many ms of the request. */
  readonly deadlineMs: number;
  /** How long a delivered request is remembered to suppress retries of it. */
  readonly dedupeTtlMs: number;
  /** Upper bound of entries in each in-memory store. */
  readonly memoryMaxEntries: number;
  /** Words and autofill of the messages. */
  readonly messages: MessageSettings;
  readonly logLevel: LogLevel;
  /** True on Supabase's hosted runtime (`SB_REGION` or `DENO_DEPLOYMENT_ID` set). */
  readonly deployed: boolean;
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

const positiveMs = (fallback: number, max: number, min = 1) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number of milliseconds").transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .default(fallback);

/** A PostgreSQL URL; the message never repeats it (it carries the password). */
const dbUrl = z.string().trim().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === "postgres:" || u.protocol === "postgresql:") && u.hostname !== "";
  } catch {
    return false;
  }
}, "must be a postgres:// or postgresql:// URL");

const rateLimit = (fallback: string) =>
  z.string().default(fallback).transform((text, ctx) => {
    try {
      return parseRateLimit(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

const countryList = z.string().transform((text, ctx) => {
  const codes = text.split(",").map((c) => c.trim().toUpperCase()).filter((c) => c !== "");
  if (codes.some((c) => !/^[A-Z]{2}$/.test(c))) {
    ctx.addIssue({ code: "custom", message: "must be ISO 3166-1 codes such as US,GB" });
    return z.NEVER;
  }
  return codes;
});

/** Wraps a parser that throws `Error`s into a zod transform. */
const parsedWith = <T>(parse: (text: string) => T) =>
  z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

const schema = z.object({
  SEND_SMS_HOOK_SECRETS: hookSecrets.optional(),
  OTP_PROVIDER: z.enum(PROVIDER_NAMES, {
    error: `must be one of ${PROVIDER_NAMES.join(", ")}`,
  }).optional(),
  OTP_PROVIDERS: parsedWith(parseProviderList).optional(),
  OTP_PROVIDER_RULES: parsedWith(parseProviderRules).default([]),
  OTP_CHANNELS: parsedWith(parseChannelList).default(["sms"]),
  OTP_CHANNEL_RULES: parsedWith(parseChannelRules).default([]),
  OTP_CHANNEL_METADATA_KEY: z.string().trim().regex(
    /^[A-Za-z0-9_.-]{1,64}$/,
    "must be 1 to 64 letters, digits, _ . or -",
  ).default("otp_channel"),
  OTP_USER_CHANNELS: z.string().transform((text, ctx) => {
    // Empty is a valid answer here: users may choose no channel at all.
    if (text.trim().toLowerCase() === "none") return [];
    try {
      return parseChannelList(text);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `${(err as Error).message}, or none` });
      return z.NEVER;
    }
  }).default(["sms", "whatsapp"]),
  OTP_ATTEMPT_TIMEOUT_MS: positiveMs(1500, 10_000),
  OTP_PROVIDER_BENCH_AFTER: z.string().trim().regex(/^\d+$/, "must be a whole number")
    .transform(Number).pipe(
      z.number().int().min(1, "must be at least 1").max(100, "must be at most 100"),
    ).default(3),
  // Under a second a bench would end before the next request; over an hour it outlives isolates.
  OTP_PROVIDER_BENCH_MS: positiveMs(30_000, 3_600_000, 1000),
  // A bearer token: long enough that guessing it is hopeless.
  OTP_HEALTH_TOKEN: optionalText.pipe(
    z.string().min(32, "must be at least 32 characters (openssl rand -hex 32)").regex(
      /^[\x21-\x7e]+$/,
      "must be printable ASCII without spaces",
    ).optional(),
  ),
  // Below 500 ms no provider call could finish: every code would fail.
  OTP_DEADLINE_MS: positiveMs(4000, 4500, 500),
  // Auth's retries all come within 5 s; a shorter memory would defeat the dedupe.
  OTP_DEDUPE_TTL_MS: positiveMs(600_000, 86_400_000, 10_000),
  OTP_MEMORY_MAX_ENTRIES: z.string().trim().regex(/^\d+$/, "must be a whole number")
    .transform(Number).pipe(z.number().int().min(100, "must be at least 100")).default(10_000),
  OTP_APP_NAME: optionalText.transform((v) => v?.normalize("NFC")).pipe(
    z.string().max(40, "must be at most 40 characters").optional(),
  ),
  OTP_VALIDITY_MINUTES: z.string().trim().regex(/^\d+$/, "must be a whole number of minutes")
    .transform(Number).pipe(
      z.number().int().min(1, "must be at least 1").max(
        1440,
        "must be at most 1440",
      ),
    ).optional(),
  // Android SMS Retriever: the 11-character hash of the app's package and signing key.
  OTP_ANDROID_APP_HASH: z.string().trim().regex(
    /^[A-Za-z0-9+/]{11}$/,
    "must be the 11-character SMS Retriever app hash",
  ).optional(),
  // WebOTP: the origin's host; the message ends with "@host #code".
  OTP_WEBOTP_DOMAIN: z.string().trim().toLowerCase().regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
    "must be a host name such as example.com (no scheme, no path)",
  ).optional(),
  OTP_LIMIT_PER_NUMBER: rateLimit("5/15m"),
  OTP_LIMIT_PER_PREFIX: rateLimit("20/10m"),
  OTP_LIMIT_PER_IP: rateLimit("off"),
  OTP_LIMIT_GLOBAL: rateLimit("off"),
  OTP_ALLOWED_COUNTRIES: countryList.optional(),
  OTP_BLOCKED_COUNTRIES: countryList.default([]),
  OTP_BLOCKED_NUMBER_TYPES: z.string().default("PREMIUM_RATE,SHARED_COST").transform(
    (text, ctx) => {
      if (text.trim().toLowerCase() === "none") return [];
      const types = text.split(",").map((t) => t.trim().toUpperCase()).filter((t) => t !== "");
      const unknown = types.filter((t) => !(LINE_TYPES as readonly string[]).includes(t));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `must be none or libphonenumber types (${LINE_TYPES.join(", ")})`,
        });
        return z.NEVER;
      }
      return types;
    },
  ),
  OTP_PUBLIC_URL: apiUrl.optional(),
  OKTA_HOOK_AUTH_HEADER: z.string().trim().regex(
    /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/,
    "must be an HTTP header name",
  ).default("Authorization"),
  // Printable ASCII: HTTP hands header values over as Latin-1 bytes, so a secret with other
  // characters could never match (found in review).
  OKTA_HOOK_AUTH_SECRET: z.string().trim().min(16, "must be at least 16 characters")
    .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, "must be printable ASCII")
    .optional(),
  // Okta waits 3 s for the whole call.
  OKTA_DEADLINE_MS: positiveMs(2500, 2900, 500),
  AUTH0_HOOK_SECRETS: hookSecrets.optional(),
  // Auth0 Actions may run 20 s; the shipped relay gives up after 10 s by default: answer 1 s
  // before it, so that a slow delivery is reported rather than left "may have been sent".
  AUTH0_DEADLINE_MS: positiveMs(8000, 9000, 1000),
  OTP_USE_CALLER_TEXT: z.enum(["true", "false"], { error: "must be true or false" })
    .default("false").transform((v) => v === "true"),
  OTP_LOG_RETENTION_DAYS: z.string().trim().regex(/^\d+$/, "must be a whole number of days")
    .transform(Number).pipe(
      z.number().int().min(1, "must be at least 1").max(3650, "must be at most 3650"),
    )
    .default(30),
  OTP_HASH_KEY: z.string().trim().min(16, "must be at least 16 characters").optional(),
  DATABASE_URL: dbUrl.optional(),
  SUPABASE_DB_URL: dbUrl.optional(),
  OTP_STORE_ON_FAILURE: z.enum(["open", "closed"], { error: "must be open or closed" })
    .default("open"),
  // At most 1500 ms: a database that never answers costs a request one timeout (the circuit
  // breaker then skips it), which must leave time for the provider within OTP_DEADLINE_MS.
  OTP_DB_TIMEOUT_MS: positiveMs(800, 1500, 50),
  OTP_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` })
    .default("info"),
});

const TEMPLATE_VARIABLE = /^OTP_SMS_TEMPLATE(_.*)?$/;
/** A language subtag, optionally with a region: `PT`, `PT_BR`, `ES_419`. */
const TEMPLATE_SUFFIX = /^[A-Z]{2,3}(?:_(?:[A-Z]{2}|\d{3}))?$/;

/**
 * Collects `OTP_SMS_TEMPLATE` and `OTP_SMS_TEMPLATE_<LANG>` by suffix, checking each: a known
 * language suffix, `{code}` present, only known placeholders, and the setting behind `{app}` and
 * `{minutes}` present.
 */
function smsTemplatesFrom(
  env: Readonly<Record<string, string | undefined>>,
  available: { app: boolean; minutes: boolean },
  problems: ConfigProblem[],
): Record<string, string> {
  const templates: Record<string, string> = {};
  for (const [variable, raw] of Object.entries(env)) {
    const match = variable.match(TEMPLATE_VARIABLE);
    if (!match || raw === undefined) continue;
    const suffix = match[1]?.slice(1) ?? "";
    // NFC: an é typed as e + combining accent would make the whole SMS UCS-2.
    const template = raw.replaceAll("\\n", "\n").trim().normalize("NFC");
    const problem = (message: string) => problems.push({ variable, message });
    if (match[1] !== undefined && !TEMPLATE_SUFFIX.test(suffix)) {
      problem("must end in a language tag such as _PT or _PT_BR");
      continue;
    }
    const used = placeholdersOf(template);
    const unknown = used.filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
    if (!used.includes("code")) {
      problem("must contain {code}");
    } else if (unknown.length > 0) {
      problem(
        `uses unknown placeholders (${unknown.map((p) => `{${p}}`).join(", ")}); ` +
          "use {code}, {app}, {minutes}",
      );
    } else if (used.includes("app") && !available.app) {
      problem("uses {app} but OTP_APP_NAME is not set");
    } else if (used.includes("minutes") && !available.minutes) {
      problem("uses {minutes} but OTP_VALIDITY_MINUTES is not set");
    } else if (template.length > 600) {
      problem("must be at most 600 characters");
    } else {
      templates[suffix] = template;
    }
  }
  return templates;
}

/** Each shipped provider's settings, by name. */
export const SETTINGS = {
  twilio: twilioSettings,
  vonage: vonageSettings,
  plivo: plivoSettings,
  telnyx: telnyxSettings,
  http: httpProviderSettings,
} as const satisfies Record<Exclude<ProviderName, "console">, ProviderSettings<ProviderConfig>>;

/** `twilio,vonage` → `["twilio", "vonage"]`: known names, each once. */
export function parseProviderList(text: string): ProviderName[] {
  const items = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (items.length === 0) throw new Error("must name at least one provider");
  const known = new Set<string>(PROVIDER_NAMES);
  const unknown = items.find((item) => !known.has(item));
  if (unknown !== undefined) {
    throw new Error(`names an unknown provider (use ${PROVIDER_NAMES.join(", ")})`);
  }
  if (new Set(items).size !== items.length) throw new Error("names a provider twice");
  return items as ProviderName[];
}

/** `IN=plivo,twilio;GB,IE=vonage;*=twilio`, in the syntax of `OTP_CHANNEL_RULES`. */
export function parseProviderRules(text: string): ProviderRule[] {
  return parseCountryRules(text, parseProviderList, { example: "IN=plivo,twilio", country: "IN" })
    .map(({ countries, items }) => ({ countries, providers: items }));
}

/** Every provider the routing names, in order of first mention. */
export function usedProviders(routing: ProviderRouting): ProviderName[] {
  return [...new Set([...routing.order, ...routing.rules.flatMap((r) => r.providers)])];
}

/** The providers whose key variable is set (`TWILIO_ACCOUNT_SID`, `VONAGE_API_KEY`, …). */
function providersWithSettings(
  present: Readonly<Record<string, string | undefined>>,
): Exclude<ProviderName, "console">[] {
  return (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[])
    .filter((name) => present[SETTINGS[name].key]?.trim());
}

/**
 * The provider order and rules. `OTP_PROVIDERS` gives the order; `OTP_PROVIDER` (one name) is
 * its older form. Unset, the one provider with settings is the order; with several, the owner
 * must say which order. The console provider prints codes: it is never combined with another
 * provider, since failing over to it would "deliver" codes into the log.
 */
function selectProviders(
  e: {
    OTP_PROVIDER?: ProviderName | undefined;
    OTP_PROVIDERS?: ProviderName[] | undefined;
    OTP_PROVIDER_RULES: ProviderRule[];
  },
  present: Readonly<Record<string, string>>,
  problems: ConfigProblem[],
): ProviderRouting | undefined {
  const configured = providersWithSettings(present);
  if (e.OTP_PROVIDER && e.OTP_PROVIDERS) {
    problems.push({
      variable: "OTP_PROVIDERS",
      message: "cannot be set together with OTP_PROVIDER: keep OTP_PROVIDERS",
    });
    return undefined;
  }
  const order: ProviderName[] | undefined = e.OTP_PROVIDERS ??
    (e.OTP_PROVIDER ? [e.OTP_PROVIDER] : configured.length === 1 ? configured : undefined);
  if (!order) {
    problems.push(
      configured.length > 1
        ? {
          variable: "OTP_PROVIDERS",
          message: `is required when several providers have settings (${
            configured.join(", ")
          }): name them in the order to try`,
        }
        : {
          variable: "OTP_PROVIDERS",
          message: "is not set: name a provider (twilio, vonage, plivo, telnyx, http) and set " +
            "its settings, or console for development",
        },
    );
    return undefined;
  }
  const routing: ProviderRouting = { order, rules: e.OTP_PROVIDER_RULES };
  const used = usedProviders(routing);
  const variableOf = (name: ProviderName) =>
    order.includes(name)
      ? (e.OTP_PROVIDERS ? "OTP_PROVIDERS" : "OTP_PROVIDER")
      : "OTP_PROVIDER_RULES";
  if (used.includes("console") && (used.length > 1 || configured.length > 0) && !e.OTP_PROVIDER) {
    problems.push({
      variable: variableOf("console"),
      message: "names console beside another provider: console only prints codes, for " +
        "development, and is never a fallback",
    });
    return undefined;
  }
  let ok = true;
  for (const name of used) {
    // A provider of the order without settings is parsed anyway, naming each missing variable.
    if (name === "console" || order.includes(name) || (configured as string[]).includes(name)) {
      continue;
    }
    problems.push({
      variable: "OTP_PROVIDER_RULES",
      message: `names ${name}, which has no settings (${SETTINGS[name].key} is not set)`,
    });
    ok = false;
  }
  return ok ? routing : undefined;
}

/** Reads a map of environment variables (`Deno.env.toObject()`); throws {@linkcode ConfigError}. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Empty strings are how `.env` files and dashboards say "unset".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""),
  ) as Record<string, string>;
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
  if (!e.SEND_SMS_HOOK_SECRETS && !e.OKTA_HOOK_AUTH_SECRET && !e.AUTH0_HOOK_SECRETS) {
    // A deployment with no door would answer nothing; name the usual one.
    problems.push({
      variable: "SEND_SMS_HOOK_SECRETS",
      message: "is required (or OKTA_HOOK_AUTH_SECRET or AUTH0_HOOK_SECRETS for the other doors)",
    });
  }

  const routing = selectProviders(e, present, problems);
  const providers: ProviderConfig[] = [];
  const context = {
    ...(e.OTP_PUBLIC_URL ? { publicUrl: e.OTP_PUBLIC_URL } : {}),
    ...(e.OTP_VALIDITY_MINUTES === undefined ? {} : { validityMinutes: e.OTP_VALIDITY_MINUTES }),
  };
  for (const name of routing ? usedProviders(routing) : []) {
    if (name === "console") {
      providers.push({ kind: "console" });
      continue;
    }
    const parsed = SETTINGS[name].parse(present, context, problems);
    if (parsed) providers.push(parsed);
  }
  const smsTemplates = smsTemplatesFrom(present, {
    app: e.OTP_APP_NAME !== undefined,
    minutes: e.OTP_VALIDITY_MINUTES !== undefined,
  }, problems);
  if (problems.length > 0 || !routing) throw new ConfigError(problems);

  // DATABASE_URL wins; Supabase injects SUPABASE_DB_URL into every deployed function.
  const dbUrlValue = e.DATABASE_URL ?? e.SUPABASE_DB_URL;
  return {
    store: dbUrlValue
      ? {
        kind: "postgres",
        url: dbUrlValue,
        onFailure: e.OTP_STORE_ON_FAILURE,
        timeoutMs: e.OTP_DB_TIMEOUT_MS,
      }
      : { kind: "memory" },
    limits: {
      ...(e.OTP_LIMIT_PER_NUMBER ? { perNumber: e.OTP_LIMIT_PER_NUMBER } : {}),
      ...(e.OTP_LIMIT_PER_PREFIX ? { perPrefix: e.OTP_LIMIT_PER_PREFIX } : {}),
      ...(e.OTP_LIMIT_PER_IP ? { perIp: e.OTP_LIMIT_PER_IP } : {}),
      ...(e.OTP_LIMIT_GLOBAL ? { global: e.OTP_LIMIT_GLOBAL } : {}),
      ...(e.OTP_ALLOWED_COUNTRIES ? { allowedCountries: e.OTP_ALLOWED_COUNTRIES } : {}),
      blockedCountries: e.OTP_BLOCKED_COUNTRIES,
      blockedTypes: e.OTP_BLOCKED_NUMBER_TYPES,
    },
    hashKey: e.OTP_HASH_KEY,
    logRetentionDays: e.OTP_LOG_RETENTION_DAYS,
    okta: e.OKTA_HOOK_AUTH_SECRET
      ? {
        authHeader: e.OKTA_HOOK_AUTH_HEADER.toLowerCase(),
        authSecret: e.OKTA_HOOK_AUTH_SECRET,
        deadlineMs: e.OKTA_DEADLINE_MS,
      }
      : undefined,
    auth0: e.AUTH0_HOOK_SECRETS
      ? { secrets: e.AUTH0_HOOK_SECRETS, deadlineMs: e.AUTH0_DEADLINE_MS }
      : undefined,
    useCallerText: e.OTP_USE_CALLER_TEXT,
    supabaseHookSecrets: e.SEND_SMS_HOOK_SECRETS,
    providers,
    routing,
    policy: {
      defaultOrder: e.OTP_CHANNELS,
      rules: e.OTP_CHANNEL_RULES,
      metadataKey: e.OTP_CHANNEL_METADATA_KEY,
      userChannels: e.OTP_USER_CHANNELS,
    },
    attemptTimeoutMs: e.OTP_ATTEMPT_TIMEOUT_MS,
    bench: { after: e.OTP_PROVIDER_BENCH_AFTER, ms: e.OTP_PROVIDER_BENCH_MS },
    healthToken: e.OTP_HEALTH_TOKEN,
    deadlineMs: e.OTP_DEADLINE_MS,
    dedupeTtlMs: e.OTP_DEDUPE_TTL_MS,
    memoryMaxEntries: e.OTP_MEMORY_MAX_ENTRIES,
    messages: {
      ...(e.OTP_APP_NAME === undefined ? {} : { appName: e.OTP_APP_NAME }),
      ...(e.OTP_VALIDITY_MINUTES === undefined ? {} : { validityMinutes: e.OTP_VALIDITY_MINUTES }),
      ...(e.OTP_ANDROID_APP_HASH === undefined ? {} : { androidAppHash: e.OTP_ANDROID_APP_HASH }),
      ...(e.OTP_WEBOTP_DOMAIN === undefined ? {} : { webOtpDomain: e.OTP_WEBOTP_DOMAIN }),
      smsTemplates,
    },
    logLevel: e.OTP_LOG_LEVEL,
    deployed,
  };
}

/** The channels a provider has settings for; the console provider "sends" on every channel. */
export function configuredChannels(provider: ProviderConfig): Channel[] {
  if (provider.kind === "console") return ["sms", "whatsapp", "voice"];
  return [...(SETTINGS[provider.kind] as ProviderSettings<typeof provider>).channels(provider)];
}

/**
 * Settings that are valid but probably not what the owner meant, as sentences naming the
 * variables: logged once at start.
 */
export function configWarnings(
  env: Readonly<Record<string, string | undefined>>,
  config: Config,
): string[] {
  const warnings: string[] = [];
  if (env.TWILIO_WHATSAPP_FROM?.trim() && !env.TWILIO_WHATSAPP_CONTENT_SID?.trim()) {
    warnings.push(
      "TWILIO_WHATSAPP_FROM is set without TWILIO_WHATSAPP_CONTENT_SID: WhatsApp stays off " +
        "(business-initiated messages need an approved template)",
    );
  }
  const configured = new Set(config.providers.flatMap(configuredChannels));
  const used = new Set<string>(usedProviders(config.routing));
  for (const name of providersWithSettings(env)) {
    if (!used.has(name)) {
      warnings.push(
        `${SETTINGS[name].key} is set but neither OTP_PROVIDERS nor OTP_PROVIDER_RULES names ` +
          `${name}: it is not used`,
      );
    }
  }
  // Delivery reports: requested only when they can be checked.
  const publicUrl = Boolean(env.OTP_PUBLIC_URL?.trim());
  for (const provider of config.providers) {
    const key = provider.kind === "vonage"
      ? "VONAGE_SIGNATURE_SECRET"
      : provider.kind === "telnyx"
      ? "TELNYX_PUBLIC_KEY"
      : undefined;
    if (!key) continue;
    const hasKey = Boolean(env[key]?.trim());
    if (publicUrl && !hasKey) {
      warnings.push(
        `OTP_PUBLIC_URL is set but ${key} is not: ${provider.kind} delivery reports are not ` +
          "requested, since they could not be verified (and STOPs they carry are not learnt)",
      );
    } else if (!publicUrl && hasKey) {
      warnings.push(
        `${key} is set but OTP_PUBLIC_URL is not: ${provider.kind} delivery reports are not ` +
          "requested",
      );
    }
  }
  const named = new Set([
    ...config.policy.defaultOrder,
    ...config.policy.rules.flatMap((r) => r.channels),
  ]);
  for (const channel of named) {
    if (!configured.has(channel)) {
      warnings.push(
        `OTP_CHANNELS or OTP_CHANNEL_RULES name ${channel}, which has no provider settings: ` +
          "it is skipped",
      );
    }
  }
  return warnings;
}
