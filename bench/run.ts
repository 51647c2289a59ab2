/**
 * `deno task bench`: otp-relay's cost next to a baseline measured in the same run, on the same
 * machine, written to bench/RESULTS.md (and the latency chart bench/latency.svg).
 *
 *   deno task bench [--only cold,weight,load,memory,micro] [--seconds 5] [--concurrency 32]
 *                   [--rounds 3] [--cold-runs 15] [--rates 1000,3000]
 *                   [--memory-requests 100000] [--memory-cap 20000]
 *                   [--memory-later 100000]
 *
 * 1. Cold start: spawn → first successful signed hook, vs a minimal Hono app started alike.
 * 2. Module weight: files the server reads to answer its first hook; `deno bundle` sizes.
 * 3. Load: open loop at constant rates (latency percentiles) and closed loop (throughput and
 *    server CPU per request), vs bare `Deno.serve`, a minimal Hono app and otp-relay with its
 *    default settings (limits on, `info` logs).
 * 4. Memory: RSS once the in-memory stores are full, 100,000 requests later, and 100,000 after
 *    that (whether it has levelled off).
 * 5. Micro-benchmarks of the hot path (`deno bench`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startFakeTwilio } from "../tests/fakes/twilio-api.ts";
import { testDatabase } from "../tests/_postgres.ts";
import {
  BARE,
  cpuMicros,
  defaultsTarget,
  machine,
  median,
  MINIMAL_HONO,
  percentile,
  relayTarget,
  root,
  startServer,
  type Target,
} from "./_common.ts";
import { latencyChart } from "./_chart.ts";
import { coldStarts } from "./cold_start.ts";
import { closedLoop, type LoadResult, openLoop, presign } from "./load.ts";
import { memoryRun } from "./memory.ts";
import { BUNDLER_DENO, bundleWeight, canTrace, loadedWeight } from "./weight.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string", default: "cold,weight,load,memory,micro" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    "cold-runs": { type: "string", default: "15" },
    rates: { type: "string", default: "1000,3000" },
    "memory-requests": { type: "string", default: "100000" },
    "memory-cap": { type: "string", default: "20000" },
    "memory-later": { type: "string", default: "100000" },
    out: { type: "string", default: new URL("./RESULTS.md", import.meta.url).pathname },
  },
});
const only = new Set((values.only ?? "").split(","));
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const COLD_RUNS = Number(values["cold-runs"]);
const RATES = (values.rates ?? "").split(",").filter(Boolean).map(Number);
const MEMORY_REQUESTS = Number(values["memory-requests"]);
const MEMORY_CAP = Number(values["memory-cap"]);
const MEMORY_LATER = Number(values["memory-later"]);

const sections: string[] = [];
const verdicts: string[] = [];
let failed = false;
const fmt = (n: number, digits = 0) => Number.isFinite(n) ? n.toFixed(digits) : "–";
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
function verdict(what: string, measured: string, target: string, met: boolean) {
  verdicts.push(`| ${what} | ${measured} | ${target} | ${met ? "met" : "**not met**"} |`);
}

// The Twilio provider talks to the tests' local fake of Twilio's REST API.
const fake = startFakeTwilio();
const twilioEnv = {
  OTP_PROVIDER: "twilio",
  TWILIO_ACCOUNT_SID: fake.accountSid,
  TWILIO_AUTH_TOKEN: fake.authToken,
  TWILIO_MESSAGING_SERVICE_SID: "MG" + "b".repeat(32),
  TWILIO_API_BASE_URL: fake.baseUrl,
};
const CONSOLE = relayTarget("otp-relay, console provider muted, no limits");
const DEFAULTS = defaultsTarget("otp-relay, default settings (limits, info logs)");
// Cold starts run with the default settings; their output is read for the URL.
const COLD_CONSOLE: Target = {
  ...defaultsTarget("otp-relay, console provider"),
  env: { ...DEFAULTS.env, PORT: "0" },
  stdout: "piped",
};
const COLD_TWILIO: Target = {
  ...COLD_CONSOLE,
  name: "otp-relay, Twilio provider (local fake API)",
  env: { ...COLD_CONSOLE.env, ...twilioEnv },
};

// 1. Cold start
if (only.has("cold")) {
  const samples = await coldStarts([BARE, MINIMAL_HONO, COLD_CONSOLE, COLD_TWILIO], COLD_RUNS);
  const base = median(samples.get(MINIMAL_HONO.name)!);
  const rows = [...samples].map(([name, ms]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    const ratio = median(ms) / base;
    return `| ${name} | ${fmt(median(ms))} | ${fmt(sorted[0]!)} | ${
      fmt(percentile(sorted, 90))
    } | ${ratio.toFixed(2)}× |`;
  });
  const consoleRatio = median(samples.get(COLD_CONSOLE.name)!) / base;
  const twilioRatio = median(samples.get(COLD_TWILIO.name)!) / base;
  verdict(
    "cold start, console provider",
    `${consoleRatio.toFixed(2)}× minimal Hono`,
    "≤ 2.5× (stretch 1.5×)",
    consoleRatio <= 2.5,
  );
  verdict(
    "cold start, Twilio provider",
    `${twilioRatio.toFixed(2)}× minimal Hono`,
    "≤ 3× (stretch 2.5×)",
    twilioRatio <= 3,
  );
  sections.push(`## 1. Cold start

Wall time from spawning \`deno run\` (same permissions for every server) to the first \`200 {}\`
answer to a signed Supabase hook; ${COLD_RUNS} runs each, interleaved, after one run that fills
Deno's caches. otp-relay runs with its default settings (limits on, \`info\` logs). With the
Twilio provider the first hook also loads the SDK and sends through the local fake API. Bare
\`Deno.serve\` (no npm package) shows what Deno itself costs; the minimal Hono app also has Deno
read the project's npm lockfile and import map.

| server | median ms | min ms | p90 ms | vs minimal Hono |
| --- | ---: | ---: | ---: | ---: |
${rows.join("\n")}
`);
}

// 2. Module weight
if (only.has("weight")) {
  const lines: string[] = [];
  if (await canTrace()) {
    const atStart = await loadedWeight(COLD_CONSOLE);
    const withTwilio = await loadedWeight(COLD_TWILIO);
    verdict("code loaded at start", `${mb(atStart.bytes)} MB`, "≤ 5 MB", atStart.bytes <= 5e6);
    const top = (w: typeof atStart) =>
      w.packages.slice(0, 6).map(([p, b]) => `${p} ${mb(b)} MB`).join(", ");
    lines.push(
      `| to answer a hook with the console provider (what start needs) | ${atStart.files} | ${
        mb(atStart.bytes)
      } | ${top(atStart)} |`,
      `| after the first Twilio send (the SDK is loaded then) | ${withTwilio.files} | ${
        mb(withTwilio.bytes)
      } | ${top(withTwilio)} |`,
    );
  } else {
    lines.push("| (strace is not available on this machine: not measured) | | | |");
  }
  const bundle = await bundleWeight();
  sections.push(`## 2. Module weight

Files the server opens (traced with \`strace -e openat\`) from spawn to its first answer: module
sources from the npm cache and the project, not Deno's own caches.

| when | files | MB | largest |
| --- | ---: | ---: | --- |
${lines.join("\n")}

\`deno bundle --code-splitting --minify\` of the function, run by Deno ${BUNDLER_DENO} without the
lockfile since 2.1.4 has no \`deno bundle\` (what a deployment ships; Supabase builds its own eszip,
which this approximates): the entry chunk is loaded at start, the others when first needed.

| chunk | MB |
| --- | ---: |
| entry (index.js) | ${mb(bundle.entry)} |
${bundle.chunks.map(([name, size]) => `| ${name} | ${mb(size)} |`).join("\n")}
`);
}

// 3. Load
if (only.has("load")) {
  const summarize = (r: LoadResult) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      errors: r.errors,
      requests: r.requests,
    };
  };
  // Open loop at each rate, bare Deno.serve and otp-relay alternately.
  const open: string[] = [];
  const series: { name: string; values: number[] }[] = [];
  const openCpu = new Map<string, number>();
  for (const rate of RATES) {
    for (const target of [BARE, CONSOLE, DEFAULTS]) {
      const server = await startServer(target);
      try {
        await openLoop(presign(server.url, rate, { spread: true }), { rate }); // 1 s warm-up
        const pool = presign(server.url, rate * SECONDS, { spread: true });
        const cpuBefore = await cpuMicros(server.pid);
        const r = await openLoop(pool, { rate });
        const cpuUs = (await cpuMicros(server.pid) - cpuBefore) / r.requests;
        openCpu.set(`${target.name}@${rate}`, cpuUs);
        const s = summarize(r);
        if (s.errors > 0) failed = true;
        const vsBare = cpuUs / openCpu.get(`${BARE.name}@${rate}`)!;
        if (target === DEFAULTS) {
          const delivered = r.requests - r.refused - r.errors;
          if (delivered < 0.99 * r.requests) failed = true;
          verdict(
            `CPU per signed hook, default settings, ${rate} requests/s (open loop)`,
            `${vsBare.toFixed(2)}× bare Deno.serve (efficiency ${(1 / vsBare).toFixed(2)})`,
            "≤ 3.3× (stretch 2×)",
            vsBare <= 3.3,
          );
        }
        open.push(
          `| ${target.name} | ${rate} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.p999, 2)} | ${
            fmt(cpuUs)
          } | ${vsBare.toFixed(2)}× | ${r.refused} | ${s.errors} / ${s.requests} |`,
        );
        series.push({
          name: `${
            target === BARE ? "bare" : target === CONSOLE ? "otp-relay muted" : "otp-relay defaults"
          } @ ${rate}/s`,
          values: [s.p50, s.p99, s.p999],
        });
        if (target === CONSOLE && rate === 1000) {
          verdict("p99 at 1,000 requests/s", `${fmt(s.p99, 2)} ms`, "≤ 5 ms", s.p99 <= 5);
        }
      } finally {
        await server.stop();
      }
    }
  }
  await Deno.writeTextFile(
    new URL("./latency.svg", import.meta.url),
    latencyChart("Latency at a constant offered rate (open loop)", ["p50", "p99", "p99.9"], series),
  );

  // Closed loop: maximum throughput and the server's CPU per request, rounds alternating
  // between the servers. Every server gets distinct numbers over many 1,000-number blocks.
  const database = await testDatabase();
  const targets: Target[] = [
    BARE,
    MINIMAL_HONO,
    CONSOLE,
    DEFAULTS,
    relayTarget("otp-relay, console provider, PostgreSQL store", { DATABASE_URL: database.url }),
  ];
  const rounds = new Map<string, (LoadResult & { cpuUs: number })[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      const server = await startServer(target);
      try {
        const warm = presign(server.url, 20_000, { spread: true });
        await closedLoop(warm, { seconds: 1, concurrency: CONCURRENCY });
        const pool = presign(server.url, SECONDS * 20_000, { spread: true });
        const cpuBefore = await cpuMicros(server.pid);
        const r = await closedLoop(pool, { seconds: SECONDS, concurrency: CONCURRENCY });
        const cpuUs = (await cpuMicros(server.pid) - cpuBefore) / r.requests;
        rounds.set(target.name, [...(rounds.get(target.name) ?? []), { ...r, cpuUs }]);
        console.log(
          `closed loop ${round} ${target.name}: ${fmt(r.requests / r.seconds)} req/s, ${
            fmt(cpuUs)
          } µs CPU/request`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const closed = targets.map((t) => {
    const rs = rounds.get(t.name)!;
    const rps = median(rs.map((r) => r.requests / r.seconds));
    const cpuUs = median(rs.map((r) => r.cpuUs));
    const refused = rs.reduce((n, r) => n + r.refused, 0);
    const s = summarize({
      ...rs[0]!,
      latenciesMs: rs.flatMap((r) => r.latenciesMs),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      requests: rs.reduce((n, r) => n + r.requests, 0),
    });
    if (s.errors > 0) failed = true;
    return { name: t.name, rps, cpuUs, refused, ...s };
  });
  const [bare, , muted, defaults] = closed;
  const ratio = muted!.rps / bare!.rps;
  verdict("throughput vs bare Deno.serve", `${ratio.toFixed(2)}×`, "≥ 0.3×", ratio >= 0.3);
  const cpuRatio = defaults!.cpuUs / bare!.cpuUs;
  verdict(
    "CPU per signed hook, default settings, saturated (closed loop)",
    `${cpuRatio.toFixed(2)}× bare Deno.serve (efficiency ${(1 / cpuRatio).toFixed(2)})`,
    "≤ 3.3× (stretch 2×)",
    cpuRatio <= 3.3,
  );
  const delivered = defaults!.requests - defaults!.refused - defaults!.errors;
  if (delivered < 0.99 * defaults!.requests) failed = true;
  sections.push(`## 3. Latency under load

**Open loop**: requests are sent at a constant rate whatever the server does, and each one's
latency counts from when it was due (no coordinated omission). Signed Supabase hooks, each
unique, to distinct numbers over many 1,000-number blocks, memory store; ${SECONDS} s per rate
after a 1 s warm-up. otp-relay runs muted without limits, and with its default settings (limits
on, \`info\` logs to \`/dev/null\`). CPU is the server's user + system time over the run divided
by its requests. The load generator shares the 2 cores with the server.

| server | offered req/s | p50 ms | p99 ms | p99.9 ms | CPU µs / request | vs bare | refused | errors / requests |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${open.join("\n")}

![latency percentiles](latency.svg)

**Closed loop**: ${CONCURRENCY} requests in flight over keep-alive, ${ROUNDS} alternating rounds of
${SECONDS} s after 1 s of warm-up; throughput and CPU are the median round. CPU is the server
process's user + system time (all threads, \`/proc/<pid>/stat\`) over the round, divided by its
requests. Every request goes to a new number, spread over 100,000 blocks of 1,000 numbers. The
default-settings row runs as deployed: per-number and per-block limits on, one \`info\` JSON line
per delivery and the console provider's line, output to \`/dev/null\`. The PostgreSQL store is a
local cluster on the same machine: three statements per delivery (claim, opt-out lookup, settle),
each two round trips without prepared statements, on a pool of 4 connections.

| server | requests/s | CPU µs / request | vs bare | p50 ms | p99 ms | refused | errors / requests |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${
    closed.map((c) =>
      `| ${c.name} | ${fmt(c.rps)} | ${fmt(c.cpuUs)} | ${(c.cpuUs / bare!.cpuUs).toFixed(2)}× | ${
        fmt(c.p50, 2)
      } | ${fmt(c.p99, 2)} | ${c.refused} | ${c.errors} / ${c.requests} |`
    ).join("\n")
  }

With default settings otp-relay delivered ${delivered} of ${defaults!.requests} hooks (${
    (100 * delivered / defaults!.requests).toFixed(2)
  }%; refused ${defaults!.refused}) at **${
    cpuRatio.toFixed(2)
  }×** the CPU per request of bare \`Deno.serve\`. Muted and without limits it reaches **${
    ratio.toFixed(2)
  }×** bare \`Deno.serve\`'s throughput.
`);
}

// 4. Memory
if (only.has("memory")) {
  const server = await startServer(
    defaultsTarget("otp-relay, memory cap", { OTP_MEMORY_MAX_ENTRIES: String(MEMORY_CAP) }),
  );
  try {
    const m = await memoryRun(server, {
      cap: MEMORY_CAP,
      after: MEMORY_REQUESTS,
      later: MEMORY_LATER,
      concurrency: CONCURRENCY,
      spread: true,
    });
    if (m.errors > 0) failed = true;
    const growth = m.atEnd / m.atCap - 1;
    verdict(
      `memory growth over ${MEMORY_REQUESTS} requests once the stores are full`,
      `${(growth * 100).toFixed(1)} %`,
      "≤ 10 %",
      growth <= 0.1,
    );
    const later = m.atLater === undefined
      ? ["not measured", "—"]
      : [`${fmt(m.atLater, 1)} MiB`, `${((m.atLater / m.atEnd - 1) * 100).toFixed(1)} %`];
    sections.push(`## 4. Memory

One server with the default settings and \`OTP_MEMORY_MAX_ENTRIES=${MEMORY_CAP}\`: a warm-up of
${Math.round(MEMORY_CAP * 1.25)} hooks fills every store (dedupe entries, per-number and per-block
counters) to its cap, then ${m.after} more follow. Each goes to a new number over many blocks, and
5% repeat a recent request (its \`metadata.uuid\`, as Auth's retries do). ${m.errors} errors,
${m.refused} refused. Resident set size:

| stores full (${
      Math.round(MEMORY_CAP * 1.25)
    } requests) | ${m.after} requests later | growth | ${MEMORY_LATER} after that | growth |
| ---: | ---: | ---: | ---: | ---: |
| ${fmt(m.atCap, 1)} MiB | ${fmt(m.atEnd, 1)} MiB | ${(growth * 100).toFixed(1)} % | ${
      later.join(" | ")
    } |

The first growth is V8 sizing the old generation to a multiple of the live set: evicted entries
die there, and V8 lets it fill before a full collection. The second shows whether RSS then levels
off (bench/OPTIMISATIONS.md, "Targets not met").

RSS after each batch (MiB): ${
      m.series.map(([n, r]) => `${(n / 1000).toFixed(0)}k ${fmt(r)}`).join(" · ")
    }
`);
  } finally {
    await server.stop();
  }
}

// 5. Micro-benchmarks
if (only.has("micro")) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--json", "--allow-read", "--allow-env", "bench/hot_path_bench.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  if (out.code !== 0) throw new Error("deno bench failed");
  const report = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    benches: { name: string; results: { ok?: { avg: number; p99: number; n: number } }[] }[];
  };
  const us = (ns: number) => (ns / 1000).toFixed(1);
  sections.push(`## 5. Hot path, in process (\`deno bench bench/hot_path_bench.ts\`)

Where a request's time goes. The \`request:\` rows include signing the request (as the load
generator does), so compare them with each other.

| benchmark | avg µs | p99 µs | iterations |
| --- | ---: | ---: | ---: |
${
    report.benches.map((b) => {
      const r = b.results[0]?.ok;
      return r
        ? `| ${b.name} | ${us(r.avg)} | ${us(r.p99)} | ${r.n} |`
        : `| ${b.name} | failed | | |`;
    }).join("\n")
  }
`);
}
await fake.close();

const optimisations = await Deno.readTextFile(new URL("./OPTIMISATIONS.md", import.meta.url));
const report = `# Benchmark results

Written by \`deno task bench\` (bench/run.ts) from one run on one machine. Compare rows of the
same run only: these machines are shared and noisy.

- Date: ${new Date().toISOString()}
- Machine: ${await machine()}
- Deno: ${Deno.version.deno} (V8 ${Deno.version.v8})
- Command: \`deno task bench ${Deno.args.join(" ")}\`

| target | measured | goal | |
| --- | --- | --- | --- |
${verdicts.join("\n")}

${sections.join("\n")}
${optimisations.replace(/^# /, "## ")}`;
await Deno.writeTextFile(values.out ?? "bench/RESULTS.md", report);
console.log(report);
Deno.exit(failed ? 1 : 0); // exit also stops the PostgreSQL cluster (unload handler)
