/**
 * What the benchmark sections share: the servers under test, started as separate processes
 * the same way, and signed Supabase hook requests.
 *
 * @module
 */
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";

export const root = new URL("..", import.meta.url);
export const SECRET = "v1,whsec_" + btoa("otp-relay benchmark secret, not for production");

/** A server: the script and the environment it starts with. */
export interface Target {
  readonly name: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
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
  stop(): Promise<void>;
}

/** Spawns `target` and resolves once it prints its URL. */
export async function startServer(target: Target): Promise<Server> {
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

/** Spawns `target` with `program` (Deno, or a tracer in front of it) and piped stdout. */
export function spawn(target: Target, program: string, before: string[]): Deno.ChildProcess {
  const deno = program === Deno.execPath() ? [] : [Deno.execPath()];
  return new Deno.Command(program, {
    args: [...before, ...deno, ...RUN_FLAGS, target.script],
    cwd: root,
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

/** A signed Supabase hook request; `uuid` repeats a delivery (Auth's retry of the same body). */
export function signedHook(url: string, options: { uuid?: string } = {}): Request {
  sequence += 1;
  const body = JSON.stringify({
    metadata: {
      uuid: options.uuid ?? crypto.randomUUID(),
      time: new Date().toISOString(),
      name: "send-sms",
    },
    user: { id: crypto.randomUUID(), phone: "447400123456", user_metadata: {}, app_metadata: {} },
    sms: { otp: String(100000 + (sequence % 900000)), phone: "447400123456" },
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
