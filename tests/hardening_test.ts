// Issue 14 (an outside security review): one regression test per reproduced defect, named after
// it. Tests that need a running app or a database live beside the code they exercise and say
// "issue 14" in their names.
import assert from "node:assert/strict";
import {
  checkLimits,
  createKeyedHash,
  type LimitsConfig,
} from "../supabase/functions/_shared/delivery/limits.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import { parsePhone } from "../supabase/functions/_shared/phone.ts";
import {
  createMemoryCounterStore,
  EVICTION_LOG_INTERVAL_MS,
} from "../supabase/functions/_shared/store/memory.ts";
import { dedupeTtl } from "../supabase/functions/_shared/delivery/deliver.ts";
import {
  captureLogs,
  NOW_MS,
  signedInit,
  supabasePayload,
  TEST_SECRET,
  type TestApp,
  testApp,
} from "./_helpers.ts";

// --- 2. In-memory counters can be flushed ----------------------------------------------------

function limitsWith(overrides: Partial<LimitsConfig>): LimitsConfig {
  return {
    perNumber: { max: 5, windowMs: 15 * 60_000 },
    perPrefix: { max: 20, windowMs: 10 * 60_000 },
    blockedCountries: [],
    blockedTypes: [],
    ...overrides,
  };
}

/** 300 distinct numbers, a second apart, through a 100-entry memory store with a daily cap. */
async function flood(dailyCap: number) {
  let t = Date.UTC(2026, 11, 1, 12);
  const logs = captureLogs();
  const counters = createMemoryCounterStore({
    maxEntries: 100,
    now: () => t,
    log: createLogger({ level: "warn", write: logs.write }),
  });
  const hash = createKeyedHash("k".repeat(64));
  const limits = limitsWith({ global: { max: dailyCap, windowMs: 86_400_000 } });
  let allowed = 0;
  for (let i = 0; i < 300; i++) {
    t += 1000;
    const to = parsePhone(`+4474${String(10_000_000 + i * 1009).padStart(8, "0")}`)!;
    if (!await checkLimits({ to }, limits, { counters, hash, now: () => t })) allowed += 1;
  }
  return { allowed, size: counters.size, logs };
}

Deno.test("issue 14 #2: a full memory counter store never evicts the global counter (10/1d, 100 entries, 300 numbers → 10)", async () => {
  const { allowed, size } = await flood(10);
  assert.equal(allowed, 10, "the daily cap holds however many numbers pass through");
  assert.ok(size <= 100);
});

Deno.test("issue 14 #2: a store that must evict live counters keeps the global cap (200/1d, 100 entries) and says so, once a minute", async () => {
  const { allowed, size, logs } = await flood(200);
  assert.equal(allowed, 200, "per-number counters were evicted, the global one never");
  assert.ok(size <= 100);
  const warned = logs.lines.filter((l) => l.includes('"event":"limit_counters_evicted"'));
  assert.ok(warned.length >= 1, "evictions of live counters are logged");
  assert.ok(warned.length <= Math.ceil(300_000 / EVICTION_LOG_INTERVAL_MS) + 1, `${warned.length}`);
});

Deno.test("issue 14 #2: when full, per-number counters go first, then per-block ones", async () => {
  const counters = createMemoryCounterStore({ maxEntries: 4, now: () => 0 });
  const hit = (scope: "number" | "prefix" | "global", key: string) =>
    counters.hit([{ scope, key, bucket: 0, windowMs: 60_000 }]);
  await hit("global", "*");
  await hit("prefix", "p1");
  await hit("number", "n1");
  await hit("number", "n2");
  // Full: a new block counter evicts the oldest number counter, not the block or the global one.
  await hit("prefix", "p2");
  assert.deepEqual(await hit("number", "n2"), [2], "the newer number counter survived");
  assert.deepEqual(await hit("prefix", "p1"), [2], "the older block counter survived");
  assert.deepEqual(await hit("global", "*"), [2]);
  assert.deepEqual(await hit("number", "n1"), [1], "n1 was evicted and starts again");
});

Deno.test("issue 14 #2: a refused request leaves no key behind", async () => {
  const counters = createMemoryCounterStore({ maxEntries: 1000, now: () => 0 });
  const hash = createKeyedHash("k".repeat(64));
  const limits = limitsWith({ perNumber: { max: 1, windowMs: 60_000 }, perPrefix: undefined });
  const to = parsePhone("+447400123456")!;
  assert.equal(await checkLimits({ to }, limits, { counters, hash, now: () => 0 }), undefined);
  assert.equal(counters.size, 1);
  // Refused: its hit is undone, and the global cap (0) refuses others without leaving keys.
  assert.equal(await checkLimits({ to }, limits, { counters, hash, now: () => 0 }), "limit_number");
  assert.equal(counters.size, 1);
  const closed = limitsWith({ perPrefix: undefined, global: { max: 0, windowMs: 60_000 } });
  for (let i = 0; i < 50; i++) {
    const other = parsePhone(`+4474001${String(10_000 + i)}`)!;
    assert.equal(
      await checkLimits({ to: other }, closed, { counters, hash, now: () => 0 }),
      "limit_global",
    );
  }
  assert.equal(counters.size, 1, "fifty refused numbers added nothing");
});

Deno.test("limits ask for every key's hash at once: a shared hash key is read once per request", async () => {
  // With PostgreSQL the hash key is read from the database on first use; a read that fails is
  // tried again on the next hash. Hashing one key after another would read it once per scope.
  const asked: string[] = [];
  const pending: ((hex: string) => void)[] = [];
  const hash = (value: string) => {
    asked.push(value.slice(0, value.indexOf(":")));
    return new Promise<string>((resolve) => pending.push(resolve));
  };
  const counters = createMemoryCounterStore({ maxEntries: 100, now: () => 0 });
  const to = parsePhone("+447400123456")!;
  const checked = checkLimits(
    { to, ip: "203.0.113.9" },
    limitsWith({
      perIp: { max: 5, windowMs: 60_000 },
    }),
    { counters, hash, now: () => 0 },
  );
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(asked, ["number", "prefix", "ip"], "all three asked before any answered");
  pending.forEach((resolve, i) => resolve(`h${i}`));
  assert.equal(await checked, undefined);
});

// --- 3. The keyed-hash cache can hold ~1 MB per entry ---------------------------------------

Deno.test("issue 14 #3: the keyed-hash memo never keeps a body: 150 × 1 MB hashed, under 64 KB kept", async () => {
  const hash = createKeyedHash("k".repeat(64));
  const body = "x".repeat(1024 * 1024);
  const seen = new Set<string>();
  for (let i = 0; i < 150; i++) seen.add(await hash(`body:${i}${body}`));
  assert.equal(seen.size, 150, "each body still hashes to its own key");
  assert.ok(hash.memoChars < 64 * 1024, `the memo holds ${hash.memoChars} characters`);
  // Short values (numbers, blocks, addresses) are still memoised, and give the same result.
  const first = await hash("number:+447400123456");
  assert.equal(await hash("number:+447400123456"), first);
  assert.ok(hash.memoChars >= "number:+447400123456".length);
});

// --- 4. A captured request can be replayed to send again -------------------------------------

Deno.test("issue 14 #4: a signed request replayed at +11 s, +60 s and +299 s sends once, with OTP_DEDUPE_TTL_MS=10000", async () => {
  let t = NOW_MS;
  const { app, sent } = testApp({ env: { OTP_DEDUPE_TTL_MS: "10000" }, now: () => t });
  const init = signedInit(supabasePayload({ phone: "447400123456" }), {
    timestamp: Math.floor(NOW_MS / 1000),
  });
  for (const after of [0, 11_000, 60_000, 299_000]) {
    t = NOW_MS + after;
    const res = await app.request("/send-sms", init);
    assert.equal(res.status, 200, `replay at +${after} ms`);
    assert.equal(await res.text(), "{}");
  }
  assert.equal(sent.length, 1, "one message for one signed request");
  // Past the signature's validity, the replay is refused anyway.
  t = NOW_MS + 301_000;
  assert.equal((await app.request("/send-sms", init)).status, 401);
});

Deno.test("issue 14 #4: the key outlives the signature counted from its timestamp, not from receipt (a clock ahead)", () => {
  const request = {
    door: "supabase" as const,
    dedupeKey: "k",
    to: parsePhone("+447400123456")!,
    deadline: NOW_MS + 4000,
    // Signed 200 s in the sender's future: valid until +500 s from now.
    replayableUntil: NOW_MS + 200_000 + 300_000,
  };
  assert.equal(dedupeTtl(request, 10_000, NOW_MS), 504_000);
  assert.equal(dedupeTtl(request, 600_000, NOW_MS), 600_000, "a longer TTL still wins");
  assert.equal(dedupeTtl({ ...request, replayableUntil: undefined }, 10_000, NOW_MS), 10_000);
});

// --- 7. The signature is checked over decoded text, not the bytes that were signed ------------

/** Standard Webhooks v1 over raw bytes, with TEST_SECRET. */
async function signBytes(id: string, timestamp: number, body: Uint8Array): Promise<string> {
  const secret = TEST_SECRET.replace(/^v1,whsec_/, "");
  const key = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(secret), (c) => c.charCodeAt(0)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

async function postBytes(app: TestApp["app"], body: Uint8Array, signature: string, id: string) {
  return await app.request("/send-sms", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(NOW_MS / 1000)),
      "webhook-signature": signature,
    },
    body,
  });
}

Deno.test("issue 14 #7: a body signed with a leading BOM is accepted: the signature covers the bytes", async () => {
  const { app, sent } = testApp();
  const json = new TextEncoder().encode(JSON.stringify(supabasePayload({ phone: "447400123456" })));
  const body = new Uint8Array([0xef, 0xbb, 0xbf, ...json]);
  const ts = Math.floor(NOW_MS / 1000);
  const res = await postBytes(app, body, await signBytes("msg_bom", ts, body), "msg_bom");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "{}");
  assert.equal(sent.length, 1);
});

Deno.test("issue 14 #7: bytes that differ from what was signed are refused, even when they decode alike", async () => {
  const { app, sent } = testApp();
  // Signed: the text with U+FFFD. Sent: an invalid byte (0xFF), which decoding turns into U+FFFD.
  const payload = supabasePayload({ phone: "447400123456" });
  const signedText = JSON.stringify({ ...payload, note: "\uFFFD" });
  const init = signedInit(signedText, { id: "msg_fffd" });
  const signature = new Headers(init.headers)["get"]("webhook-signature")!;
  const sentBytes = new TextEncoder().encode(signedText.replace("\uFFFD", "\u0000"));
  const at = sentBytes.indexOf(0);
  sentBytes[at] = 0xff;
  const res = await postBytes(app, sentBytes, signature, "msg_fffd");
  assert.equal(res.status, 401);
  await res.body?.cancel();
  assert.equal(sent.length, 0);
  // Authentic bytes that are not UTF-8 are an invalid payload, never guessed at.
  const bad = new Uint8Array([
    ...new TextEncoder().encode('{"a":"'),
    0xff,
    ...new TextEncoder().encode('"}'),
  ]);
  const ok = await postBytes(
    app,
    bad,
    await signBytes("msg_bad", Math.floor(NOW_MS / 1000), bad),
    "msg_bad",
  );
  assert.notEqual(ok.status, 401, "the signature matched");
  assert.equal(sent.length, 0);
  await ok.body?.cancel();
});

// --- 5. The country blocklist lets through numbers it can't place in one country -------------

Deno.test("issue 14 #5: with RU and KZ blocked, +7 numbers of no single country are refused", async () => {
  const { refuse } = await import("../supabase/functions/_shared/delivery/limits.ts");
  const blocked = limitsWith({ blockedCountries: ["RU", "KZ"] });
  for (const n of ["+76012345678", "+70001234567"]) {
    const to = parsePhone(n)!;
    assert.equal(to.country, undefined, `${n} has no single country`);
    assert.deepEqual([...to.possibleCountries!].sort(), ["KZ", "RU"]);
    assert.equal(refuse(to, blocked), "country_not_allowed", n);
  }
  // One of the two blocked: it may be the other, so it goes through (the allow-list is strict).
  assert.equal(
    refuse(parsePhone("+76012345678")!, limitsWith({ blockedCountries: ["RU"] })),
    undefined,
  );
  // Numbers of one country are judged by it, as before.
  assert.equal(refuse(parsePhone("+79161234567")!, blocked), "country_not_allowed");
  assert.equal(refuse(parsePhone("+447400123456")!, blocked), undefined);
});

// --- 6. The per-IP limit counts the address text ---------------------------------------------

Deno.test("issue 14 #6: addresses are canonical, IPv6 counts per /64, IPv4-mapped folds into IPv4", async () => {
  const { ipKey } = await import("../supabase/functions/_shared/delivery/limits.ts");
  assert.equal(ipKey("2001:DB8:1:2::1"), ipKey("2001:db8:1:2:0:0:0:1"));
  assert.equal(ipKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(ipKey("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::/64");
  assert.notEqual(ipKey("2001:db8:1:3::1"), ipKey("2001:db8:1:2::1"));
  assert.equal(ipKey("2001:db8::1"), "2001:db8::/64");
  assert.equal(ipKey("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(ipKey("::FFFF:c000:0201"), "192.0.2.1");
  assert.equal(ipKey(" 192.0.2.1 "), "192.0.2.1");
  assert.equal(ipKey("fe80::1%eth0"), "fe80::/64");
  assert.equal(ipKey("not an address"), "not an address");

  // Seven addresses of one /64 against a 2/1h per-IP limit: two pass.
  const counters = createMemoryCounterStore({ maxEntries: 1000, now: () => 0 });
  const hash = createKeyedHash("k".repeat(64));
  const limits = limitsWith({
    perNumber: undefined,
    perPrefix: undefined,
    perIp: { max: 2, windowMs: 3_600_000 },
  });
  let allowed = 0;
  for (let i = 1; i <= 7; i++) {
    const to = parsePhone(`+4474001234${String(i).padStart(2, "0")}`)!;
    const ip = i % 2 ? `2001:DB8:1:2::${i.toString(16)}` : `2001:db8:1:2:0:0:0:${i.toString(16)}`;
    if (!await checkLimits({ to, ip }, limits, { counters, hash, now: () => 0 })) allowed += 1;
  }
  assert.equal(allowed, 2);
});

// --- 8. Cheap denial-of-service levers: the body limit fits real payloads ------------------

Deno.test("issue 14 #8: the body limit fits the largest realistic hook body with margin, and refuses beyond it", async () => {
  const { MAX_BODY_BYTES } = await import("../supabase/functions/_shared/doors/supabase.ts");
  // A user with twenty linked identities (each with its provider's identity_data), 32 KB of
  // user_metadata and 8 KB of app_metadata: more than any sign-in we know of carries.
  const identity = (i: number) => ({
    identity_id: crypto.randomUUID(),
    id: crypto.randomUUID(),
    user_id: crypto.randomUUID(),
    identity_data: {
      sub: String(10 ** 20 + i),
      email: `someone.with.a.long.name.${i}@example.com`,
      full_name: "Someone With A Rather Long Display Name",
      avatar_url: `https://lh3.googleusercontent.com/a/${"x".repeat(120)}`,
      provider_id: String(10 ** 20 + i),
      email_verified: true,
      phone_verified: false,
      custom_claims: { hd: "example.com", locale: "pt-BR" },
    },
    provider: ["google", "github", "apple", "azure", "phone"][i % 5],
    last_sign_in_at: "2026-12-01T00:00:00Z",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    email: `someone.with.a.long.name.${i}@example.com`,
  });
  const payload = supabasePayload({
    phone: "447400123456",
    userMetadata: { profile: "x".repeat(32 * 1024), locale: "pt-BR" },
  }) as { user: Record<string, unknown> };
  payload.user.identities = Array.from({ length: 20 }, (_, i) => identity(i));
  payload.user.app_metadata = {
    provider: "phone",
    providers: ["phone"],
    extra: "y".repeat(8 * 1024),
  };
  const size = new TextEncoder().encode(JSON.stringify(payload)).length;
  assert.ok(
    size * 4 <= MAX_BODY_BYTES,
    `the realistic maximum (${size} B) is under a quarter of the limit`,
  );
  const { app, sent } = testApp();
  const res = await app.request("/send-sms", signedInit(payload));
  assert.equal(await res.text(), "{}", "it is delivered");
  assert.equal(sent.length, 1);
  // One byte over the limit: refused before it is verified.
  const over = JSON.stringify({ ...payload, pad: "z".repeat(MAX_BODY_BYTES) });
  assert.equal((await app.request("/send-sms", signedInit(over))).status, 413);
});

Deno.test("issue 14 #8: health caches its store check and logs a degraded store at most once a minute", async () => {
  const { createApp } = await import("../supabase/functions/_shared/app.ts");
  const { loadConfig } = await import("../supabase/functions/_shared/config.ts");
  const { createMemoryDedupeStore } = await import("../supabase/functions/_shared/store/memory.ts");
  let t = NOW_MS;
  let checks = 0;
  const logs = captureLogs();
  const app = createApp({
    config: loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console" }),
    providers: [],
    store: createMemoryDedupeStore({ maxEntries: 10 }),
    storeStatus: () => {
      checks += 1;
      return Promise.resolve({ kind: "postgres", state: "unreachable" });
    },
    log: createLogger({ level: "info", write: logs.write }),
    now: () => t,
  });
  for (let i = 0; i < 100; i++) {
    t += 100; // 100 calls over 10 s
    const res = await app.request("/send-sms/health");
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: "degraded" });
  }
  assert.ok(checks <= 3, `${checks} store checks for 100 calls`);
  assert.equal(logs.lines.filter((l) => l.includes('"event":"store_degraded"')).length, 1);
});
