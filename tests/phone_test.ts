import assert from "node:assert/strict";
import { maskPhone } from "../supabase/functions/_shared/log.ts";
import {
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
} from "libphonenumber-js/max";
import { lineType, parsePhone } from "../supabase/functions/_shared/phone.ts";

Deno.test("parsePhone: adds the + and finds the country", () => {
  const table: [string, string, string | undefined][] = [
    ["16502530000", "+16502530000", "US"],
    // A fictional 555 number is possible but belongs to no single NANP country.
    ["15551234567", "+15551234567", undefined],
    ["+447400123456", "+447400123456", "GB"],
    // Ofcom's drama range is possible but not valid: no country is claimed for it.
    ["+447700900123", "+447700900123", undefined],
    ["5511987654321", "+5511987654321", "BR"],
    ["919876543210", "+919876543210", "IN"],
    ["+33 6 12 34 56 78", "+33612345678", "FR"],
    // Mexican mobiles stored before the 2019 numbering change keep working.
    ["5215512345678", "+525512345678", "MX"],
    ["+5215512345678", "+525512345678", "MX"],
  ];
  for (const [raw, e164, country] of table) {
    const parsed = parsePhone(raw);
    assert.deepEqual({ e164: parsed?.e164, country: parsed?.country }, { e164, country }, raw);
  }
});

Deno.test("parsePhone: refuses what cannot be a phone number", () => {
  for (
    const raw of [
      "",
      "abc",
      "+",
      "0",
      "007700900123",
      "999123456789",
      "4477009",
      "1".repeat(16),
      "+44 7700 900123 ext 5",
    ]
  ) {
    assert.equal(parsePhone(raw), undefined, raw);
  }
});

Deno.test("maskPhone keeps the country code and the last three digits", () => {
  assert.equal(maskPhone("+447912345123"), "+4479•••••123");
  assert.equal(maskPhone("+15551234567"), "+1555••••567");
  assert.equal(maskPhone("+1234567"), "+•••••••");
});

Deno.test("lineType answers what libphonenumber's getType() does, across every numbering plan", () => {
  // Every country and non-geographic code, every 2-digit start of the national number, each
  // possible length, random digits after: valid numbers of every type, and invalid ones.
  let state = 20261201;
  const digit = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return String(Math.floor(state / 2 ** 16) % 10);
  };
  const seen = new Map<string, number>();
  let compared = 0;
  const codes = new Set(getCountries().map((c) => getCountryCallingCode(c)));
  for (const code of ["800", "808", "870", "878", "881", "882", "883", "888", "979"]) {
    codes.add(code);
  }
  for (const code of codes) {
    for (let start = 10; start < 100; start++) {
      for (let length = 4; length <= 12; length++) {
        let national = String(start);
        while (national.length < length) national += digit();
        const parsed = parsePhoneNumberFromString(`+${code}${national}`);
        if (!parsed) continue;
        const expected = parsed.getType();
        const actual = lineType(parsed.country ?? parsed.countryCallingCode, parsed.nationalNumber);
        assert.equal(actual, expected, `+${code} ${national}`);
        seen.set(String(expected), (seen.get(String(expected)) ?? 0) + 1);
        compared += 1;
      }
    }
  }
  assert.ok(compared > 100_000, `compared ${compared}`);
  for (
    const type of ["MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE", "PREMIUM_RATE"]
  ) {
    assert.ok((seen.get(type) ?? 0) >= 100, `${type} seen ${seen.get(type) ?? 0} times`);
  }
  for (const type of ["SHARED_COST", "VOIP", "PERSONAL_NUMBER", "PAGER", "UAN", "undefined"]) {
    assert.ok((seen.get(type) ?? 0) >= 5, `${type} seen ${seen.get(type) ?? 0} times`);
  }
  // parsePhone carries it.
  assert.equal(parsePhone("447400123456")?.type, "MOBILE");
  assert.equal(parsePhone("449090901234")?.type, "PREMIUM_RATE");
});
