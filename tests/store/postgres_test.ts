// The shared store against a real PostgreSQL (tests/_postgres.ts starts one when DATABASE_URL is
// unset): several instances of the function, one database.
import assert from "node:assert/strict";
import postgres from "postgres";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import type { Outcome } from "../../supabase/functions/_shared/delivery/types.ts";
import {
  createPostgresDedupeStore,
  createQueryRunner,
  type QueryRunner,
} from "../../supabase/functions/_shared/store/postgres.ts";
import {
  captureLogs,
  HEALTH_AUTH,
  HEALTH_TOKEN,
  randomMobile,
  signedInit,
  supabasePayload,
  TEST_SECRET,
} from "../_helpers.ts";
import { closeAtTestEnd, dbTest, testDatabase } from "../_postgres.ts";

const DELIVERED: Outcome = {
  ok: true,
  channel: "sms",
  provider: "console",
  id: "console-1",
  attempts: [],
};

/** One instance of the deployed function on `url`, counting what its console provider sends. */
function instance(url: string, env: Record<string, string> = {}) {
  const printed: string[] = [];
  const logs = captureLogs();
  const boot = appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    DATABASE_URL: url,
    OTP_HEALTH_TOKEN: HEALTH_TOKEN,
    ...env,
  }, { print: (line) => printed.push(line), write: logs.write });
  assert.ok("config" in boot);
  closeAtTestEnd(boot);
  const post = (body: string, id: string) =>
    Promise.resolve(boot.app.request(
      "/send-sms",
      signedInit(body, { id, timestamp: Math.floor(Date.now() / 1000) }),
    ));
  const health = async () =>
    await (await boot.app.request("/send-sms/health", { headers: HEALTH_AUTH })).json();
  return { post, printed, logs: logs.lines, health };
}

dbTest("postgres: two instances racing 50 copies of one request send exactly once", async () => {
  const db = await testDatabase();
  const a = instance(db.url);
  const b = instance(db.url);
  const body = JSON.stringify(supabasePayload({ phone: randomMobile() }));
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).post(body, `msg_${i}`)),
  );
  for (const res of answers) assert.equal(await res.text(), "{}");
  assert.equal(a.printed.length + b.printed.length, 1, "exactly one message left");
});

dbTest("postgres: a retry landing on another instance later is answered from the row", async () => {
  const db = await testDatabase();
  const a = instance(db.url);
  const b = instance(db.url);
  const body = JSON.stringify(supabasePayload({ phone: randomMobile() }));
  assert.equal(await (await a.post(body, "msg_1")).text(), "{}");
  assert.equal(await (await b.post(body, "msg_2")).text(), "{}");
  assert.equal(a.printed.length + b.printed.length, 1);
  assert.ok(b.logs.some((l) => l.includes(`"duplicate_replayed"`)));
});

dbTest("postgres: different requests are all delivered, and health says ok", async () => {
  const db = await testDatabase();
  const a = instance(db.url);
  for (let i = 0; i < 5; i++) {
    assert.equal(
      await (await a.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), `m${i}`))
        .text(),
      "{}",
    );
  }
  assert.equal(a.printed.length, 5);
  const health = await a.health();
  assert.deepEqual([health.status, health.store], ["ok", { kind: "postgres", state: "ok" }]);
});

dbTest(
  "postgres store: a failure Twilio certainly refused may be retried, an unknown one not",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    try {
      const store = createPostgresDedupeStore({
        connect: () => Promise.resolve(sql),
        timeoutMs: 2000,
      });
      const opts = { ttlMs: 60_000, deadline: Date.now() + 1000, door: "supabase" };
      const refused = `k-${crypto.randomUUID()}`;
      assert.equal((await store.claim(refused, opts)).kind, "first");
      await store.settle(refused, { ok: false, reason: "rate_limited", sent: "no", attempts: [] });
      assert.equal((await store.claim(refused, opts)).kind, "first");

      const unknown = `k-${crypto.randomUUID()}`;
      await store.claim(unknown, opts);
      const timeout: Outcome = { ok: false, reason: "timeout", sent: "unknown", attempts: [] };
      await store.settle(unknown, timeout);
      const again = await store.claim(unknown, opts);
      assert.equal(again.kind, "duplicate");
      assert.deepEqual(await (again.kind === "duplicate" && again.outcome), timeout);
    } finally {
      await sql.end();
    }
  },
);

dbTest("postgres store: an expired claim can be claimed again", async () => {
  const db = await testDatabase();
  const sql = db.client();
  try {
    const store = createPostgresDedupeStore({
      connect: () => Promise.resolve(sql),
      timeoutMs: 2000,
    });
    const key = `k-${crypto.randomUUID()}`;
    const opts = { ttlMs: 50, deadline: Date.now() + 1000, door: "supabase" };
    await store.claim(key, opts);
    await store.settle(key, DELIVERED);
    assert.equal((await store.claim(key, opts)).kind, "duplicate");
    await new Promise((r) => setTimeout(r, 80));
    assert.equal((await store.claim(key, opts)).kind, "first");
  } finally {
    await sql.end();
  }
});

dbTest(
  "postgres store: a claim left 'sending' by a dead instance is answered as unknown",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    try {
      const store = createPostgresDedupeStore({
        connect: () => Promise.resolve(sql),
        timeoutMs: 2000,
        staleSendingMs: 1000,
      });
      const key = `k-${crypto.randomUUID()}`;
      const opts = { ttlMs: 60_000, deadline: Date.now() + 1000, door: "supabase" };
      await store.claim(key, opts);
      await sql`update otp_relay.deliveries set updated_at = now() - interval '1 hour'
      where dedupe_key = ${key}`;
      const dup = await store.claim(key, opts);
      assert.equal(dup.kind, "duplicate");
      const outcome = await (dup.kind === "duplicate" && dup.outcome);
      assert.ok(outcome && !outcome.ok && outcome.sent === "unknown");
    } finally {
      await sql.end();
    }
  },
);

dbTest(
  "postgres: a database without the migration is detected; deliveries go on in memory",
  async () => {
    const db = await testDatabase();
    const admin = db.client();
    const name = `bare_${crypto.randomUUID().replaceAll("-", "")}`;
    try {
      await admin.unsafe(`create database ${name}`);
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      const app = instance(url.toString(), { OTP_STORE_ON_FAILURE: "closed" });
      const res = await app.post(
        JSON.stringify(supabasePayload({ phone: randomMobile() })),
        "msg_1",
      );
      assert.equal(
        await res.text(),
        "{}",
        "even in closed mode: the schema is missing, not the database",
      );
      assert.equal(app.printed.length, 1);
      assert.ok(app.logs.some((l) => l.includes(`"store_migration_missing"`)));
      const health = await app.health();
      assert.deepEqual([health.status, health.store.state], ["degraded", "migration_missing"]);
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  },
);

dbTest("postgres: unreachable database → open delivers on memory, closed fails fast", async () => {
  // A port nothing listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const open = instance(url, { OTP_DB_TIMEOUT_MS: "300" });
  assert.equal(
    await (await open.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), "m1"))
      .text(),
    "{}",
  );
  assert.equal(open.printed.length, 1);
  assert.ok(open.logs.some((l) => l.includes(`"store_unavailable_fallback"`)));
  assert.equal((await open.health()).store.state, "unreachable");

  const closed = instance(url, { OTP_DB_TIMEOUT_MS: "300", OTP_STORE_ON_FAILURE: "closed" });
  const started = performance.now();
  const body =
    await (await closed.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), "m2"))
      .json();
  assert.equal(body.error.http_code, 500);
  assert.equal(closed.printed.length, 0);
  assert.ok(performance.now() - started < 2000, "fails fast");
});

// The database stopped, paused, out of connections or timing out: tests/faults/database_test.ts.

dbTest("postgres: the delivery row holds the outcome, never the code or the number", async () => {
  const db = await testDatabase();
  const app = instance(db.url);
  const uuid = crypto.randomUUID();
  const payload = supabasePayload({ uuid, otp: "918273", phone: "447400123456" });
  assert.equal(await (await app.post(JSON.stringify(payload), "m")).text(), "{}");
  const sql = db.client();
  try {
    const [row] = await sql`select * from otp_relay.deliveries
      where dedupe_key = ${`supabase:uuid:${uuid}`}`;
    assert.ok(row);
    assert.equal(row.state, "sent");
    assert.equal(row.outcome.channel, "sms");
    // The delivery log columns.
    assert.equal(row.to_masked, "+4474•••••456");
    assert.match(row.to_hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      [row.country, row.number_type, row.channel, row.provider, row.reason],
      ["GB", "MOBILE", "sms", "console", null],
    );
    assert.match(row.provider_id, /^console-\d+$/);
    assert.equal(typeof row.ms, "number");
    const text = JSON.stringify(row);
    assert.ok(!text.includes("918273") && !text.includes("447400123456"));
  } finally {
    await sql.end();
  }
});

dbTest(
  "postgres store: a query over its budget is cancelled and reported as a timeout",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    const blocker = postgres(db.url, { max: 1, onnotice: () => {} });
    const key = `k-${crypto.randomUUID()}`;
    try {
      const store = createPostgresDedupeStore({
        connect: () => Promise.resolve(sql),
        timeoutMs: 200,
      });
      // Hold a lock on the row so that the claim's upsert waits.
      await sql`insert into otp_relay.deliveries (dedupe_key, door, dedupe_until)
      values (${key}, 'supabase', now() + interval '1 minute')`;
      const locked = blocker.begin(async (tx) => {
        await tx`select 1 from otp_relay.deliveries where dedupe_key = ${key} for update`;
        await new Promise((r) => setTimeout(r, 1000));
      });
      await new Promise((r) => setTimeout(r, 50));
      const started = performance.now();
      await assert.rejects(
        () => store.claim(key, { ttlMs: 60_000, deadline: Date.now() + 1000, door: "supabase" }),
        { name: "StoreTimeoutError" },
      );
      assert.ok(performance.now() - started < 800);
      await locked;
    } finally {
      await blocker.end();
      await sql.end();
    }
  },
);

dbTest(
  "postgres store: a claim whose insert is replayed after a lost answer is still ours",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    try {
      const real = createQueryRunner({ connect: () => Promise.resolve(sql), timeoutMs: 2000 });
      let replayed = false;
      // As if the first insert succeeded but its answer was lost and the runner ran it again.
      const runner: QueryRunner = {
        async query<T>(build: Parameters<QueryRunner["query"]>[0]): Promise<T[]> {
          const rows = await real.query<T>(build);
          if (replayed) return rows;
          replayed = true;
          return await real.query<T>(build);
        },
      };
      const store = createPostgresDedupeStore({ runner });
      const key = `k-${crypto.randomUUID()}`;
      const opts = { ttlMs: 60_000, deadline: Date.now() + 500, door: "supabase" };
      assert.deepEqual(await store.claim(key, opts), { kind: "first" });
      // Someone else's claim of the same key is a duplicate.
      const other = createPostgresDedupeStore({ runner: real });
      assert.equal((await other.claim(key, opts)).kind, "duplicate");
    } finally {
      await sql.end();
    }
  },
);

dbTest(
  "postgres: the 24-hour view gives success rate and latency per channel/provider/country",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    const country = "ZZ"; // a marker no other test uses
    try {
      for (
        const [state, ms, status] of [["sent", 100, "delivered"], ["sent", 300, "undelivered"], [
          "failed",
          50,
          null,
        ]] as const
      ) {
        await sql`insert into otp_relay.deliveries
        (dedupe_key, door, dedupe_until, state, channel, provider, country, ms, delivery_status)
        values (${`view-${crypto.randomUUID()}`}, 'supabase', now(), ${state}, 'sms', 'twilio',
          ${country}, ${ms}, ${status})`;
      }
      await sql`insert into otp_relay.deliveries (dedupe_key, door, dedupe_until, state, channel,
        provider, country, ms, created_at)
      values (${`view-${crypto.randomUUID()}`}, 'supabase', now(), 'sent', 'sms', 'twilio',
        ${country}, 10, now() - interval '2 days')`;
      const [row] =
        await sql`select * from otp_relay.delivery_stats_24h where country = ${country}`;
      assert.ok(row);
      assert.deepEqual(
        [Number(row.deliveries), Number(row.accepted), Number(row.accepted_pct)],
        [3, 2, 66.7],
      );
      assert.deepEqual([Number(row.delivered), Number(row.undelivered)], [1, 1]);
      assert.equal(Number(row.p50_ms), 100);
    } finally {
      await sql`delete from otp_relay.deliveries where country = ${country}`;
      await sql.end();
    }
  },
);

dbTest(
  "postgres: retention purges old deliveries and expired counters, keeps the rest",
  async () => {
    const db = await testDatabase();
    const sql = db.client();
    const tag = `purge-${crypto.randomUUID()}`;
    try {
      await sql`insert into otp_relay.deliveries (dedupe_key, door, dedupe_until, state, created_at)
      values (${`${tag}-old`}, 'supabase', now(), 'sent', now() - interval '31 days'),
             (${`${tag}-new`}, 'supabase', now(), 'sent', now() - interval '29 days'),
             (${`${tag}-stuck`}, 'supabase', now() + interval '1 minute', 'sending',
               now() - interval '40 days'),
             (${`${tag}-dead`}, 'supabase', now() - interval '1 minute', 'sending',
               now() - interval '40 days')`;
      await sql`insert into otp_relay.limit_counters (scope, key, bucket, count, expires_at)
      values ('number', ${tag}, 1, 3, now() - interval '1 minute'),
             ('number', ${tag}, 2, 3, now() + interval '1 minute')`;
      const [{ removed }] = await sql`select otp_relay.purge(30) as removed` as unknown as [
        { removed: number },
      ];
      assert.ok(removed >= 1);
      const left = await sql`select dedupe_key from otp_relay.deliveries
      where dedupe_key like ${tag + "%"} order by 1`;
      assert.deepEqual(left.map((r) => r.dedupe_key), [`${tag}-new`, `${tag}-stuck`]);
      const counters = await sql`select bucket from otp_relay.limit_counters where key = ${tag}`;
      assert.deepEqual(counters.map((r) => Number(r.bucket)), [2]);
      await assert.rejects(() => sql`select otp_relay.purge(0)`, /at least 1/);
      const [priv] = await sql`select has_function_privilege('anon', 'otp_relay.purge(integer)',
      'EXECUTE') as ok`;
      assert.equal(priv!.ok, false, "anon can't purge");
    } finally {
      await sql`delete from otp_relay.deliveries where dedupe_key like ${tag + "%"}`;
      await sql`delete from otp_relay.limit_counters where key = ${tag}`;
      await sql.end();
    }
  },
);

/** A TCP server that accepts connections and never answers: a hung database. */
function hungDatabase(): { url: string; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) conns.push(conn);
  })().catch(() => {});
  return {
    url: `postgres://postgres@127.0.0.1:${(listener.addr as Deno.NetAddr).port}/postgres`,
    close: () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

dbTest({
  name: "postgres: a database that never answers costs one timeout, then is skipped (open mode)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const hung = hungDatabase();
    try {
      const app = instance(hung.url);
      let started = performance.now();
      assert.equal(
        await (await app.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), "a"))
          .text(),
        "{}",
      );
      const first = performance.now() - started;
      assert.ok(first < 2000, `first request took ${first} ms (one 800 ms timeout, not several)`);
      started = performance.now();
      assert.equal(
        await (await app.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), "b"))
          .text(),
        "{}",
      );
      const second = performance.now() - started;
      assert.ok(second < 300, `second request took ${second} ms: the breaker skips the database`);
      assert.equal(app.printed.length, 2);
    } finally {
      hung.close();
    }
  },
});

dbTest({
  name: "postgres: a database that never answers fails fast in closed mode",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const hung = hungDatabase();
    try {
      const app = instance(hung.url, { OTP_STORE_ON_FAILURE: "closed" });
      const started = performance.now();
      const body =
        await (await app.post(JSON.stringify(supabasePayload({ phone: randomMobile() })), "a"))
          .json();
      assert.equal(body.error.http_code, 500);
      assert.ok(performance.now() - started < 2000);
      assert.equal(app.printed.length, 0);
    } finally {
      hung.close();
    }
  },
});
