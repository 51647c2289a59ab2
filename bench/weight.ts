/**
 * Module weight: what a server actually reads to answer its first hook (traced with strace,
 * when the machine has it), and what `deno bundle` makes of the function.
 *
 * @module
 */
import { listening, root, run, signedHook, spawn, type Target } from "./_common.ts";

/** Files and bytes read from the npm cache and the project. */
export interface LoadedWeight {
  readonly files: number;
  readonly bytes: number;
  /** Bytes per npm package (name@version), largest first. */
  readonly packages: readonly [string, number][];
}

/** The npm cache folder (`deno info`). */
async function npmCache(): Promise<string> {
  const info = JSON.parse(await run(Deno.execPath(), ["info", "--json"])) as { npmCache: string };
  return info.npmCache;
}

/** True when strace can trace here. */
export async function canTrace(): Promise<boolean> {
  try {
    await run("strace", ["-qq", "-e", "trace=none", "true"]);
    return true;
  } catch {
    return false;
  }
}

/** strace's absolute path: the servers start with a cleared environment, so no PATH lookup. */
async function stracepath(): Promise<string> {
  return (await run("sh", ["-c", "command -v strace"])).trim();
}

/**
 * Starts `target` under strace, sends one signed hook, and sums the module files it opened:
 * sources under the npm cache and the project (not the cache's metadata).
 */
export async function loadedWeight(target: Target): Promise<LoadedWeight> {
  const trace = await Deno.makeTempFile({ suffix: ".strace" });
  // Tracing slows the server down: give the first delivery all the time there is.
  const traced = {
    ...target,
    env: { ...target.env, OTP_ATTEMPT_TIMEOUT_MS: "4400", OTP_DEADLINE_MS: "4500" },
  };
  const child = spawn(traced, await stracepath(), ["-f", "-qq", "-e", "trace=openat", "-o", trace]);
  try {
    const url = await listening(child, target.name);
    const res = await fetch(signedHook(url));
    if ((await res.text()) !== "{}") throw new Error(`${target.name}: first hook failed`);
  } finally {
    // Stop the traced server; strace exits with it.
    await new Deno.Command("pkill", { args: ["-TERM", "-P", String(child.pid)] }).output();
    await child.status;
  }
  const cache = await npmCache();
  const project = root.pathname;
  const opened = new Set<string>();
  for (const line of (await Deno.readTextFile(trace)).split("\n")) {
    const m = line.match(/openat\([^"]*"([^"]+)"[^)]*\)\s*=\s*\d+/);
    if (!m) continue;
    const path = m[1]!;
    if (!/\.(m?js|cjs|json|ts)$/.test(path) || path.endsWith("registry.json")) continue;
    if (path.startsWith(cache) || (path.startsWith(project) && !path.includes("/.git/"))) {
      opened.add(path);
    }
  }
  await Deno.remove(trace);
  let bytes = 0;
  const packages = new Map<string, number>();
  for (const path of opened) {
    const size = (await Deno.stat(path)).size;
    bytes += size;
    const pkg = path.startsWith(cache)
      ? path.slice(cache.length).split("/").slice(2, 4).join("@")
      : "otp-relay (project)";
    packages.set(pkg, (packages.get(pkg) ?? 0) + size);
  }
  return {
    files: opened.size,
    bytes,
    packages: [...packages].sort((a, b) => b[1] - a[1]),
  };
}

/**
 * The Deno that bundles. Deno 2.1.4, the platform's and ours, has no `deno bundle` (it came back
 * in 2.4), so a second pinned Deno does it, without our lockfile (2.1.4 reads only version 4).
 * It only measures: nothing it makes is run or shipped.
 */
export const BUNDLER_DENO = "2.9.6";

/** The bundle `deno bundle --code-splitting` writes: the entry chunk and the lazy ones. */
export async function bundleWeight(): Promise<{ entry: number; chunks: [string, number][] }> {
  const dir = await Deno.makeTempDir();
  try {
    await run("npx", [
      "-y",
      `deno@${BUNDLER_DENO}`,
      "bundle",
      "--no-lock",
      "--platform",
      "deno",
      "--code-splitting",
      "--minify",
      "--outdir",
      dir,
      "supabase/functions/send-sms/index.ts",
    ]);
    const chunks: [string, number][] = [];
    let entry = 0;
    for await (const f of Deno.readDir(dir)) {
      const size = (await Deno.stat(`${dir}/${f.name}`)).size;
      if (f.name === "index.js") entry = size;
      else chunks.push([f.name, size]);
    }
    return { entry, chunks: chunks.sort((a, b) => b[1] - a[1]) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
