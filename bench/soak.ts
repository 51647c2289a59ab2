/**
 * The soak: `deno task soak` runs two instances of the function on one PostgreSQL store, for
 * minutes, at a steady rate through all three doors, with duplicate deliveries (Auth's retries,
 * some racing their original, some later, half on the other instance), invalid signatures, and a
 * Twilio (the local fake) that fails a share of the time. Then it reconciles what the callers
 * were told, what the database recorded and what Twilio accepted, and writes
 * bench/RELIABILITY.md.
 *
 * ```sh
 * deno task soak                       # 5 minutes at 40 requests/s
 * deno task soak --minutes 1 --rate 50 --seed 7 --out /tmp/RELIABILITY.md
 * ```
 *
 * Loopback only. It exits with 1 when a reconciliation check fails.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";
import { ALL_CHANNELS_ENV } from "../tests/_deployment.ts";
import { testDatabase } from "../tests/_postgres.ts";
import {
  callerRequest,
  DEADLINE_SLACK_MS,
  doorDeadlines,
  type DoorName,
  DOORS_ENV,
  readVerdict,
  type Verdict,
} from "../tests/faults/_callers.ts";
import { FAULTS, startFaultyTwilio } from "../tests/fakes/faulty-twilio.ts";
import { machine, percentile } from "./_common.ts";

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  readonly seconds: number;
  /** Requests per second, sent on schedule whatever the answers take (an open loop). */
  readonly rate: number;
  readonly seed: number;
  readonly duplicateShare?: number;
  readonly invalidShare?: number;
  readonly providerFailureShare?: number;
  /** Progress lines. */
  readonly progress?: (line: string) => void;
}

/** One reconciliation check: what was expected, what was found. */
export interface Check {
  readonly name: string;
  readonly expected: number | string;
  readonly observed: number | string;
  readonly ok: boolean;
}

/** What a soak found. */
export interface SoakReport {
  readonly options: Required<Omit<SoakOptions, "progress">>;
  readonly elapsedS: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly faults: Readonly<Record<string, number>>;
  readonly channels: Readonly<Record<string, number>>;
  readonly latency: readonly {
    door: DoorName;
    n: number;
    p50: number;
    p99: number;
    max: number;
    deadline: number;
  }[];
  readonly checks: readonly Check[];
  readonly ok: boolean;
}

const DEADLINES = doorDeadlines();
const FOREIGN_SECRET = "whsec_" + btoa("not the secret of this deployment");

/** A small seeded PRNG (mulberry32): the same seed, the same run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One logical delivery: the first request of it, and what its caller was told. */
interface Original {
  readonly door: DoorName;
  readonly id: string;
  readonly key: string;
  readonly phone: string;
  readonly code: string;
  verdict?: Verdict;
}

interface Sent {
  readonly kind: "original" | "duplicate" | "invalid";
  readonly door: DoorName;
  readonly of: Original;
  status?: number;
  verdict?: Verdict;
  ms?: number;
  error?: string;
}

/** Provider ids (Twilio SIDs): 32 hex digits, which can hold 8 decimal digits in a row. */
const PROVIDER_ID = /\b(?:SM|MM|CA|MG|HX|AC)[0-9a-f]{32}\b/g;

/**
 * Log lines that hold one of `codes` (8 digits), with the event and field each was found in.
 * A code counts as a run of exactly its digits; provider ids are skipped, since their hex can
 * spell any 8 digits by chance.
 */
export function codesInLogs(
  lines: readonly string[],
  codes: ReadonlySet<string>,
): { where: string }[] {
  const found: { where: string }[] = [];
  for (const line of lines) {
    const runs = line.replace(PROVIDER_ID, "").match(/(?<!\d)\d{8}(?!\d)/g) ?? [];
    const hit = runs.find((d) => codes.has(d));
    if (!hit) continue;
    let where = "?";
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const field = Object.entries(entry).find(([, v]) => JSON.stringify(v).includes(hit))?.[0];
      where = `${entry.event}.${field}`;
    } catch { /* not JSON: "?" */ }
    found.push({ where });
  }
  return found;
}

/** Runs the soak. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const o = {
    duplicateShare: 0.05,
    invalidShare: 0.01,
    providerFailureShare: 0.10,
    ...options,
  };
  const say = options.progress ?? (() => {});
  // Two streams: the schedule (doors, retries, invalid requests, numbers, codes, ids) replays
  // exactly from the seed; which delivery meets which Twilio fault depends on arrival order.
  const random = prng(o.seed);
  const faultRandom = prng(o.seed ^ 0x5eed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;

  // Twilio fails a share of requests in every way the faulty fake knows: errors, throttling, a
  // proxy, silence, resets, and answers lost after the message was created.
  const faults: Record<string, number> = {};
  const fake = startFaultyTwilio({
    fault() {
      if (faultRandom() >= o.providerFailureShare) return undefined;
      const kind = FAULTS[Math.floor(faultRandom() * FAULTS.length)]!;
      faults[kind] = (faults[kind] ?? 0) + 1;
      return kind;
    },
  });

  const db = await testDatabase();
  const events: Record<string, number> = {};
  const logLines: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  const servers = [0, 1].map((instance) => {
    const boot = appFromEnv({
      ...DOORS_ENV,
      ...ALL_CHANNELS_ENV,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_API_BASE_URL: fake.baseUrl,
      OTP_CHANNELS: "sms,whatsapp,voice",
      DATABASE_URL: db.url,
      // Every request has its own number; a number block would trip after 20.
      OTP_LIMIT_PER_PREFIX: "off",
    }, {
      write: (_level, line) => {
        const event = line.match(/"event":"([^"]+)"/)?.[1] ?? "?";
        events[event] = (events[event] ?? 0) + 1;
        logLines.push(line);
      },
    });
    if (!("config" in boot)) throw new Error(`instance ${instance}: ${boot.error.message}`);
    closers.push(boot.close);
    return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, boot.app.fetch);
  });
  const urls = servers.map((s) => `http://127.0.0.1:${s.addr.port}`);

  const phones = new Set<string>();
  const uniquePhone = () => {
    for (;;) {
      const phone = `+4474${String(Math.floor(random() * 1e8)).padStart(8, "0")}`;
      if (!phones.has(phone)) {
        phones.add(phone);
        return phone;
      }
    }
  };
  const newOriginal = (door: DoorName): Original => {
    const hex = () => Math.floor(random() * 2 ** 32).toString(16).padStart(8, "0");
    const id = `${hex()}-${hex()}-${hex()}-${hex()}`;
    const key = { supabase: `supabase:uuid:${id}`, okta: `okta:${id}`, auth0: `auth0:msg_${id}` };
    const code = String(10_000_000 + Math.floor(random() * 89_999_999));
    return { door, id, key: key[door], phone: uniquePhone(), code };
  };

  /** The request for `original` as its caller sends it; `tamper` breaks its authentication. */
  const requestFor = (original: Original, tamper: boolean): { path: string; init: RequestInit } => {
    const req = callerRequest(original.door, original);
    if (!tamper) return req;
    const body = String(req.init.body);
    const headers = new Headers(req.init.headers);
    if (original.door === "okta") headers.set("authorization", "okta-secret-guess-0123456789");
    else {
      const signed = signWebhook({
        secrets: [FOREIGN_SECRET],
        id: headers.get("webhook-id")!,
        timestamp: Number(headers.get("webhook-timestamp")),
        body,
      });
      headers.set("webhook-signature", signed["webhook-signature"]!);
    }
    return { path: req.path, init: { ...req.init, headers } };
  };

  const sent: Sent[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = (entry: Sent, tamper: boolean) => {
    sent.push(entry);
    const { path, init } = requestFor(entry.of, tamper);
    const url = pick(urls) + path;
    const started = performance.now();
    const done = (async () => {
      try {
        const res = await fetch(url, init);
        entry.ms = performance.now() - started;
        entry.status = res.status;
        if (res.status === 200) entry.verdict = await readVerdict(entry.door, res);
        else await res.body?.cancel();
        if (entry.kind === "original") entry.of.verdict = entry.verdict;
      } catch (err) {
        entry.error = err instanceof Error ? err.message : String(err);
      }
    })();
    inFlight.add(done);
    done.finally(() => inFlight.delete(done));
  };

  const originals: Original[] = [];
  const total = Math.round(o.seconds * o.rate);
  const started = performance.now();
  say(`soak: ${total} requests over ${o.seconds} s at ${o.rate}/s, seed ${o.seed}`);
  for (let i = 0; i < total; i++) {
    // Open loop: request i leaves at i/rate whatever happened to the others.
    const due = started + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const door: DoorName = pick(["supabase", "supabase", "supabase", "okta", "auth0"] as const);
    const roll = random();
    if (roll < o.invalidShare) {
      send({ kind: "invalid", door, of: newOriginal(door) }, true);
    } else if (roll < o.invalidShare + o.duplicateShare && originals.length > 0) {
      // A retry of a recent delivery (some still in flight), on either instance.
      const of = pick(originals.slice(-200));
      send({ kind: "duplicate", door: of.door, of }, false);
    } else {
      const of = newOriginal(door);
      originals.push(of);
      send({ kind: "original", door, of }, false);
      // Some retries race their original.
      if (random() < o.duplicateShare * 0.4) send({ kind: "duplicate", door, of }, false);
    }
    if (i > 0 && i % (o.rate * 30) === 0) {
      say(`soak: ${i}/${total} sent, ${inFlight.size} in flight`);
    }
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  const elapsedS = (performance.now() - started) / 1000;

  for (const server of servers) await server.shutdown();
  for (const close of closers) await close();
  await fake.close();

  // --- Reconciliation ---------------------------------------------------------------------------
  const sql = db.client();
  const keys = originals.map((x) => x.key).concat(
    sent.filter((s) => s.kind === "invalid").map((s) => s.of.key),
  );
  type Row = {
    dedupe_key: string;
    state: string;
    provider_id: string | null;
    channel: string | null;
    retry_allowed: boolean;
  };
  const rows = new Map<string, Row>();
  for (let i = 0; i < keys.length; i += 5000) {
    const batch = keys.slice(i, i + 5000);
    const found = await sql<Row[]>`
      select dedupe_key, state, provider_id, channel, retry_allowed from otp_relay.deliveries
      where dedupe_key = any(${batch})`;
    for (const row of found) rows.set(row.dedupe_key, row);
  }
  await sql.end();

  /** Messages by number: what Twilio created (the recipient's view) and what it answered. */
  const byPhone = (messages: readonly { sid: string; to: string }[]) => {
    const map = new Map<string, string[]>();
    for (const m of messages) {
      const phone = m.to.replace(/^whatsapp:/, "");
      map.set(phone, [...(map.get(phone) ?? []), m.sid]);
    }
    return map;
  };
  const created = byPhone(fake.created);
  const accepted = byPhone(fake.accepted);
  const invalid = sent.filter((s) => s.kind === "invalid");
  const duplicates = sent.filter((s) => s.kind === "duplicate");
  const delivered = originals.filter((x) => x.verdict?.kind === "delivered");
  const notDelivered = originals.filter((x) => x.verdict && x.verdict.kind !== "delivered");
  const channels: Record<string, number> = {};
  for (const x of delivered) {
    const channel = rows.get(x.key)?.channel ?? "?";
    channels[channel] = (channels[channel] ?? 0) + 1;
  }

  const count = (items: readonly unknown[]) => items.length;
  const leaked = codesInLogs(logLines, new Set(originals.map((x) => x.code)));
  const lateAnswers = sent.filter((s) =>
    s.ms !== undefined && s.ms > DEADLINES[s.door] + DEADLINE_SLACK_MS
  );
  const checks: Check[] = [];
  const check = (name: string, expected: number | string, observed: number | string) =>
    checks.push({ name, expected, observed, ok: expected === observed });

  check("requests without a readable answer", 0, count(sent.filter((s) => s.error)));
  check(
    `answers later than the door's deadline + ${DEADLINE_SLACK_MS} ms`,
    0,
    count(lateAnswers),
  );
  check(
    "authenticated requests answered in the door's dialect (HTTP 200)",
    count(sent) - count(invalid),
    count(sent.filter((s) => s.kind !== "invalid" && s.status === 200)),
  );
  check(
    "deliveries with their delivery record (one per dedupe key)",
    count(originals),
    count(originals.filter((x) => rows.has(x.key))),
  );
  check(
    "successful deliveries recorded as sent, with the one SID Twilio created and answered",
    count(delivered),
    count(delivered.filter((x) => {
      const row = rows.get(x.key);
      const made = created.get(x.phone) ?? [];
      return row?.state === "sent" && made.length === 1 && made[0] === row.provider_id &&
        accepted.get(x.phone)?.[0] === row.provider_id;
    })),
  );
  check(
    "messages answered as accepted by Twilio (one per successful delivery)",
    count(delivered),
    fake.accepted.length,
  );
  check(
    "double sends (a number Twilio created more than one message for)",
    0,
    [...created.values()].reduce((n, sids) => n + Math.max(0, sids.length - 1), 0),
  );
  check(
    "failures recorded as certainly not sent, yet a message was created",
    0,
    count(notDelivered.filter((x) => rows.get(x.key)?.retry_allowed && created.has(x.phone))),
  );
  check(
    "duplicates answered like their delivery",
    count(duplicates),
    count(duplicates.filter((d) =>
      d.verdict?.kind === d.of.verdict?.kind ||
      // Okta's retry of a delivery still in flight is told PENDING (Okta then waits).
      (d.door === "okta" && d.verdict?.kind === "pending")
    )),
  );
  check(
    "invalid signatures refused (401)",
    count(invalid),
    count(invalid.filter((s) => s.status === 401)),
  );
  check(
    "invalid signatures that sent or recorded anything",
    0,
    count(invalid.filter((s) => created.has(s.of.phone) || rows.has(s.of.key))),
  );
  check(
    "log lines holding a code",
    0,
    leaked.length === 0 ? 0 : `${leaked.length} (${leaked.map((l) => l.where).join(", ")})`,
  );

  const latency = (["supabase", "okta", "auth0"] as const).map((door) => {
    const ms = sent.filter((s) => s.door === door && s.ms !== undefined).map((s) => s.ms!)
      .sort((a, b) => a - b);
    return {
      door,
      n: ms.length,
      p50: percentile(ms, 50),
      p99: percentile(ms, 99),
      max: ms.at(-1) ?? NaN,
      deadline: DEADLINES[door],
    };
  });

  return {
    options: {
      seconds: o.seconds,
      rate: o.rate,
      seed: o.seed,
      duplicateShare: o.duplicateShare,
      invalidShare: o.invalidShare,
      providerFailureShare: o.providerFailureShare,
    },
    elapsedS,
    counts: {
      "requests sent": sent.length,
      "deliveries (first requests)": originals.length,
      "duplicate requests (retries)": duplicates.length,
      "invalid signatures": invalid.length,
      "deliveries reported delivered": delivered.length,
      "deliveries reported failed": count(notDelivered.filter((x) => x.verdict?.kind === "failed")),
      "deliveries reported pending (Okta)": count(
        notDelivered.filter((x) => x.verdict?.kind === "pending"),
      ),
      "Twilio requests (attempts)": fake.requests.length,
      "Twilio messages created": fake.created.length,
      "Twilio messages answered as accepted": fake.accepted.length,
      "messages created for deliveries reported failed or pending (answer lost)": count(
        notDelivered.filter((x) => created.has(x.phone)),
      ),
      "log lines": logLines.length,
      "store fallbacks logged": events["store_unavailable_fallback"] ?? 0,
      "duplicates replayed (logged)": events["duplicate_replayed"] ?? 0,
      "duplicates in flight (logged)": events["duplicate_in_flight"] ?? 0,
    },
    faults,
    channels,
    latency,
    checks,
    ok: checks.every((c) => c.ok),
  };
}

/** bench/RELIABILITY.md for a report. */
export async function renderReliability(report: SoakReport, command: string): Promise<string> {
  const o = report.options;
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const ms = (x: number) => Number.isNaN(x) ? "–" : `${x.toFixed(1)} ms`;
  return `# Reliability: the soak

Written by \`deno task soak\` (bench/soak.ts). Two instances of the function share one
PostgreSQL store (a throwaway local cluster) and the local Twilio fake; requests arrive on a
fixed schedule (an open loop) through all three doors (3:1:1 Supabase, Okta, Auth0), over real
HTTP on loopback. Afterwards what the callers were told, what the database recorded and what
Twilio accepted are reconciled.

- Date: ${new Date().toISOString()}
- Machine: ${await machine()}
- Deno: ${Deno.version.deno}
- Command: \`${command}\`
- Run: ${o.seconds} s planned, ${
    report.elapsedS.toFixed(0)
  } s taken, ${o.rate} requests/s, seed ${o.seed}
- Mix: ${pct(o.duplicateShare)} duplicate deliveries (retries; some race their original, half
  land on the other instance), ${pct(o.invalidShare)} invalid signatures, Twilio failing
  ${pct(o.providerFailureShare)} of requests (${
    Object.entries(report.faults).map(([k, v]) => `${k}: ${v}`).join(", ") || "none"
  })

## Reconciliation

| check | expected | observed | |
| --- | --- | --- | --- |
${
    report.checks.map((c) =>
      `| ${c.name} | ${c.expected} | ${c.observed} | ${c.ok ? "ok" : "**FAILED**"} |`
    )
      .join("\n")
  }

**${report.ok ? "All checks passed." : "Some checks FAILED."}**

## Counts

| | |
| --- | --- |
${Object.entries(report.counts).map(([k, v]) => `| ${k} | ${v} |`).join("\n")}

Delivered by channel (fallback after a Twilio failure moves a delivery on): ${
    Object.entries(report.channels).map(([k, v]) => `${k} ${v}`).join(", ")
  }.

## Answer times

| door | requests | p50 | p99 | max | deadline |
| --- | --- | --- | --- | --- | --- |
${
    report.latency.map((l) =>
      `| ${l.door} | ${l.n} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${l.deadline} ms |`
    ).join("\n")
  }

A hang costs its attempt's timeout (1.5 s) before the next channel: that is the tail.

Twilio is the faulty fake (tests/fakes/faulty-twilio.ts) behind raw TCP. "Created" counts what
Twilio made, whether or not its answer arrived: the recipient's view, so double sends are
counted there. When the answer is lost after Twilio created the message (cut, trickle, a 201
without a SID or not JSON), the caller is told the delivery failed or is pending although the
code may arrive; no other channel is tried. After silence (hang, reset, a proxy's 502) another
channel is tried: nothing says Twilio got the first request, and the faulty fake never creates a
message for those.
`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "5" },
      rate: { type: "string", default: "40" },
      seed: { type: "string", default: "20261123" },
      out: { type: "string", default: "bench/RELIABILITY.md" },
    },
  });
  const report = await runSoak({
    seconds: Number(values.minutes) * 60,
    rate: Number(values.rate),
    seed: Number(values.seed),
    progress: (line) => console.error(line),
  });
  const text = await renderReliability(report, `deno task soak ${Deno.args.join(" ")}`.trim());
  await Deno.writeTextFile(values.out ?? "bench/RELIABILITY.md", text);
  console.log(text);
  Deno.exit(report.ok ? 0 : 1); // exit also stops the PostgreSQL cluster (unload handler)
}
