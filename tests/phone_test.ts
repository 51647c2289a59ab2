import assert from "node:assert/strict";
import { maskPhone } from "../supabase/functions/_shared/log.ts";
import { parsePhone } from "../supabase/functions/_shared/phone.ts";

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
