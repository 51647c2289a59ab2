/**
 * What the benchmark sections share: the servers under test, started as separate processes
 * the same way, and signed Supabase hook requests.
 *
 * @module
 */
import { parsePhone } from "../supabase/functions/_shared/phone.ts";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";

export const root = new URL("..", import.meta.url);
export const SECRET = "v1,whsec_" + btoa("otp-relay benchmark secret, not for production");

/** A server: the script and the environment it starts with. */
export interface Target {
  readonly name: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /**
   * Where the server's stdout goes: piped to the bench (the default; it reads the URL there),
   * or `/dev/null`, as a deployment's log collector takes it off the server's hands: the server
   * still builds and writes every line, and the bench spends nothing reading them.
   */
  readonly stdout?: "piped" | "null";
  /** The checkout the script runs in (another build, for bench/compare.ts); this one if unset. */
  readonly cwd?: URL;
  /** Start with the DevTools inspector on a free port (output to `/dev/null` only). */
  readonly inspect?: boolean;
}

/** Every server starts with the same command and permissions; only the script differs. */
export const RUN_FLAGS = ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys"];

/** otp-relay as `deno task start` runs it, with `env` on top of the shared settings. */
export function relayTarget(name: string, env: Record<string, string> = {}): Target {
  return {
    name,
    script: "scripts/start.ts",
    env: {
      PORT: "0",
      OTP_PROVIDER: "console",
      SEND_SMS_HOOK_SECRETS: SECRET,
      OTP_LOG_LEVEL: "warn",
      // Every request goes to one number: the abuse limits would refuse all but five.
      OTP_LIMIT_PER_NUMBER: "off",
      OTP_LIMIT_PER_PREFIX: "off",
      ...env,
    },
  };
}

/**
 * otp-relay as people deploy it: the default limits (5/15m per number, 20/10m per 1,000-number
 * block) and `info` logs, one JSON line per delivery; the console provider prints each code.
 * Output goes to `/dev/null`. Load it with {@linkcode spreadPhone}, or the limits refuse.
 */
export function defaultsTarget(name: string, env: Record<string, string> = {}): Target {
  return {
    name,
    script: "scripts/start.ts",
    env: { OTP_PROVIDER: "console", SEND_SMS_HOOK_SECRETS: SECRET, ...env },
    stdout: "null",
  };
}

/** The least a Deno HTTP server can do for a hook: answer `{}`. */
export const BARE: Target = { name: "bare Deno.serve", script: "bench/_bare-server.ts", env: {} };
/** A minimal Hono app on Deno.serve answering `{}` under /send-sms. */
export const MINIMAL_HONO: Target = {
  name: "minimal Hono app",
  script: "bench/_minimal-hono.ts",
  env: {},
};

/** A running server. */
export interface Server {
  readonly url: string;
  readonly pid: number;
  /** The inspector's port, when the target asked for it. */
  readonly inspectorPort?: number;
  stop(): Promise<void>;
}

/** Spawns `target` and resolves once it prints its URL (or, output discarded, answers). */
export async function startServer(target: Target): Promise<Server> {
  if (target.stdout === "null") return await startQuiet(target);
  const child = spawn(target, Deno.execPath(), []);
  const url = await listening(child, target.name);
  return {
    url,
    pid: child.pid,
    stop: async () => {
      try {
        child.kill();
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/** A free loopback port, for a server whose output nobody reads. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts a server with stdout to `/dev/null` on a port chosen here; ready when health answers. */
async function startQuiet(target: Target): Promise<Server> {
  const port = freePort();
  const inspectorPort = target.inspect ? freePort() : undefined;
  const inspect = inspectorPort ? [`--inspect=127.0.0.1:${inspectorPort}`] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: [RUN_FLAGS[0]!, ...inspect, ...RUN_FLAGS.slice(1), target.script],
    cwd: target.cwd ?? root,
    env: { ...target.env, PORT: String(port), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "null",
    // The inspector announces itself on stderr.
    stderr: inspectorPort ? "null" : "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}/send-sms`;
  const stop = async () => {
    try {
      child.kill();
    } catch { /* already gone */ }
    await child.status;
  };
  for (let tries = 0; tries < 300; tries++) {
    try {
      const res = await fetch(`${url}/health`);
      await res.body?.cancel();
      if (res.ok) return { url, pid: child.pid, stop, ...(inspectorPort ? { inspectorPort } : {}) };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`${target.name} did not answer on ${url} within 6 s`);
}

/** Spawns `target` with `program` (Deno, or a tracer in front of it) and piped stdout. */
export function spawn(target: Target, program: string, before: string[]): Deno.ChildProcess {
  const deno = program === Deno.execPath() ? [] : [Deno.execPath()];
  return new Deno.Command(program, {
    args: [...before, ...deno, ...RUN_FLAGS, target.script],
    cwd: target.cwd ?? root,
    env: { ...target.env, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Resolves with the server's URL once `child` prints it. */
export async function listening(child: Deno.ChildProcess, name: string): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited before listening:\n${seen}`);
    seen += value;
    const m = seen.match(/listening on (http:\/\/127\.0\.0\.1:\d+\/send-sms)/);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {});
      return m[1]!;
    }
  }
}

let sequence = 0;

/**
 * 100,000 UK mobile blocks of 1,000 numbers (from +447400000…, those libphonenumber knows as
 * mobile), found once (~1 s): {@linkcode spreadPhone} walks them so that the default limits (5
 * per number, 20 per block) refuse nothing.
 */
let mobileBlocks: string[] | undefined;
let spread = 0;

/**
 * The next of many distinct numbers, each in a different 1,000-number block until every block
 * has one, then the next number of each block. Digits as Supabase sends them (no `+`).
 */
export function spreadPhone(): string {
  if (!mobileBlocks) {
    mobileBlocks = [];
    for (let b = 7400000; b <= 7999999 && mobileBlocks.length < 100_000; b++) {
      const parsed = parsePhone(`+44${b}000`);
      if (parsed?.type === "MOBILE") mobileBlocks.push(`44${b}`);
    }
  }
  const i = spread++;
  const block = mobileBlocks[i % mobileBlocks.length]!;
  const within = Math.floor(i / mobileBlocks.length) % 1000;
  return block + String(within).padStart(3, "0");
}

/**
 * A signed Supabase hook request; `uuid` repeats a delivery (Auth's retry of the same body),
 * `phone` sets the number (one UK mobile unless given).
 */
export function signedHook(url: string, options: { uuid?: string; phone?: string } = {}): Request {
  sequence += 1;
  const phone = options.phone ?? "447400123456";
  const body = JSON.stringify({
    metadata: {
      uuid: options.uuid ?? crypto.randomUUID(),
      time: new Date().toISOString(),
      name: "send-sms",
    },
    user: { id: crypto.randomUUID(), phone, user_metadata: {}, app_metadata: {} },
    sms: { otp: String(100000 + (sequence % 900000)), phone },
  });
  const headers = signWebhook({
    secrets: [SECRET],
    id: `msg_${sequence}`,
    timestamp: Math.floor(Date.now() / 1000),
    body,
  });
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

/** The p-th percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The median of samples. */
export function median(samples: readonly number[]): number {
  return percentile([...samples].sort((a, b) => a - b), 50);
}

/**
 * CPU time a process has used so far, user and system, all threads, in µs (Linux:
 * /proc/<pid>/stat, in clock ticks of 10 ms: measure over thousands of requests).
 */
export async function cpuMicros(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `cat /proc/${pid}/stat; getconf CLK_TCK`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const [stat = "", tck = "100"] = new TextDecoder().decode(out.stdout).trim().split("\n");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime
  // are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / Number(tck)) * 1e6;
}

/** Resident memory of a process in MiB (Linux: VmRSS). */
export async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `grep VmRSS /proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const kib = Number(new TextDecoder().decode(out.stdout).match(/(\d+)\s*kB/)?.[1]);
  return kib / 1024;
}

/** Runs a command and returns its stdout; throws with stderr when it fails. */
export async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The machine, for reports: cores, CPU model, memory, OS. */
export async function machine(): Promise<string> {
  // Deno reads /proc only with --allow-all; ask a shell instead.
  const out = await new Deno.Command("sh", {
    args: ["-c", "grep -m1 'model name' /proc/cpuinfo"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  const cpu = new TextDecoder().decode(out?.stdout).match(/model name\s*:\s*(.+)/)?.[1] ??
    "unknown CPU";
  const memGiB = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(0);
  return `${navigator.hardwareConcurrency} cores, ${cpu}, ${memGiB} GiB RAM, ${Deno.build.os}/${Deno.build.arch}`;
}
