/**
 * Which language a message is in: what the user or the caller asked for, else the language most
 * used in the number's country, else English. Tags are normalised to BCP 47 (`EN-US`, `en_US`
 * and `en-us` all become `en-US`).
 *
 * @module
 */

/** Languages otp-relay has words for. */
export const LANGUAGES = [
  "en",
  "es",
  "pt",
  "fr",
  "de",
  "it",
  "nl",
  "hi",
  "id",
  "ar",
  "ja",
  "zh",
] as const;

/** One of {@linkcode LANGUAGES}. */
export type Language = typeof LANGUAGES[number];

const SUPPORTED: ReadonlySet<string> = new Set(LANGUAGES);

/** The language most used in each country, for the countries whose language we speak. */
const COUNTRY_LANGUAGE: Readonly<Record<string, Language>> = Object.fromEntries([
  ...[
    "ES",
    "MX",
    "AR",
    "CO",
    "CL",
    "PE",
    "VE",
    "EC",
    "GT",
    "CU",
    "BO",
    "DO",
    "HN",
    "PY",
    "SV",
    "NI",
    "CR",
    "PA",
    "UY",
    "GQ",
  ].map((c) => [c, "es"]),
  ...["BR", "PT", "AO", "MZ", "CV", "GW", "ST", "TL"].map((c) => [c, "pt"]),
  ...[
    "FR",
    "MC",
    "SN",
    "CI",
    "CM",
    "CD",
    "CG",
    "ML",
    "BF",
    "NE",
    "TG",
    "BJ",
    "GA",
    "GN",
    "MG",
    "HT",
    "RE",
    "GP",
    "MQ",
    "GF",
    "PF",
    "NC",
    "LU",
  ].map((c) => [c, "fr"]),
  ...["DE", "AT", "CH", "LI"].map((c) => [c, "de"]),
  ...["IT", "SM", "VA"].map((c) => [c, "it"]),
  ...["NL", "BE", "SR", "AW", "CW", "SX", "BQ"].map((c) => [c, "nl"]),
  ["IN", "hi"],
  ["ID", "id"],
  ...[
    "SA",
    "AE",
    "EG",
    "IQ",
    "JO",
    "KW",
    "LB",
    "LY",
    "MA",
    "OM",
    "QA",
    "SY",
    "TN",
    "YE",
    "BH",
    "DZ",
    "SD",
    "PS",
    "MR",
  ].map((c) => [c, "ar"]),
  ["JP", "ja"],
  ...["CN", "TW", "HK", "MO"].map((c) => [c, "zh"]),
]);

/**
 * Normalises a language tag as the platforms send it (`EN-US`, `en_US`, `pt-br`) to BCP 47
 * (`en-US`, `pt-BR`); `undefined` for what is not a tag.
 *
 * @example
 * ```ts
 * normalizeLocale("en_US"); // "en-US"
 * ```
 */
export function normalizeLocale(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const candidate = raw.trim().replaceAll("_", "-");
  if (candidate === "" || candidate.length > 35) return undefined;
  try {
    return Intl.getCanonicalLocales(candidate)[0];
  } catch {
    return undefined;
  }
}

/** The language of a message and the region that colours it (accent, regional template). */
export interface ResolvedLocale {
  /** A primary language subtag, lower case (`pt`). */
  readonly language: string;
  /** ISO 3166-1 region: from the tag when it has one, else the number's country. */
  readonly region: string | undefined;
}

/**
 * Resolves the language of a message: the first requested tag whose language is supported, else
 * the language of the number's country, else English. `supported` defaults to the built-in
 * languages; owner templates can add more.
 *
 * @example
 * ```ts
 * resolveLocale(["pt_BR"], "PT"); // { language: "pt", region: "BR" }
 * resolveLocale([], "MX");        // { language: "es", region: "MX" }
 * ```
 */
export function resolveLocale(
  requested: readonly unknown[],
  country: string | undefined,
  supported: ReadonlySet<string> = SUPPORTED,
): ResolvedLocale {
  for (const raw of requested) {
    const tag = normalizeLocale(raw);
    if (!tag) continue;
    const locale = new Intl.Locale(tag);
    if (supported.has(locale.language)) {
      // zh-Hant without a region is written as in Taiwan.
      const scriptRegion = locale.language === "zh" && locale.script === "Hant" ? "TW" : undefined;
      return { language: locale.language, region: locale.region ?? scriptRegion ?? country };
    }
  }
  const fromCountry = country ? COUNTRY_LANGUAGE[country] : undefined;
  return { language: fromCountry ?? "en", region: country };
}

/** True for the languages otp-relay has built-in words for. */
export function isBuiltInLanguage(language: string): language is Language {
  return SUPPORTED.has(language);
}
