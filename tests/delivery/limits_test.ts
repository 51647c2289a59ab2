import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import { ConfigError, loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  createKeyedHash,
  hex,
  numberBlock,
  parseRateLimit,
} from "../../supabase/functions/_shared/delivery/limits.ts";
import {
  captureLogs,
  randomMobile,
  signedInit,
  supabasePayload,
  TEST_SECRET,
} from "../_helpers.ts";
import { closeAtTestEnd, dbTest, testDatabase } from "../_postgres.ts";

/** A deployed function on an injectable clock, counting the messages its console provider sends. */
function limited(env: Record<string, string>, clock = { t: Date.UTC(2026, 0, 1) }) {
  const printed: string[] = [];
  const logs = captureLogs();
  const boot = appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    ...env,
  }, { print: (l) => printed.push(l), write: logs.write, now: () => clock.t });
  assert.ok("config" in boot, "error" in boot ? boot.error.message : "");
  closeAtTestEnd(boot);
  let n = 0;
  const post = async (payload: Record<string, unknown>) => {
    const init = signedInit(payload, { id: `msg_${++n}`, timestamp: Math.floor(clock.t / 1000) });
    const res = await boot.app.request("/send-sms", init);
    assert.equal(res.status, 200);
    return await res.json() as { error?: { http_code: number; message: string } };
  };
  return { post, printed, logs: logs.lines, clock };
}

Deno.test("parseRateLimit: counts per window, and off", () => {
  assert.deepEqual(parseRateLimit("5/15m"), { max: 5, windowMs: 900_000 });
  assert.deepEqual(parseRateLimit(" 20 / 10m "), { max: 20, windowMs: 600_000 });
  assert.deepEqual(parseRateLimit("10000/1d"), { max: 10_000, windowMs: 86_400_000 });
  assert.deepEqual(parseRateLimit("3/30s"), { max: 3, windowMs: 30_000 });
  assert.equal(parseRateLimit("OFF"), undefined);
  for (const bad of ["5", "5/m", "0/1m", "5 per minute", "5/0s", "5/32d", "-1/1m"]) {
    assert.throws(() => parseRateLimit(bad), Error, bad);
  }
});

Deno.test("limits config: defaults, off, and errors naming the variable", () => {
  const base = { SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console" };
  const defaults = loadConfig(base).limits;
  assert.deepEqual(defaults, {
    perNumber: { max: 5, windowMs: 900_000 },
    perPrefix: { max: 20, windowMs: 600_000 },
    blockedCountries: [],
    blockedTypes: ["PREMIUM_RATE", "SHARED_COST"],
  });
  const off = loadConfig({
    ...base,
    OTP_LIMIT_PER_NUMBER: "off",
    OTP_LIMIT_PER_PREFIX: "off",
    OTP_BLOCKED_NUMBER_TYPES: "none",
  }).limits;
  assert.deepEqual(off, { blockedCountries: [], blockedTypes: [] });
  for (
    const [variable, value] of [
      ["OTP_LIMIT_PER_NUMBER", "5 per minute"],
      ["OTP_LIMIT_GLOBAL", "1000"],
      ["OTP_BLOCKED_NUMBER_TYPES", "MOBILEX"],
      ["OTP_ALLOWED_COUNTRIES", "USA"],
      ["OTP_BLOCKED_COUNTRIES", "G1"],
      ["OTP_HASH_KEY", "short"],
    ]
  ) {
    assert.throws(
      () => loadConfig({ ...base, [variable!]: value! }),
      (err: unknown) => err instanceof ConfigError && err.problems[0]!.variable === variable,
      variable,
    );
  }
});

Deno.test("per number: the 6th code in 15 minutes is refused (429), the window then resets", async () => {
  const app = limited({ OTP_LIMIT_PER_PREFIX: "off" });
  const phone = randomMobile();
  for (let i = 0; i < 5; i++) assert.deepEqual(await app.post(supabasePayload({ phone })), {});
  const refused = await app.post(supabasePayload({ phone }));
  assert.equal(refused.error?.http_code, 429);
  assert.match(refused.error!.message, /this phone number/);
  assert.equal(app.printed.length, 5);
  // Another number is not affected.
  assert.deepEqual(await app.post(supabasePayload({ phone: randomMobile() })), {});
  // The next window starts fresh.
  app.clock.t += 15 * 60_000;
  assert.deepEqual(await app.post(supabasePayload({ phone })), {});
  assert.ok(app.logs.some((l) => l.includes(`"reason":"limit_number"`)));
});

Deno.test("per number block: sequential numbers in one 1,000-number range trip the block limit", async () => {
  const app = limited({});
  const block = randomMobile().slice(0, -3);
  assert.equal(numberBlock(`+${block}123`), `+${block}`);
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(
      await app.post(supabasePayload({ phone: `${block}${String(i).padStart(3, "0")}` })),
      {},
    );
  }
  const refused = await app.post(supabasePayload({ phone: `${block}999` }));
  assert.equal(refused.error?.http_code, 429);
  assert.equal(app.printed.length, 20);
});

Deno.test("per IP: off by default (carrier NAT), enforced when set", async () => {
  const payload = (ip: string) => {
    const p = supabasePayload({ phone: randomMobile() });
    (p.metadata as Record<string, unknown>).ip_address = ip;
    return p;
  };
  const open = limited({});
  for (let i = 0; i < 10; i++) assert.deepEqual(await open.post(payload("203.0.113.9")), {});
  const app = limited({ OTP_LIMIT_PER_IP: "2/1m" });
  assert.deepEqual(await app.post(payload("203.0.113.9")), {});
  assert.deepEqual(await app.post(payload("203.0.113.9")), {});
  const refused = await app.post(payload("203.0.113.9"));
  assert.equal(refused.error?.http_code, 429);
  assert.match(refused.error!.message, /your network/);
  assert.deepEqual(await app.post(payload("198.51.100.4")), {});
});

Deno.test("global cap: a spend guard across every number", async () => {
  const app = limited({ OTP_LIMIT_GLOBAL: "3/1d" });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await app.post(supabasePayload({ phone: randomMobile() })), {});
  }
  assert.equal((await app.post(supabasePayload({ phone: randomMobile() }))).error?.http_code, 429);
});

Deno.test("duplicates never count against a limit", async () => {
  const app = limited({ OTP_LIMIT_PER_NUMBER: "2/1m" });
  const phone = randomMobile();
  const first = supabasePayload({ phone });
  for (let i = 0; i < 10; i++) assert.deepEqual(await app.post(first), {}); // Auth's retries
  assert.deepEqual(await app.post(supabasePayload({ phone })), {}); // second real request
  const third = supabasePayload({ phone });
  assert.equal((await app.post(third)).error?.http_code, 429);
  // A retry of the refused request is refused again, from the dedupe record.
  assert.equal((await app.post(third)).error?.http_code, 429);
  assert.equal(app.printed.length, 2);
});

Deno.test("geo: allowed and blocked countries are refused with 403", async () => {
  const allowed = limited({ OTP_ALLOWED_COUNTRIES: "US,CA" });
  assert.deepEqual(await allowed.post(supabasePayload({ phone: "16502530000" })), {});
  const gb = await allowed.post(supabasePayload({ phone: randomMobile() }));
  assert.equal(gb.error?.http_code, 403);
  assert.match(gb.error!.message, /this country/);
  // With an allow-list, a number of no single country is refused too.
  assert.equal(
    (await allowed.post(supabasePayload({ phone: "15551234567" }))).error?.http_code,
    403,
  );

  const blocked = limited({ OTP_BLOCKED_COUNTRIES: "GB" });
  assert.equal(
    (await blocked.post(supabasePayload({ phone: randomMobile() }))).error?.http_code,
    403,
  );
  assert.deepEqual(await blocked.post(supabasePayload({ phone: "33612345678" })), {});
  assert.equal(blocked.printed.length, 1);
});

Deno.test("number types: premium rate and shared cost refused by default, configurable", async () => {
  const app = limited({ OTP_CHANNELS: "sms,voice" });
  for (const phone of ["19005550123", "449098790000"]) {
    const res = await app.post(supabasePayload({ phone }));
    assert.equal(res.error?.http_code, 403, phone);
    assert.match(res.error!.message, /type of phone number/);
  }
  assert.equal(app.printed.length, 0, "not even a call");
  const allowing = limited({ OTP_BLOCKED_NUMBER_TYPES: "none" });
  assert.deepEqual(await allowing.post(supabasePayload({ phone: "19005550123" })), {});
});

Deno.test("number types: a number the metadata can't classify is allowed and logged as unknown", async () => {
  const app = limited({});
  assert.deepEqual(await app.post(supabasePayload({ phone: "447700900123" })), {});
  const line = app.logs.find((l) => l.includes(`"delivered"`));
  assert.ok(line);
  assert.match(line, /"type":"unknown"/);
});

dbTest("postgres: limits are shared by every instance, and counters hold no numbers", async () => {
  const db = await testDatabase();
  const clock = { t: Date.now() };
  const a = limited({ DATABASE_URL: db.url, OTP_LIMIT_PER_NUMBER: "2/1m" }, clock);
  const b = limited({ DATABASE_URL: db.url, OTP_LIMIT_PER_NUMBER: "2/1m" }, clock);
  const phone = randomMobile();
  assert.deepEqual(await a.post(supabasePayload({ phone })), {});
  assert.deepEqual(await b.post(supabasePayload({ phone })), {});
  assert.equal((await a.post(supabasePayload({ phone }))).error?.http_code, 429);
  assert.equal((await b.post(supabasePayload({ phone }))).error?.http_code, 429);
  clock.t += 60_000;
  assert.deepEqual(await b.post(supabasePayload({ phone })), {});

  const sql = db.client();
  try {
    const rows = await sql`select scope, key from otp_relay.limit_counters`;
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.ok(row.key === "*" || /^[0-9a-f]{64}$/.test(row.key), row.key);
      assert.ok(!row.key.includes(phone.slice(-6)));
    }
  } finally {
    await sql.end();
  }
});

dbTest(
  "a refused request gives its counts back: a flood at one number can't use up its block",
  async () => {
    const envs: Record<string, string>[] = [{}, { DATABASE_URL: (await testDatabase()).url }];
    for (const env of envs) {
      const app = limited({ ...env, OTP_LIMIT_PER_NUMBER: "1/1m", OTP_LIMIT_PER_PREFIX: "2/1m" }, {
        t: Date.now(),
      });
      const block = randomMobile().slice(0, -3);
      assert.deepEqual(await app.post(supabasePayload({ phone: `${block}001` })), {});
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await app.post(supabasePayload({ phone: `${block}001` }))).error?.http_code,
          429,
        );
      }
      // The block has used 1 of 2, not 6.
      assert.deepEqual(
        await app.post(supabasePayload({ phone: `${block}002` })),
        {},
        JSON.stringify(env),
      );
    }
  },
);

dbTest("postgres: copies of one request across instances count once", async () => {
  const db = await testDatabase();
  const clock = { t: Date.now() };
  const a = limited({ DATABASE_URL: db.url, OTP_LIMIT_PER_NUMBER: "2/1m" }, clock);
  const b = limited({ DATABASE_URL: db.url, OTP_LIMIT_PER_NUMBER: "2/1m" }, clock);
  const phone = randomMobile();
  const same = supabasePayload({ phone });
  for (let i = 0; i < 6; i++) assert.deepEqual(await (i % 2 ? a : b).post(same), {});
  assert.deepEqual(await a.post(supabasePayload({ phone })), {}, "the second real request fits");
  assert.equal((await b.post(supabasePayload({ phone }))).error?.http_code, 429);
});

Deno.test("createKeyedHash is HMAC-SHA-256 (hex), as WebCrypto computes it", async () => {
  const secret = "a key of at least sixteen characters";
  const hash = createKeyedHash(secret);
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  for (const value of ["number:+447400123456", "ip:203.0.113.9", "", "é😀"]) {
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(value)));
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(await hash(value), hex, value);
  }
});

Deno.test("hex: every byte value, as one flat lower-case string", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const expected = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(hex(bytes), expected);
  assert.equal(hex(new Uint8Array()), "");
});
