/**
 * Load against a running server: closed loop (a fixed number of requests in flight, for the
 * maximum throughput) and open loop (a constant offered rate, for latency as users see it).
 *
 * @module
 */
import { signedHook } from "./_common.ts";

/** What a load run measured. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

/** True when the answer is a success in Supabase Auth's dialect. */
async function succeeded(res: Response): Promise<boolean> {
  const text = await res.text();
  return res.status === 200 && text === "{}";
}

/** Requests signed ahead of time, so that signing does not compete with the server. */
export function presign(url: string, count: number, duplicates = 0): Request[] {
  const pool: Request[] = [];
  const uuids: string[] = [];
  for (let i = 0; i < count; i++) {
    // A duplicate repeats a recent request's metadata.uuid, as Auth's retry does.
    const repeat = duplicates > 0 && uuids.length > 0 && (i % Math.round(1 / duplicates) === 0);
    const uuid = repeat ? uuids[Math.max(0, uuids.length - 1 - (i % 50))]! : crypto.randomUUID();
    uuids.push(uuid);
    pool.push(signedHook(url, { uuid }));
  }
  return pool;
}

/** Closed loop: `concurrency` workers send the pool's requests back to back for `seconds`. */
export async function closedLoop(
  pool: Request[],
  options: { seconds: number; concurrency: number },
): Promise<LoadResult> {
  let next = 0;
  let errors = 0;
  const latencies: number[] = [];
  const end = performance.now() + options.seconds * 1000;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (performance.now() < end && next < pool.length) {
      const req = pool[next++]!;
      const t0 = performance.now();
      try {
        if (!(await succeeded(await fetch(req)))) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latenciesMs: latencies,
  };
}

/**
 * Open loop: request i is due at `i / rate` seconds, sent then whatever happened to the others,
 * and its latency counts from when it was due (so a stalled server is not hidden by a stalled
 * generator: no coordinated omission).
 */
export async function openLoop(
  url: string,
  options: { rate: number; seconds: number },
): Promise<LoadResult> {
  const count = Math.round(options.rate * options.seconds);
  const pool = presign(url, count);
  const latencies: number[] = [];
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < count) {
    const elapsed = performance.now() - started;
    const due = Math.min(count, Math.floor((elapsed / 1000) * options.rate) + 1);
    for (; sent < due; sent++) {
      const dueAt = started + (sent / options.rate) * 1000;
      const req = pool[sent]!;
      inFlight.push(
        fetch(req).then(succeeded).then(
          (ok) => {
            if (!ok) errors += 1;
          },
          () => {
            errors += 1;
          },
        ).finally(() => latencies.push(performance.now() - dueAt)),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  return {
    requests: latencies.length,
    errors,
    seconds: (performance.now() - started) / 1000,
    latenciesMs: latencies,
  };
}
