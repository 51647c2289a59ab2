// Issue 14, defect 1: "a value the README calls valid takes the whole function down". Every range
// the docs give a setting, `NAME … (A–B…)` in a settings table, must be accepted at both ends by the
// configuration, and refused just outside them, so docs and config can't drift apart again.
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../supabase/functions/_shared/config.ts";
import { TEST_SECRET } from "./_helpers.ts";

const root = new URL("..", import.meta.url);
const DOCS = ["README.md", "docs/okta.md", "docs/auth0.md"];

/** Every `| \`NAME\` | … (A–B …` row of the docs' tables: the setting and its range. */
async function documentedRanges(): Promise<
  { file: string; name: string; min: number; max: number }[]
> {
  const found = [];
  for (const file of DOCS) {
    for (const line of (await Deno.readTextFile(new URL(file, root))).split("\n")) {
      const row = /^\| `([A-Z][A-Z0-9_]+)`\s*\|.*?\((\d+)–(\d+)\b/.exec(line);
      if (row) found.push({ file, name: row[1]!, min: Number(row[2]), max: Number(row[3]) });
    }
  }
  return found;
}

/** Settings a value needs beside it to load: the door each deadline belongs to. */
const BASE: Record<string, string> = {
  SEND_SMS_HOOK_SECRETS: TEST_SECRET,
  OTP_PROVIDER: "console",
  OKTA_HOOK_AUTH_SECRET: "okta-secret-0123456789",
  AUTH0_HOOK_SECRETS: "whsec_" + btoa("auth0 secret for the range test"),
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
};

function accepts(name: string, value: number): boolean {
  try {
    loadConfig({ ...BASE, [name]: String(value) });
    return true;
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

Deno.test("documented ranges: the config accepts both ends of every range the docs give, and nothing outside", async () => {
  const ranges = await documentedRanges();
  // The scan finds what it should: the rows this defect was about, among others.
  const names = ranges.map((r) => r.name);
  for (
    const expected of [
      "OTP_DB_TIMEOUT_MS",
      "OKTA_DEADLINE_MS",
      "AUTH0_DEADLINE_MS",
      "OTP_VALIDITY_MINUTES",
    ]
  ) {
    assert.ok(names.includes(expected), `${expected} has a documented range`);
  }
  for (const { file, name, min, max } of ranges) {
    assert.ok(accepts(name, min), `${file}: ${name}=${min} is documented as valid`);
    assert.ok(accepts(name, max), `${file}: ${name}=${max} is documented as valid`);
    assert.ok(!accepts(name, max + 1), `${file}: ${name}=${max + 1} is past the documented range`);
    if (min > 0) assert.ok(!accepts(name, min - 1), `${file}: ${name}=${min - 1} is below it`);
  }
});

Deno.test("documented ranges: OTP_DB_TIMEOUT_MS=2000 (the README once allowed up to 3000) is refused, and the README says 1500", async () => {
  assert.equal(accepts("OTP_DB_TIMEOUT_MS", 2000), false);
  const readme = await Deno.readTextFile(new URL("README.md", root));
  assert.match(readme, /`OTP_DB_TIMEOUT_MS`.*\(50–1500\)/);
});
