/**
 * Channel policy: which channels to try for a delivery, in which order.
 *
 * The first source that names a channel puts it first: the caller's explicit channel, then the
 * app's preference in `app_metadata`, then the user's own in `user_metadata` (only for the
 * channels the owner lets users pick: a user must not make the owner pay for calls). The rest of
 * the order comes from the per-country rule that matches the number, else the default order.
 * Only channels that are configured take part; landlines skip SMS and WhatsApp.
 *
 * @module
 */
import type { PhoneNumber } from "../phone.ts";
import { type Channel, CHANNELS } from "./types.ts";

/** A per-country provider order (`OTP_PROVIDER_RULES`); the core knows providers by name. */
export interface ProviderRule<N extends string = string> {
  readonly countries: readonly string[] | "*";
  readonly providers: readonly N[];
}

/** Which providers a delivery tries, in which order. */
export interface ProviderRouting<N extends string = string> {
  /** `OTP_PROVIDERS` (or the one provider): the order when no rule matches. */
  readonly order: readonly N[];
  /** `OTP_PROVIDER_RULES`: a matching rule's list is the whole order for that country. */
  readonly rules: readonly ProviderRule<N>[];
}

/** Countries (ISO 3166-1 alpha-2, or `*` for any) and the channel order for them. */
export interface ChannelRule {
  readonly countries: readonly string[] | "*";
  readonly channels: readonly Channel[];
}

/** The owner's policy, from the configuration. */
export interface ChannelPolicy {
  /** `OTP_CHANNELS`: the order when no rule matches. */
  readonly defaultOrder: readonly Channel[];
  /** `OTP_CHANNEL_RULES`. */
  readonly rules: readonly ChannelRule[];
  /** `OTP_CHANNEL_METADATA_KEY`: where the app and the user keep a preference. */
  readonly metadataKey: string;
  /** `OTP_USER_CHANNELS`: the channels a user may choose in `user_metadata`. */
  readonly userChannels: readonly Channel[];
}

/** What the policy looks at. */
export interface PolicyInput {
  readonly to: PhoneNumber;
  readonly channel?: Channel;
  readonly appMetadata?: Readonly<Record<string, unknown>>;
  readonly userMetadata?: Readonly<Record<string, unknown>>;
}

/** Where the first channel of a plan came from. */
export type PlanSource =
  | "caller"
  | "app_metadata"
  | "user_metadata"
  | "country_rule"
  | "default";

/** The channels to try, in order, and why that order. */
export interface ChannelPlan {
  readonly channels: readonly Channel[];
  readonly source: PlanSource;
  /** True when channels were dropped because the number is a landline. */
  readonly landline: boolean;
}

function isChannel(value: unknown): value is Channel {
  return typeof value === "string" && (CHANNELS as readonly string[]).includes(value);
}

/** A metadata preference such as `"WhatsApp"` → `"whatsapp"`; anything else → `undefined`. */
function preference(metadata: Readonly<Record<string, unknown>> | undefined, key: string) {
  const value = metadata?.[key];
  if (typeof value !== "string") return undefined;
  const channel = value.trim().toLowerCase();
  return isChannel(channel) ? channel : undefined;
}

/** The rule for a country: a rule naming it, else a `*` rule, else none. */
export function ruleFor<R extends { readonly countries: readonly string[] | "*" }>(
  rules: readonly R[],
  country: string | undefined,
): R | undefined {
  const named = country
    ? rules.find((r) => r.countries !== "*" && r.countries.includes(country))
    : undefined;
  return named ?? rules.find((r) => r.countries === "*");
}

/**
 * Plans the channels of a delivery. Pure: same input, same plan.
 *
 * @example
 * ```ts
 * const plan = planChannels({ to }, policy, new Set(["sms", "whatsapp"]));
 * for (const channel of plan.channels) { … }
 * ```
 */
export function planChannels(
  input: PolicyInput,
  policy: ChannelPolicy,
  configured: ReadonlySet<Channel>,
): ChannelPlan {
  const type = input.to.type;
  // (Premium-rate and shared-cost numbers are refused before the policy runs: limits.ts.)
  // Landlines can't take SMS or WhatsApp. FIXED_LINE_OR_MOBILE (every NANP number) and unknown
  // types may be mobiles, so they keep every channel.
  const landline = type === "FIXED_LINE";
  const textOnly = (c: Channel) => c === "sms" || c === "whatsapp";
  const eligible = (c: Channel) => configured.has(c) && !(landline && textOnly(c));

  const fromUser = preference(input.userMetadata, policy.metadataKey);
  // The first source whose channel can actually be used goes first; an unusable preference
  // (not configured, or SMS for a landline) gives way to the next source.
  const preferences: [PlanSource, Channel | undefined][] = [
    ["caller", input.channel],
    ["app_metadata", preference(input.appMetadata, policy.metadataKey)],
    ["user_metadata", fromUser && policy.userChannels.includes(fromUser) ? fromUser : undefined],
  ];
  const preferred = preferences.find(([, c]) => c !== undefined && eligible(c));
  const rule = ruleFor(policy.rules, input.to.country);
  const base = rule?.channels ?? policy.defaultOrder;

  const ordered = [...new Set(preferred ? [preferred[1]!, ...base] : base)];
  return {
    channels: ordered.filter(eligible),
    source: preferred?.[0] ?? (rule ? "country_rule" : "default"),
    landline: landline && ordered.some(textOnly),
  };
}

/**
 * Parses a channel list such as `sms,voice`. Throws an `Error` whose message says what is wrong.
 */
export function parseChannelList(text: string): Channel[] {
  const items = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (items.length === 0) throw new Error("must name at least one channel");
  for (const item of items) {
    if (!isChannel(item)) throw new Error(`names an unknown channel (use ${CHANNELS.join(", ")})`);
  }
  return [...new Set(items as Channel[])];
}

/**
 * Parses `OTP_CHANNEL_RULES`: rules separated by `;`, each `COUNTRIES=channels`, countries being
 * ISO 3166-1 alpha-2 codes separated by `,` or `*`. Example: `BR,IN,MX=whatsapp,sms;*=sms,voice`.
 * Throws an `Error` whose message says what is wrong.
 */
export function parseChannelRules(text: string): ChannelRule[] {
  return parseCountryRules(text, parseChannelList, { example: "BR,MX=whatsapp,sms", country: "BR" })
    .map(({ countries, items }) => ({ countries, channels: items }));
}

/**
 * Parses `;`-separated country rules (`BR,MX=a,b;*=c`), each list read by `parseList`; a country
 * (or `*`) may appear in one rule only. Errors name the rule and show `example`.
 */
export function parseCountryRules<T>(
  text: string,
  parseList: (text: string) => T[],
  example: { readonly example: string; readonly country: string },
): { countries: readonly string[] | "*"; items: T[] }[] {
  const rules: { countries: readonly string[] | "*"; items: T[] }[] = [];
  const seen = new Set<string>();
  for (const [i, part] of text.split(";").map((s) => s.trim()).filter((s) => s).entries()) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`rule ${i + 1} must look like ${example.example}`);
    const left = part.slice(0, eq).trim().toUpperCase();
    let items: T[];
    try {
      items = parseList(part.slice(eq + 1));
    } catch (err) {
      throw new Error(`rule ${i + 1} ${(err as Error).message}`);
    }
    let countries: string[] | "*";
    if (left === "*") {
      countries = "*";
    } else {
      countries = left.split(",").map((c) => c.trim()).filter((c) => c !== "");
      if (countries.length === 0 || countries.some((c) => !/^[A-Z]{2}$/.test(c))) {
        throw new Error(
          `rule ${i + 1} must name countries as ISO codes such as ${example.country} or *`,
        );
      }
    }
    for (const c of countries === "*" ? ["*"] : countries) {
      if (seen.has(c)) throw new Error(`${c} appears in more than one rule`);
      seen.add(c);
    }
    rules.push({ countries, items });
  }
  return rules;
}
