/**
 * The soak: `deno task soak` runs two instances of the function on one PostgreSQL store, for
 * minutes, at a steady rate through all three doors, with duplicate deliveries (Auth's retries,
 * some racing their original, some later, half on the other instance), invalid signatures, and
 * two providers (`OTP_PROVIDERS=twilio,vonage`): Twilio (a local fake, every channel) fails a
 * share of the time, Vonage (a local fake, SMS only) does not, so SMS that Twilio fails moves on
 * to Vonage. Then it reconciles what the callers were told, what the database recorded and what
 * each provider created, and writes bench/RELIABILITY.md.
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
import {
  CREATING_FAULTS,
  type Fault,
  FAULTS,
  startFaultyTwilio,
} from "../tests/fakes/faulty-twilio.ts";
import {
  FAKE_VONAGE_API_KEY,
  FAKE_VONAGE_API_SECRET,
  startFakeVonage,
} from "../tests/fakes/vonage-api.ts";
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
  /**
   * `OTP_PROVIDER_BENCH_MS`: how long a failing provider stays benched (default 30 s, as
   * deployed). A short run wants less, or Twilio, once benched, sits out the rest of it.
   */
  readonly providerBenchMs?: number;
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
  /** Deliveries reported delivered, by the provider that answered. */
  readonly providers: Readonly<Record<string, number>>;
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

/**
 * Provider ids, whose hex can hold 8 decimal digits in a row: Twilio SIDs (32 hex digits) and
 * UUIDs (Vonage's message-id).
 */
const PROVIDER_ID =
  /\b(?:(?:SM|MM|CA|MG|HX|AC)[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/gi;

/**
 * How often each fault is drawn, relative to the others (1 unless said): accepted-hang is the
 * one fault that leads to a cross-provider duplicate, so it weighs more, to show up in short runs
 * too. Every fault keeps its place.
 */
const FAULT_WEIGHTS: Readonly<Partial<Record<Fault, number>>> = { "accepted-hang": 4 };
const WEIGHTED_FAULTS: readonly Fault[] = FAULTS.flatMap((f) =>
  Array.from({ length: FAULT_WEIGHTS[f] ?? 1 }, () => f)
);

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
    providerBenchMs: 30_000,
    ...options,
  };
  const say = options.progress ?? (() => {});
  // Two streams: the schedule (doors, retries, invalid requests, numbers, codes, ids) replays
  // exactly from the seed; which delivery meets which Twilio fault depends on arrival order.
  const random = prng(o.seed);
  const faultRandom = prng(o.seed ^ 0x5eed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;

  // Twilio fails a share of requests in every way the faulty fake knows: errors, throttling, a
  // proxy, silence, resets, and answers lost after the message was created (silence included).
  const faults: Record<string, number> = {};
  const fake = startFaultyTwilio({
    fault() {
      if (faultRandom() >= o.providerFailureShare) return undefined;
      const kind = WEIGHTED_FAULTS[Math.floor(faultRandom() * WEIGHTED_FAULTS.length)]!;
      faults[kind] = (faults[kind] ?? 0) + 1;
      return kind;
    },
  });
  // Vonage, the second provider (SMS only), does not fail.
  const vonage = startFakeVonage();

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
      VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
      VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
      VONAGE_SMS_FROM: "OTPRelay",
      VONAGE_API_BASE_URL: vonage.baseUrl,
      OTP_PROVIDERS: "twilio,vonage",
      OTP_PROVIDER_BENCH_MS: String(o.providerBenchMs),
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
  await vonage.close();

  // --- Reconciliation ---------------------------------------------------------------------------
  const sql = db.client();
  const keys = originals.map((x) => x.key).concat(
    sent.filter((s) => s.kind === "invalid").map((s) => s.of.key),
  );
  type Row = {
    dedupe_key: string;
    state: string;
    provider: string | null;
    provider_id: string | null;
    channel: string | null;
    retry_allowed: boolean;
  };
  const rows = new Map<string, Row>();
  for (let i = 0; i < keys.length; i += 5000) {
    const batch = keys.slice(i, i + 5000);
    const found = await sql<Row[]>`
      select dedupe_key, state, provider, provider_id, channel, retry_allowed
      from otp_relay.deliveries
      where dedupe_key = any(${batch})`;
    for (const row of found) rows.set(row.dedupe_key, row);
  }
  await sql.end();

  /** Items by number (E.164), in order. */
  const byPhone = <T>(items: readonly T[], phoneOf: (item: T) => string | undefined) => {
    const map = new Map<string, T[]>();
    for (const item of items) {
      const phone = phoneOf(item);
      if (phone !== undefined) map.set(phone, [...(map.get(phone) ?? []), item]);
    }
    return map;
  };
  const twilioPhone = (m: { to: string }) => m.to.replace(/^whatsapp:/, "");
  // What Twilio created (the recipient's view) and what it answered, by number; its requests
  // and their faults, by number (a reset's number is unknown: its body was never read).
  const created = byPhone(fake.created, twilioPhone);
  const twilioAnswered = byPhone(fake.accepted, twilioPhone);
  const twilioRequests = byPhone(fake.requests, (r) => r.to);
  // What Vonage accepted, which it always answers: Vonage's `to` is digits without "+".
  const vonageSent = byPhone(vonage.accepted, (m) => `+${m.to}`);
  /** Every message a number got, from either provider. */
  const reached = (phone: string) =>
    (created.get(phone)?.length ?? 0) + (vonageSent.get(phone)?.length ?? 0);

  // A number with messages from both providers is explained when Twilio's request for it met a
  // fault that created the message unheard (the router saw a timeout or a lost answer); with one
  // from Twilio's plain success, or none, the second provider should never have been tried.
  const explainedByTwilio = (phone: string) =>
    (twilioRequests.get(phone) ?? []).some((r) =>
      r.fault !== "none" && CREATING_FAULTS.has(r.fault)
    );
  const bothProviders = [...created.keys()].filter((phone) => vonageSent.has(phone));
  const crossDuplicates = bothProviders.filter(explainedByTwilio);
  const sameProviderExtra = [...created.values(), ...vonageSent.values()]
    .reduce((n, messages) => n + Math.max(0, messages.length - 1), 0);
  const unexplainedCross = bothProviders.length - crossDuplicates.length;

  const invalid = sent.filter((s) => s.kind === "invalid");
  const duplicates = sent.filter((s) => s.kind === "duplicate");
  const delivered = originals.filter((x) => x.verdict?.kind === "delivered");
  const notDelivered = originals.filter((x) => x.verdict && x.verdict.kind !== "delivered");
  const channels: Record<string, number> = {};
  for (const x of delivered) {
    const channel = rows.get(x.key)?.channel ?? "?";
    channels[channel] = (channels[channel] ?? 0) + 1;
  }
  const providers: Record<string, number> = {};
  for (const x of delivered) {
    const provider = rows.get(x.key)?.provider ?? "?";
    providers[provider] = (providers[provider] ?? 0) + 1;
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
    "successful deliveries recorded as sent, with the provider and id of the one message a " +
      "provider answered for (Twilio SID it created, or Vonage message-id)",
    count(delivered),
    count(delivered.filter((x) => {
      const row = rows.get(x.key);
      if (row?.state !== "sent" || !row.provider_id) return false;
      // Every answer a provider gave for this number: exactly one, the one recorded.
      const answered = [
        ...(twilioAnswered.get(x.phone) ?? []).map((m) => ({ provider: "twilio", id: m.sid })),
        ...(vonageSent.get(x.phone) ?? []).map((m) => ({ provider: "vonage", id: m.id })),
      ];
      return answered.length === 1 && answered[0]!.provider === row.provider &&
        answered[0]!.id === row.provider_id &&
        (row.provider !== "twilio" ||
          (created.get(x.phone) ?? []).some((m) => m.sid === row.provider_id));
    })),
  );
  check(
    "messages answered as accepted, Twilio's and Vonage's (one per successful delivery)",
    count(delivered),
    fake.accepted.length + vonage.accepted.length,
  );
  check(
    "true double sends (a number with more than one message from one provider, or messages " +
      "from both without a Twilio fault that created one unanswered)",
    0,
    sameProviderExtra + unexplainedCross,
  );
  check(
    "failures recorded as certainly not sent, yet a message was created",
    0,
    count(notDelivered.filter((x) => rows.get(x.key)?.retry_allowed && reached(x.phone) > 0)),
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
    count(invalid.filter((s) => reached(s.of.phone) > 0 || rows.has(s.of.key))),
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
      providerBenchMs: o.providerBenchMs,
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
      "deliveries by Twilio": providers["twilio"] ?? 0,
      "deliveries by Vonage": providers["vonage"] ?? 0,
      "Twilio requests (attempts)": fake.requests.length,
      "Twilio messages created": fake.created.length,
      "Twilio messages answered as accepted": fake.accepted.length,
      "Vonage requests (attempts)": vonage.requests.length,
      "Vonage messages accepted": vonage.accepted.length,
      "cross-provider duplicates (Twilio created the message unanswered, then Vonage sent it)":
        crossDuplicates.length,
      "messages created for deliveries reported failed or pending (answer lost)": count(
        notDelivered.filter((x) => reached(x.phone) > 0),
      ),
      "providers benched (logged)": events["provider_benched"] ?? 0,
      "providers restored (logged)": events["provider_restored"] ?? 0,
      "log lines": logLines.length,
      "store fallbacks logged": events["store_unavailable_fallback"] ?? 0,
      "duplicates replayed (logged)": events["duplicate_replayed"] ?? 0,
      "duplicates in flight (logged)": events["duplicate_in_flight"] ?? 0,
    },
    faults,
    channels,
    providers,
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
PostgreSQL store (a throwaway local cluster) and two providers, \`OTP_PROVIDERS=twilio,vonage\`:
Twilio, a local fake that fails a share of its requests, on every channel (SMS, WhatsApp, voice),
and Vonage, a reliable local fake, on SMS only. An SMS that Twilio fails (a timeout, a 5xx, a
refusal) moves on to Vonage before any other channel. Requests arrive on a fixed schedule (an
open loop) through all three doors (3:1:1 Supabase, Okta, Auth0), over real HTTP on loopback.
Afterwards what the callers were told, what the database recorded and what each provider
created are reconciled.

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
  }; every fault is drawn alike, except ${
    Object.entries(FAULT_WEIGHTS).map(([k, v]) => `${k} ${v}×`).join(", ")
  } as often), Vonage failing none

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

Delivered by provider (an SMS that Twilio fails moves on to Vonage): ${
    Object.entries(report.providers).map(([k, v]) => `${k} ${v}`).join(", ") || "none"
  }. Delivered by channel (after SMS, WhatsApp and voice go through Twilio alone): ${
    Object.entries(report.channels).map(([k, v]) => `${k} ${v}`).join(", ") || "none"
  }.

## Answer times

| door | requests | p50 | p99 | max | deadline |
| --- | --- | --- | --- | --- | --- |
${
    report.latency.map((l) =>
      `| ${l.door} | ${l.n} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.max)} | ${l.deadline} ms |`
    ).join("\n")
  }

A hang costs its attempt's timeout (1.5 s) before the next provider: that is the tail.

Twilio is the faulty fake (tests/fakes/faulty-twilio.ts) behind raw TCP; Vonage is the fake of
its SMS API (tests/fakes/vonage-api.ts). "Created" counts what Twilio made, whether or not its
answer arrived, and Vonage answers every message it accepts: the recipient's view, so double
sends are counted there, per number and provider.

- When Twilio's answer is lost after it created the message (cut, trickle, a 201 without a SID
  or not JSON), the caller is told the delivery failed or is pending although the code may
  arrive; no other provider or channel is tried.
- After silence (hang, reset, a proxy's 502) the next provider is tried: nothing says Twilio got
  the first request. Usually it did not, but with accepted-hang Twilio created the message and
  then fell silent: the router cannot tell it from a hang, so Vonage sends the code again. Such
  a number is a **cross-provider duplicate**, counted apart, not a failure: the policy prefers the
  same code twice to a user locked out. A number with messages from both providers counts as a
  true double send unless Twilio's request for it met a fault that created the message unanswered.
- After 3 consecutive failures a provider is benched in its instance (moved to the end of the
  order for ${
    o.providerBenchMs / 1000
  } s, then restored on probation): while Twilio is benched there, SMS goes to
  Vonage first (the provider_benched and provider_restored counts).
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
