/**
 * Memory: the server's resident set after warm-up, once the in-memory stores are full, and
 * after many more requests (5% of them duplicates): with the entry cap below the request count,
 * memory must level off.
 *
 * @module
 */
import { rssMiB, type Server } from "./_common.ts";
import { closedLoop, presign } from "./load.ts";

/** RSS at each step, in MiB. */
export interface MemoryResult {
  readonly afterWarmUp: number;
  readonly atCap: number;
  readonly atEnd: number;
  readonly requests: number;
  readonly errors: number;
  /** RSS after every batch (at most 10,000 requests). */
  readonly series: readonly [number, number][];
}

/** Sends `total` requests in batches; `cap` is the server's OTP_MEMORY_MAX_ENTRIES. */
export async function memoryRun(
  server: Server,
  options: { total: number; cap: number; concurrency: number },
): Promise<MemoryResult> {
  let errors = 0;
  let requests = 0;
  const series: [number, number][] = [];
  const send = async (count: number) => {
    // Batches keep the generator's own memory small.
    for (let left = count; left > 0; left -= 10_000) {
      const pool = presign(server.url, Math.min(10_000, left), 0.05);
      const r = await closedLoop(pool, { seconds: 3600, concurrency: options.concurrency });
      errors += r.errors;
      requests += r.requests;
      series.push([requests, await rssMiB(server.pid)]);
    }
  };
  await send(2_000);
  const afterWarmUp = await rssMiB(server.pid);
  // Past the cap the stores evict: from here on memory should stay flat.
  await send(Math.round(options.cap * 1.25) - 2_000);
  const atCap = await rssMiB(server.pid);
  await send(options.total - requests);
  const atEnd = await rssMiB(server.pid);
  return { afterWarmUp, atCap, atEnd, requests, errors, series };
}
