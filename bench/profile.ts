/**
 * `deno task bench:profile`: where a server's CPU goes under load. Starts otp-relay with
 * `--inspect` (Deno 2.1 has no `--cpu-prof`), records a V8 CPU profile over the DevTools
 * protocol during a closed-loop load of signed hooks, and prints self time by function and by
 * package (our files, each npm package, V8's garbage collector, and "(program)": native work
 * outside JavaScript, such as Deno's HTTP server).
 *
 *   deno task bench:profile [--settings defaults|muted] [--seconds 5] [--top 40]
 *                           [--out profile.cpuprofile]
 *
 * The `.cpuprofile` written with `--out` opens in Chrome DevTools' Performance panel.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultsTarget, relayTarget, root, RUN_FLAGS, type Target } from "./_common.ts";
import { inspect } from "./_inspector.ts";
import { closedLoop, presign } from "./load.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code comes from: an npm package, a project file, V8 or Deno. */
function origin(url: string, name: string): string {
  if (url === "") return name.startsWith("(") ? name : "(native)";
  const npm = url.match(/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//);
  if (npm) return npm[1]!;
  const project = url.match(/\/(supabase\/functions\/_shared\/.+|scripts\/.+)$/);
  if (project) return project[1]!;
  if (url.startsWith("ext:")) return "deno runtime (" + url.split("/")[0] + ")";
  return url;
}

/** Self time per key, in ms, from a profile's samples. */
function selfTimes(profile: CpuProfile, key: (n: ProfileNode) => string): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (const [i, id] of profile.samples.entries()) {
    const k = key(byId.get(id)!);
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      settings: { type: "string", default: "defaults" },
      seconds: { type: "string", default: "5" },
      top: { type: "string", default: "40" },
      out: { type: "string" },
    },
  });
  const target: Target = values.settings === "muted"
    ? relayTarget("otp-relay, muted")
    : defaultsTarget("otp-relay, default settings");
  const port = 9229 + Math.floor(Math.random() * 500);
  const httpPort = 20000 + Math.floor(Math.random() * 20000);
  const child = new Deno.Command(Deno.execPath(), {
    args: [RUN_FLAGS[0]!, `--inspect=127.0.0.1:${port}`, ...RUN_FLAGS.slice(1), target.script],
    cwd: root,
    env: { ...target.env, PORT: String(httpPort), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${httpPort}/send-sms`;
    const session = await inspect(port);
    for (let tries = 0; tries < 300; tries++) {
      const ok = await fetch(`${url}/health`).then(
        (r) => r.body?.cancel().then(() => r.ok),
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await closedLoop(presign(url, 20_000, { spread: true }), { seconds: 1, concurrency: 32 });
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 100 });
    const pool = presign(url, Number(values.seconds) * 20_000, { spread: true });
    await session.send("Profiler.start");
    const r = await closedLoop(pool, { seconds: Number(values.seconds), concurrency: 32 });
    const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
    session.close();
    if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(profile));
    const total = (profile.endTime - profile.startTime) / 1000;
    const perRequest = (ms: number) => ((ms * 1000) / r.requests).toFixed(1);
    console.log(
      `${target.name}: ${r.requests} requests (${r.refused} refused, ${r.errors} errors) in ${
        total.toFixed(0)
      } ms of profile; self time in µs per request:`,
    );
    console.log("\nby origin:");
    for (
      const [k, ms] of selfTimes(profile, (n) => origin(n.callFrame.url, n.callFrame.functionName))
        .slice(0, 25)
    ) {
      console.log(`${perRequest(ms).padStart(8)}  ${k}`);
    }
    console.log("\nby function:");
    const fn = (n: ProfileNode) =>
      `${n.callFrame.functionName || "(anonymous)"} ${
        origin(n.callFrame.url, n.callFrame.functionName)
      }:${n.callFrame.lineNumber + 1}`;
    for (const [k, ms] of selfTimes(profile, fn).slice(0, Number(values.top))) {
      console.log(`${perRequest(ms).padStart(8)}  ${k}`);
    }
  } finally {
    child.kill();
    await child.status;
  }
}
