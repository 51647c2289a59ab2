/**
 * Phone numbers: what the callers send, normalised to E.164 and checked for being possible.
 *
 * @module
 */
import {
  getCountries,
  getCountryCallingCode,
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
  if (country) return { e164: parsed.number, country, type: parsed.getType() };
  const candidates = possible.length > 0 ? possible : countriesOf(parsed.countryCallingCode);
  return { e164: parsed.number, country, possibleCountries: candidates, type: parsed.getType() };
}
