// Several providers on the shared store (real PostgreSQL): opt-outs, statuses scoped by provider,
// and the 24-hour view of attempts per provider.
import assert from "node:assert/strict";
import type { Outcome } from "../../supabase/functions/_shared/delivery/types.ts";
import {
  createPostgresDedupeStore,
  createPostgresOptOutStore,
  createPostgresStatusLog,
  createQueryRunner,
} from "../../supabase/functions/_shared/store/postgres.ts";
import { dbTest, testDatabase } from "../_postgres.ts";

async function runnerFor(url: string) {
  const { default: postgres } = await import("postgres");
  return createQueryRunner({
    timeoutMs: 2000,
    connect: () => Promise.resolve(postgres(url, { max: 2, prepare: false, onnotice: () => {} })),
  });
}

dbTest("postgres opt-outs: record, find, refresh, clear per provider and all", async () => {
  const db = await testDatabase();
  const runner = await runnerFor(db.url);
  try {
    const { createKeyedHash } = await import("../../supabase/functions/_shared/delivery/limits.ts");
    const keyed = createKeyedHash("k".repeat(64));
    const optOuts = createPostgresOptOutStore(runner, keyed);
    const number = `+1415555${String(1000 + Math.floor(Math.random() * 9000))}`;
    const hash = await keyed(`number:${number}`);
    assert.deepEqual(await optOuts.find(number), []);
    await optOuts.record(number, "twilio", "send");
    await optOuts.record(number, "twilio", "report"); // a refresh, not a second row
    await optOuts.record(number, "vonage", "report");
    assert.deepEqual([...await optOuts.find(number)].sort(), ["twilio", "vonage"]);
    const sql = db.client();
    try {
      const rows = await sql`select provider, source from otp_relay.opt_outs
        where to_hash = ${hash} order by provider`;
      assert.deepEqual(rows.map((r) => [r.provider, r.source]), [
        ["twilio", "report"],
        ["vonage", "report"],
      ]);
    } finally {
      await sql.end();
    }
    await optOuts.clear(number, "twilio");
    assert.deepEqual(await optOuts.find(number), ["vonage"]);
    await optOuts.clear(number);
    assert.deepEqual(await optOuts.find(number), []);
  } finally {
    await runner.close?.();
  }
});

dbTest(
  "postgres: a status is recorded only on the delivery of the provider that reports it",
  async () => {
    const db = await testDatabase();
    const runner = await runnerFor(db.url);
    try {
      const store = createPostgresDedupeStore({ runner });
      const statusLog = createPostgresStatusLog(runner);
      const id = `shared-${crypto.randomUUID()}`;
      const key = `supabase:uuid:${crypto.randomUUID()}`;
      await store.claim(key, { ttlMs: 60_000, deadline: Date.now() + 4000, door: "supabase" });
      await store.settle(key, {
        ok: true,
        channel: "sms",
        provider: "vonage",
        id,
        attempts: [{ channel: "sms", provider: "vonage", ok: true, id, ms: 80 }],
      });
      assert.equal(await statusLog.recordStatus("telnyx", id, "delivered", undefined), false);
      assert.equal(await statusLog.recordStatus("vonage", id, "undelivered", 9), true);
      // A final status is never replaced by another final one (a replayed report), while 'read'
      // (WhatsApp, after delivered) still moves forward.
      assert.equal(await statusLog.recordStatus("vonage", id, "delivered", undefined), false);
      assert.equal(await statusLog.recordStatus("vonage", id, "sent", undefined), false);
      const sql = db.client();
      try {
        const [row] = await sql`select delivery_status, delivery_error_code
        from otp_relay.deliveries where dedupe_key = ${key}`;
        assert.deepEqual([row?.delivery_status, row?.delivery_error_code], ["undelivered", 9]);
      } finally {
        await sql.end();
      }
    } finally {
      await runner.close?.();
    }
  },
);

dbTest(
  "postgres: provider_attempts_24h counts every attempt per provider, not only the last",
  async () => {
    const db = await testDatabase();
    const runner = await runnerFor(db.url);
    const country = "ZW"; // a country no other test uses, so the counts are this test's
    try {
      const store = createPostgresDedupeStore({ runner });
      const outcomes: Outcome[] = [
        // Twilio timed out, Vonage delivered.
        {
          ok: true,
          channel: "sms",
          provider: "vonage",
          id: "v-1",
          attempts: [
            { channel: "sms", provider: "twilio", ok: false, reason: "timeout", ms: 1500 },
            { channel: "sms", provider: "vonage", ok: true, id: "v-1", ms: 90 },
          ],
        },
        // Twilio delivered.
        {
          ok: true,
          channel: "sms",
          provider: "twilio",
          id: "SM1",
          attempts: [{ channel: "sms", provider: "twilio", ok: true, id: "SM1", ms: 200 }],
        },
        // Twilio refused the number; nothing else was tried.
        {
          ok: false,
          reason: "invalid_number",
          sent: "no",
          attempts: [
            { channel: "sms", provider: "twilio", ok: false, reason: "invalid_number", ms: 100 },
          ],
        },
      ];
      for (const outcome of outcomes) {
        const key = `supabase:uuid:${crypto.randomUUID()}`;
        await store.claim(key, { ttlMs: 60_000, deadline: Date.now() + 4000, door: "supabase" });
        await store.settle(key, outcome, {
          toMasked: "+263•••",
          country,
          numberType: "MOBILE",
          ms: 1,
        });
      }
      const sql = db.client();
      try {
        const rows = await sql`select provider, channel, attempts::int, accepted::int,
          timeouts::int, number_verdicts::int, accepted_pct::float8
        from otp_relay.provider_attempts_24h where country = ${country} order by provider`;
        assert.deepEqual(rows.map((r) => ({ ...r })), [
          {
            provider: "twilio",
            channel: "sms",
            attempts: 3,
            accepted: 1,
            timeouts: 1,
            number_verdicts: 1,
            accepted_pct: 33.3,
          },
          {
            provider: "vonage",
            channel: "sms",
            attempts: 1,
            accepted: 1,
            timeouts: 0,
            number_verdicts: 0,
            accepted_pct: 100,
          },
        ]);
        // Nothing for the Data API roles.
        const [grant] = await sql`select has_table_privilege('anon',
          'otp_relay.provider_attempts_24h', 'select') as anon,
        has_table_privilege('authenticated', 'otp_relay.opt_outs', 'select') as authenticated`;
        assert.deepEqual([grant?.anon, grant?.authenticated], [false, false]);
      } finally {
        await sql.end();
      }
    } finally {
      await runner.close?.();
    }
  },
);

dbTest(
  "deno task opt-outs: the owner lists records (no numbers) and clears a number's",
  async () => {
    const { main } = await import("../../scripts/opt-outs.ts");
    const { createKeyedHash } = await import("../../supabase/functions/_shared/delivery/limits.ts");
    const { readHashKey } = await import("../../supabase/functions/_shared/store/postgres.ts");
    const db = await testDatabase();
    const runner = await runnerFor(db.url);
    try {
      const number = "+14155550177";
      const hash = createKeyedHash(await readHashKey(runner));
      const optOuts = createPostgresOptOutStore(runner, hash);
      const numberHash = await hash(`number:${number}`);
      await optOuts.record(number, "plivo", "report");
      await optOuts.record(number, "telnyx", "send");

      const listed: string[] = [];
      assert.equal(await main(["list"], { DATABASE_URL: db.url }, (l) => listed.push(l)), 0);
      const text = listed.join("\n");
      assert.ok(text.includes(numberHash) && text.includes("plivo") && text.includes("report"));
      assert.ok(!text.includes("4155550177"), "the number itself is never shown");

      const out: string[] = [];
      const env = { DATABASE_URL: db.url };
      assert.equal(
        await main(["clear", number, "--provider", "plivo"], env, (l) => out.push(l)),
        0,
      );
      assert.deepEqual(await optOuts.find(number), ["telnyx"]);
      assert.equal(await main(["clear", number], env, (l) => out.push(l)), 0);
      assert.deepEqual(await optOuts.find(number), []);
      assert.deepEqual(out, [
        "Cleared the opt-out(s) at plivo.",
        "Cleared the opt-out(s) at telnyx.",
      ]);
      assert.equal(await main(["clear", "not a number"], env, (l) => out.push(l)), 2);
      assert.equal(await main(["list"], {}, (l) => out.push(l)), 2, "no database URL");
    } finally {
      await runner.close?.();
    }
  },
);

dbTest(
  "postgres: the retention purge runs once an hour in all, claimed atomically, not per isolate",
  async () => {
    const { purgeIfDue } = await import("../../supabase/functions/_shared/store/postgres.ts");
    const db = await testDatabase();
    const sql = db.client();
    const runners = await Promise.all([runnerFor(db.url), runnerFor(db.url), runnerFor(db.url)]);
    try {
      // Due: as if the last run was two hours ago.
      await sql`insert into otp_relay.maintenance (name, last_run) values ('purge', now() - interval '2 hours')
      on conflict (name) do update set last_run = excluded.last_run`;
      // Three new isolates ask at once: one purges, the others are told it is not due.
      const results = await Promise.all(runners.map((r) => purgeIfDue(r, 30)));
      assert.equal(results.filter((r) => typeof r === "number").length, 1, JSON.stringify(results));
      assert.equal(results.filter((r) => r === undefined).length, 2);
      // Within the hour, nobody purges again.
      assert.equal(await purgeIfDue(runners[0]!, 30), undefined);
      await sql`update otp_relay.maintenance set last_run = now() - interval '61 minutes'
      where name = 'purge'`;
      assert.equal(typeof await purgeIfDue(runners[1]!, 30), "number");
      const [priv] = await sql`select has_function_privilege('anon',
      'otp_relay.purge_if_due(integer, integer)', 'execute') as ok`;
      assert.equal(priv!.ok, false);
    } finally {
      await sql.end();
      for (const r of runners) await r.close?.();
    }
  },
);

dbTest(
  "issue 14 (settle ownership): a claim that expired and was re-claimed elsewhere is not overwritten by its late settle",
  async () => {
    const db = await testDatabase();
    const runner = await runnerFor(db.url);
    try {
      const a = createPostgresDedupeStore({ runner });
      const b = createPostgresDedupeStore({ runner });
      const key = `supabase:uuid:${crypto.randomUUID()}`;
      const deadline = Date.now() + 4000;
      assert.equal((await a.claim(key, { ttlMs: 1, deadline, door: "supabase" })).kind, "first");
      await new Promise((r) => setTimeout(r, 20)); // A's claim expires mid-delivery
      assert.equal(
        (await b.claim(key, { ttlMs: 60_000, deadline, door: "supabase" })).kind,
        "first",
      );
      const outcome = (provider: string): Outcome => ({
        ok: true,
        channel: "sms",
        provider,
        id: `${provider}-1`,
        attempts: [],
      });
      await a.settle(key, outcome("late-a")); // A finishes late: it no longer owns the row
      const sql = db.client();
      try {
        const [mid] = await sql`select state from otp_relay.deliveries where dedupe_key = ${key}`;
        assert.equal(mid?.state, "sending", "B's claim is untouched");
        await b.settle(key, outcome("b"));
        const [row] = await sql`select state, provider from otp_relay.deliveries
        where dedupe_key = ${key}`;
        assert.deepEqual([row?.state, row?.provider], ["sent", "b"]);
      } finally {
        await sql.end();
      }
    } finally {
      await runner.close?.();
    }
  },
);
