// Database faults against the real PostgreSQL (tests/_postgres.ts): stopped, paused (SIGSTOP),
// connection limit reached, statement timeout. For each, through all three doors:
// - OTP_STORE_ON_FAILURE=open delivers on memory, once; closed refuses, sends nothing, and says
//   so in the door's dialect (Auth0: retryable, since nothing left);
// - no request hangs: every answer inside the door's deadline;
// - when the database is back, the store uses it again (the delivery row is there).
import assert from "node:assert/strict";
import postgres from "postgres";
import { appFromEnv, POOL_MAX } from "../../supabase/functions/_shared/bootstrap.ts";
import { createMemoryDedupeStore } from "../../supabase/functions/_shared/store/memory.ts";
import {
  captureLogs,
  HEALTH_AUTH,
  HEALTH_TOKEN,
  randomMobile,
  signedInit,
  supabasePayload,
  testApp,
} from "../_helpers.ts";
import { closeAtTestEnd, dbTest, type TestDatabase, testDatabase } from "../_postgres.ts";
import {
  callerRequest,
  DOOR_NAMES,
  doorDeadlines,
  type DoorName,
  DOORS_ENV,
  readVerdict,
} from "./_callers.ts";

const DEADLINE_MS = doorDeadlines();

/** One instance of the function on `url`, counting what its console provider sends. */
function instance(url: string, mode: "open" | "closed", env: Record<string, string> = {}) {
  const printed: string[] = [];
  const logs = captureLogs();
  const boot = appFromEnv({
    ...DOORS_ENV,
    OTP_HEALTH_TOKEN: HEALTH_TOKEN,
    OTP_PROVIDER: "console",
    DATABASE_URL: url,
    OTP_STORE_ON_FAILURE: mode,
    OTP_DB_TIMEOUT_MS: "300",
    OTP_LIMIT_PER_PREFIX: "off",
    ...env,
  }, { print: (line) => printed.push(line), write: logs.write });
  assert.ok("config" in boot, "configuration is valid");
  closeAtTestEnd(boot);

  /** Sends one new request to `door`; returns the verdict, the time, and its dedupe key. */
  const send = (door: DoorName) => sendAs(door, crypto.randomUUID());
  /** Sends a request with caller id `id` (a retry when the id repeats). */
  async function sendAs(door: DoorName, id: string) {
    const phone = `+${randomMobile()}`;
    const { path, init } = callerRequest(door, { phone, code: "73915284", id });
    const before = printed.length;
    const started = performance.now();
    const res = await boot.app.request(path, init);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < DEADLINE_MS[door], `${door} (${mode}) answered in ${elapsed} ms`);
    const key = { supabase: `supabase:uuid:${id}`, okta: `okta:${id}`, auth0: `auth0:msg_${id}` };
    return { verdict: await readVerdict(door, res), sent: printed.length - before, key: key[door] };
  }
  const health = async () =>
    (await (await boot.app.request("/send-sms/health", { headers: HEALTH_AUTH })).json()).store;
  return { send, sendAs, health, logs: logs.lines };
}

async function rowExists(db: TestDatabase, key: string): Promise<boolean> {
  const sql = db.client();
  try {
    const rows = await sql`select 1 from otp_relay.deliveries where dedupe_key = ${key}`;
    return rows.length === 1;
  } finally {
    await sql.end();
  }
}

/**
 * Runs one fault: `urls` are the instances' databases, `brk` breaks it and returns the repair.
 * Each door is tried in both modes while it is broken, then the closed instance must recover.
 */
async function faultScenario(
  db: TestDatabase,
  urls: { open: string; closed: string },
  brk: () => Promise<() => Promise<void>>,
  /** Shows the fault is real (a direct query fails), with the repair already in hand. */
  proof: () => Promise<void>,
  env: Record<string, string> = {},
) {
  const open = instance(urls.open, "open", env);
  const closed = instance(urls.closed, "closed", env);
  // Healthy first: both use the database.
  for (const door of DOOR_NAMES) {
    const sent = await closed.send(door);
    assert.equal(sent.verdict.kind, "delivered");
    assert.ok(await rowExists(db, sent.key), "the healthy delivery is in the database");
  }

  const repair = await brk();
  try {
    await proof();
    for (const door of DOOR_NAMES) {
      const delivered = await open.send(door);
      assert.equal(delivered.verdict.kind, "delivered", `${door}: open mode delivers`);
      assert.equal(delivered.sent, 1, `${door}: once`);
      const refused = await closed.send(door);
      assert.equal(refused.verdict.kind, "failed", `${door}: closed mode refuses`);
      assert.equal(refused.sent, 0, `${door}: nothing sent`);
      if (door === "auth0") assert.equal(refused.verdict.retryable, true, "nothing left: retry");
    }
    assert.ok(open.logs.some((l) => l.includes('"event":"store_unavailable_fallback"')));
    assert.ok(closed.logs.some((l) => l.includes('"event":"store_unavailable"')));
  } finally {
    await repair();
  }

  // Back: after the circuit breaker's pause (5 s at most) the database is used again.
  const until = Date.now() + 15_000;
  let recovered: Awaited<ReturnType<typeof closed.send>> | undefined;
  while (Date.now() < until) {
    const attempt = await closed.send("supabase");
    if (attempt.verdict.kind === "delivered") {
      recovered = attempt;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(recovered, "the store recovered");
  assert.ok(await rowExists(db, recovered.key), "the recovered delivery is in the database");
  for (const door of DOOR_NAMES) {
    const sent = await closed.send(door);
    assert.equal(sent.verdict.kind, "delivered", `${door}: delivered after recovery`);
    assert.ok(await rowExists(db, sent.key), `${door}: recorded after recovery`);
  }
  assert.equal((await closed.health()).state, "ok");
}

/** A login role that may use the store's tables (as a member of their owner), with `options`. */
async function role(db: TestDatabase, name: string, options: string): Promise<string> {
  const sql = db.client();
  try {
    await sql.unsafe(`drop role if exists ${name}`);
    await sql.unsafe(`create role ${name} login ${options} in role postgres`);
  } finally {
    await sql.end();
  }
  const url = new URL(db.url);
  url.username = name;
  return url.toString();
}

/** Asserts the fault is real: a direct query on `url` fails or gets no answer within 1 s. */
async function assertBroken(url: string, pattern: RegExp): Promise<void> {
  const probe = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("no answer within 1 s")), 1000)
  );
  try {
    await assert.rejects(
      () => Promise.race([probe`select 1 from otp_relay.deliveries limit 1`, silent]),
      pattern,
    );
  } finally {
    clearTimeout(timer);
    probe.end({ timeout: 0 }).catch(() => {});
  }
}

async function controllable(): Promise<TestDatabase> {
  const db = await testDatabase();
  if (!db.controllable) throw new Error("this test needs the harness's own PostgreSQL");
  return db;
}

dbTest(
  "database fault stopped: open delivers on memory, closed refuses, both recover",
  async () => {
    const db = await controllable();
    await faultScenario(db, { open: db.url, closed: db.url }, async () => {
      await db.stop();
      return () => db.start();
    }, () => assertBroken(db.url, /ECONNREFUSED|connect/i));
  },
);

dbTest(
  "database fault paused (SIGSTOP): no request waits past its deadline; it recovers",
  async () => {
    const db = await controllable();
    await faultScenario(db, { open: db.url, closed: db.url }, async () => {
      await db.pause();
      return () => db.resume();
    }, () => assertBroken(db.url, /no answer within 1 s|CONNECT_TIMEOUT/));
  },
);

dbTest(
  "database fault connection limit reached: open on memory, closed refuses, recovers",
  async () => {
    const db = await controllable();
    // Each instance has its own role with room for its pool; holders take every slot.
    const urls = {
      open: await role(db, "otp_limit_open", `connection limit ${POOL_MAX}`),
      closed: await role(db, "otp_limit_closed", `connection limit ${POOL_MAX}`),
    };
    await faultScenario(db, urls, async () => {
      // The instances' own idle connections would keep working: end them, then take every slot
      // (a terminated backend frees its slot a moment later).
      const admin = db.client();
      await admin`select pg_terminate_backend(pid) from pg_stat_activity
      where usename in ('otp_limit_open', 'otp_limit_closed')`;
      await admin.end();
      const holders = [
        postgres(urls.open, { max: POOL_MAX }),
        postgres(urls.closed, { max: POOL_MAX }),
      ];
      const held: postgres.ReservedSql[] = [];
      for (const holder of holders) {
        for (let slot = 0; slot < POOL_MAX; slot++) {
          for (let tries = 0;; tries++) {
            try {
              held.push(await holder.reserve());
              break;
            } catch (err) {
              if (tries > 40) throw err;
              await new Promise((r) => setTimeout(r, 50));
            }
          }
        }
      }
      return async () => {
        for (const connection of held) connection.release();
        await Promise.all(holders.map((h) => h.end()));
      };
    }, () => assertBroken(urls.closed, /too many connections/));
  },
);

dbTest(
  "database fault statement timeout: a blocked claim is cancelled by the server in time",
  async () => {
    const db = await controllable();
    // The server cancels statements after 150 ms (SQLSTATE 57014), before our own 1 s timeout.
    const urls = {
      open: await role(db, "otp_impatient_open", ""),
      closed: await role(db, "otp_impatient_closed", ""),
    };
    const admin = db.client();
    await admin.unsafe(`alter role otp_impatient_open set statement_timeout = '150ms'`);
    await admin.unsafe(`alter role otp_impatient_closed set statement_timeout = '150ms'`);
    await admin.end();
    await faultScenario(
      db,
      urls,
      async () => {
        // A migration or a VACUUM FULL holding the table: every claim waits on the lock.
        let unlock!: () => void;
        const unlocked = new Promise<void>((r) => unlock = r);
        const locker = db.client();
        let locked!: () => void;
        const isLocked = new Promise<void>((r) => locked = r);
        const holding = locker.begin(async (tx) => {
          await tx`lock table otp_relay.deliveries in access exclusive mode`;
          locked();
          await unlocked;
        });
        await isLocked;
        return async () => {
          unlock();
          await holding;
          await locker.end();
        };
      },
      () => assertBroken(urls.closed, /statement timeout/),
      { OTP_DB_TIMEOUT_MS: "1000" },
    );
  },
);

dbTest(
  "database slow after the claim: the answer still comes by the deadline (settle found in review)",
  async () => {
    // The claim is quick, then recording the outcome stalls (a lock, a failover): before the fix
    // the answer waited for it, up to the whole query timeout past the caller's deadline.
    const memory = createMemoryDedupeStore({ maxEntries: 100, now: Date.now });
    let release!: () => void;
    const stalled = new Promise<void>((r) => release = r);
    const { app, sent, logs } = testApp({
      env: { OTP_DEADLINE_MS: "600" },
      now: Date.now,
      store: {
        claim: (key, options) => memory.claim(key, options),
        settle: async (key, outcome, record) => {
          await stalled;
          await memory.settle(key, outcome, record);
        },
      },
    });
    const payload = supabasePayload({ uuid: crypto.randomUUID() });
    const post = () =>
      app.request(
        "/send-sms",
        signedInit(payload, { timestamp: Math.floor(Date.now() / 1000) }),
      );
    const started = performance.now();
    const res = await post();
    const elapsed = performance.now() - started;
    assert.equal(await res.text(), "{}");
    assert.ok(elapsed < 600 + 300, `answered in ${elapsed} ms`);
    assert.ok(logs.lines.some((l) => l.includes('"event":"store_settle_late"')));
    // The record lands when the database is back; a retry is then answered from it.
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(await (await post()).text(), "{}");
    assert.equal(sent.length, 1, "sent once");
  },
);

dbTest(
  "postgres: caller ids with NUL or lone surrogates are distinct keys, each sent once (found in review)",
  async () => {
    const db = await testDatabase();
    const app = instance(db.url, "closed");
    // Okta's eventId is any text to the door. Before, NUL made PostgreSQL refuse the claim (closed
    // mode: a refused code) and two lone surrogates were folded into one key (a lost code).
    const ids = [`evt\u0000${crypto.randomUUID()}`, `evt\ud800${crypto.randomUUID()}`];
    ids.push(ids[1]!.replace("\ud800", "\udfff"));
    for (const id of ids) {
      const first = await app.sendAs("okta", id);
      assert.equal(first.verdict.kind, "delivered", JSON.stringify(id));
      assert.equal(first.sent, 1);
      const again = await app.sendAs("okta", id);
      assert.equal(again.verdict.kind, "delivered");
      assert.equal(again.sent, 0, "a retry of the same id is not sent again");
    }
  },
);
