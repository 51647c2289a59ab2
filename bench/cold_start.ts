/**
 * Cold start: wall time from spawning a server process to the first successful answer to a
 * signed hook, as an edge function pays it on its first request.
 *
 * @module
 */
import { listening, signedHook, spawn, type Target } from "./_common.ts";

/** One cold start in ms: spawn → listening → the first `200 {}` to a signed hook. */
export async function coldStartOnce(target: Target): Promise<number> {
  const started = performance.now();
  const child = spawn(target, Deno.execPath(), []);
  try {
    const url = await listening(child, target.name);
    const res = await fetch(signedHook(url));
    const text = await res.text();
    if (res.status !== 200 || text !== "{}") {
      throw new Error(`${target.name}: first answer ${res.status} ${text}`);
    }
    return performance.now() - started;
  } finally {
    try {
      child.kill();
    } catch { /* already gone */ }
    await child.status;
  }
}

/** `runs` cold starts of each target, interleaved so that the machine's noise hits all alike. */
export async function coldStarts(
  targets: readonly Target[],
  runs: number,
): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (const target of targets) await coldStartOnce(target); // fill Deno's caches first
  for (let i = 0; i < runs; i++) {
    for (const target of targets) samples.get(target.name)!.push(await coldStartOnce(target));
  }
  return samples;
}
