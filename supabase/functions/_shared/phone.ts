/**
 * Phone numbers: what the callers send, normalised to E.164 and checked for being possible.
 *
 * @module
 */
import {
  getCountries,
  getCountryCallingCode,
  Metadata,
  parsePhoneNumberFromString,
} from "libphonenumber-js/max";

/** Every country of a calling code (`7` → KZ, RU), computed once. */
let byCallingCode: Map<string, string[]> | undefined;
function countriesOf(callingCode: string): readonly string[] {
  if (!byCallingCode) {
    byCallingCode = new Map();
    for (const c of getCountries()) {
      const code = getCountryCallingCode(c);
      byCallingCode.set(code, [...byCallingCode.get(code) ?? [], c]);
    }
  }
  return byCallingCode.get(callingCode) ?? [];
}

/** What libphonenumber can tell about the kind of line, from its metadata. */
export type LineType =
  | "MOBILE"
  | "FIXED_LINE"
  | "FIXED_LINE_OR_MOBILE"
  | "PREMIUM_RATE"
  | "TOLL_FREE"
  | "SHARED_COST"
  | "VOIP"
  | "PERSONAL_NUMBER"
  | "PAGER"
  | "UAN"
  | "VOICEMAIL"
  | undefined;

/** The parts of libphonenumber's `Metadata` that {@linkcode lineType} reads (untyped there). */
interface NumberingPlan {
  nationalNumberPattern(): string;
  type(type: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

/** One type's test: its possible lengths, then its pattern, compiled once. */
interface TypeTest {
  readonly lengths: readonly number[] | undefined;
  readonly pattern: RegExp;
}

/** A numbering plan's patterns, compiled once. */
interface Classifier {
  readonly valid: RegExp;
  readonly types: ReadonlyMap<string, TypeTest>;
  /** libphonenumber's "MOBILE same as FIXED_LINE" encodings: an empty or a missing pattern. */
  readonly mobileAsFixed: boolean;
}

/** In libphonenumber's order: after FIXED_LINE, the first that matches names the type. */
const OTHER_TYPES = [
  "MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
] as const;

const classifiers = new Map<string, Classifier>();

function classifier(plan: string): Classifier {
  let c = classifiers.get(plan);
  if (c) return c;
  const metadata = new Metadata() as unknown as {
    selectNumberingPlan(plan: string): void;
    numberingPlan: NumberingPlan;
  };
  metadata.selectNumberingPlan(plan);
  const numbering = metadata.numberingPlan;
  const whole = (pattern: string) => new RegExp(`^(?:${pattern})$`);
  const types = new Map<string, TypeTest>();
  for (const type of ["FIXED_LINE", ...OTHER_TYPES]) {
    const definition = numbering.type(type);
    const pattern = definition?.pattern();
    if (pattern) {
      types.set(type, { lengths: definition!.possibleLengths(), pattern: whole(pattern) });
    }
  }
  const mobile = numbering.type("MOBILE");
  c = {
    valid: whole(numbering.nationalNumberPattern()),
    types,
    mobileAsFixed: !mobile || mobile.pattern() === "",
  };
  classifiers.set(plan, c);
  return c;
}

function isType(c: Classifier, type: string, national: string): boolean {
  const test = c.types.get(type);
  if (!test) return false;
  if (test.lengths && !test.lengths.includes(national.length)) return false;
  return test.pattern.test(national);
}

/**
 * The line type of a national number in a numbering plan (a country, or a non-geographic calling
 * code): what libphonenumber's `getType()` answers, by the same steps over the same metadata,
 * with each pattern compiled once instead of on every call (`getType()` builds a `RegExp` per
 * pattern per call, the largest part of a request's number handling: bench/OPTIMISATIONS.md).
 * tests/phone_test.ts holds the two to the same answers.
 */
export function lineType(plan: string, national: string): LineType {
  const c = classifier(plan);
  if (!c.valid.test(national)) return undefined;
  if (isType(c, "FIXED_LINE", national)) {
    if (c.mobileAsFixed || isType(c, "MOBILE", national)) return "FIXED_LINE_OR_MOBILE";
    return "FIXED_LINE";
  }
  return OTHER_TYPES.find((type) => isType(c, type, national));
}

/** A number that can be dialled: E.164 text and the country libphonenumber assigns to it. */
export interface PhoneNumber {
  readonly e164: string;
  /**
   * ISO 3166-1 alpha-2 when the number belongs to one country: the country of a valid number,
   * or the only country its calling code and prefix allow (e.g. +55 → BR even for a range the
   * metadata doesn't know yet). Ambiguous numbers (a NANP number outside known ranges could be
   * any of 25 countries) have none.
   */
  readonly country: string | undefined;
  /**
   * For a number without one country, every country it could belong to (+7 601… is RU or KZ;
   * a NANP number outside known ranges, any of the +1 countries). Absent when `country` is set.
   */
  readonly possibleCountries?: readonly string[];
  /** The line type where the metadata knows it; `undefined` for unknown ranges. */
  readonly type?: LineType;
}

/**
 * Parses a number as the identity platforms send it (Supabase strips the `+`, Okta sometimes
 * does). Returns `undefined` for what cannot be a phone number: unparseable, an unknown calling
 * code, or a length impossible for its country.
 *
 * Validity against the known number ranges is deliberately not checked: the library's metadata
 * lags new ranges, and the provider has the final word (Twilio 21211).
 *
 * @example
 * ```ts
 * parsePhone("15551234567")?.e164; // "+15551234567"
 * ```
 */
export function parsePhone(raw: string): PhoneNumber | undefined {
  const compact = raw.trim().replace(/[\s().-]/g, "");
  if (!/^\+?[1-9]\d{3,14}$/.test(compact)) return undefined;
  // Mexico dropped the mobile "1" after +52 in 2019; accounts created before still store it.
  // The subscriber is the same: dial the current form rather than lock the user out.
  const digits = compact.replace(/^\+/, "").replace(/^521(\d{10})$/, "52$1");
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  if (!parsed || !parsed.isPossible()) return undefined;
  const possible = parsed.country ? [] : parsed.getPossibleCountries();
  const country = parsed.country ?? (possible.length === 1 ? possible[0] : undefined);
  const type = lineType(parsed.country ?? parsed.countryCallingCode, parsed.nationalNumber);
  if (country) return { e164: parsed.number, country, type };
  const candidates = possible.length > 0 ? possible : countriesOf(parsed.countryCallingCode);
  return { e164: parsed.number, country, possibleCountries: candidates, type };
}
