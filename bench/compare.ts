/**
 * `deno task bench:compare --against <checkout>`: this build's server CPU per request next to
 * another build's, measured in one run with rounds interleaved (bare `Deno.serve` too), so the
 * machine's noise hits all alike. How each line of bench/OPTIMISATIONS.md is measured.
 *
 *   git worktree add /tmp/before <commit>
 *   deno task bench:compare --against /tmp/before [--settings defaults|muted] [--rounds 5]
 *                           [--seconds 3] [--concurrency 32] [--memory]
 *
 * `--memory` measures memory instead: each build with `OTP_MEMORY_MAX_ENTRIES=20000` filled to
 * its cap, then 100,000 requests more; RSS, and the live heap after a full collection (through
 * the inspector) at both points.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  BARE,
  cpuMicros,
  defaultsTarget,
  median,
  relayTarget,
  startServer,
  type Target,
} from "./_common.ts";
import { inspect, liveHeapMiB } from "./_inspector.ts";
import { closedLoop, presign } from "./load.ts";
import { memoryRun } from "./memory.ts";

/** One build's median over the rounds. */
export interface Compared {
  readonly name: string;
  readonly cpuUs: number;
  readonly rps: number;
  readonly refused: number;
  readonly errors: number;
}

/**
 * Closed-loop rounds over `targets` in turn: server CPU per request (user + system over the
 * round) and throughput, medians of `rounds`. Every request goes to a new number.
 */
export async function compare(
  targets: readonly Target[],
  options: { rounds: number; seconds: number; concurrency: number },
): Promise<Compared[]> {
  const samples = new Map<
    string,
    { cpuUs: number; rps: number; refused: number; errors: number }[]
  >();
  for (let round = 0; round < options.rounds; round++) {
    for (const target of targets) {
      const server = await startServer(target);
      try {
        const warm = presign(server.url, 10_000, { spread: true });
        await closedLoop(warm, { seconds: 1, concurrency: options.concurrency });
        const pool = presign(server.url, options.seconds * 20_000, { spread: true });
        const before = await cpuMicros(server.pid);
        const r = await closedLoop(pool, { ...options });
        const cpuUs = (await cpuMicros(server.pid) - before) / r.requests;
        const rps = r.requests / r.seconds;
        samples.set(target.name, [
          ...samples.get(target.name) ?? [],
          { cpuUs, rps, refused: r.refused, errors: r.errors },
        ]);
      } finally {
        await server.stop();
      }
    }
  }
  return targets.map((t) => {
    const s = samples.get(t.name)!;
    return {
      name: t.name,
      cpuUs: median(s.map((x) => x.cpuUs)),
      rps: median(s.map((x) => x.rps)),
      refused: s.reduce((n, x) => n + x.refused, 0),
      errors: s.reduce((n, x) => n + x.errors, 0),
    };
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      against: { type: "string" },
      settings: { type: "string", default: "defaults" },
      rounds: { type: "string", default: "5" },
      seconds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "32" },
      env: { type: "string", multiple: true, default: [] },
      memory: { type: "boolean", default: false },
    },
  });
  if (!values.against) {
    console.error("usage: deno task bench:compare --against <checkout of another build>");
    Deno.exit(2);
  }
  const extra = Object.fromEntries(
    (values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  const build = (name: string): Target =>
    values.settings === "muted"
      ? { ...relayTarget(name, extra), stdout: "null" }
      : defaultsTarget(name, extra);
  const other = pathToFileURL(Deno.realPathSync(values.against) + "/");
  if (values.memory) {
    console.log(
      "| build | RSS, stores full | RSS, 100k later | live heap, stores full | live heap, 100k later |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: |");
    for (const [name, cwd] of [["this build", undefined], [values.against, other]] as const) {
      const env = { ...extra, OTP_MEMORY_MAX_ENTRIES: "20000" };
      const target: Target = { ...defaultsTarget(name, env), ...(cwd ? { cwd } : {}) };
      // RSS from a server left alone; the live heap from a second one (collecting garbage to
      // measure it changes what RSS would show next).
      const options = { cap: 20_000, after: 100_000, concurrency: 32, spread: true };
      const plain = await startServer(target);
      const rss = await memoryRun(plain, options).finally(() => plain.stop());
      const inspected = await startServer({ ...target, inspect: true });
      const session = await inspect(inspected.inspectorPort!);
      const heap = await memoryRun(inspected, { ...options, heap: () => liveHeapMiB(session) })
        .finally(() => {
          session.close();
          return inspected.stop();
        });
      const mib = (n: number | undefined) => `${n?.toFixed(1)} MiB`;
      console.log(
        `| ${name} | ${mib(rss.atCap)} | ${mib(rss.atEnd)} | ${mib(heap.heapAtCap)} | ${
          mib(heap.heapAtEnd)
        } |`,
      );
    }
    Deno.exit(0);
  }
  const targets = [
    BARE,
    build("this build"),
    { ...build(`build at ${values.against}`), cwd: other },
  ];
  const results = await compare(targets, {
    rounds: Number(values.rounds),
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
  });
  const bare = results[0]!.cpuUs;
  console.log(
    `settings: ${values.settings}; ${values.rounds} interleaved rounds of ${values.seconds} s`,
  );
  console.log("| server | CPU µs / request | vs bare | requests/s | refused | errors |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.cpuUs.toFixed(0)} | ${(r.cpuUs / bare).toFixed(2)}× | ${
        r.rps.toFixed(0)
      } | ${r.refused} | ${r.errors} |`,
    );
  }
}
