/**
 * Memory: the server's resident set once a warm-up has filled the in-memory stores to their cap,
 * and after many more requests (5% of them repeats, as Auth's retries are): with the stores
 * bounded, memory must level off.
 *
 * @module
 */
import { rssMiB, type Server } from "./_common.ts";
import { closedLoop, presign } from "./load.ts";

/** RSS at each step, in MiB. */
export interface MemoryResult {
  /** After the warm-up: 1.25× the cap, so every store is full and evicting. */
  readonly atCap: number;
  readonly atEnd: number;
  /**
   * After `later` more requests still, when asked: whether RSS has levelled off. V8 sizes the old
   * generation as a multiple of the live set, so RSS first climbs to that size and then stays.
   */
  readonly atLater?: number;
  /** The live heap (after a full collection) at the same two points, when measured. */
  readonly heapAtCap?: number;
  readonly heapAtEnd?: number;
  /** Requests after the warm-up. */
  readonly after: number;
  readonly requests: number;
  readonly errors: number;
  readonly refused: number;
  /** RSS after every batch (at most 10,000 requests). */
  readonly series: readonly [number, number][];
}

/**
 * Fills the stores of a server started with `OTP_MEMORY_MAX_ENTRIES=cap`, then sends `after`
 * more requests in batches; `spread` sends to distinct numbers (for the default limits).
 */
export async function memoryRun(
  server: Server,
  options: {
    cap: number;
    after: number;
    concurrency: number;
    spread: boolean;
    /** Requests after `after`, for {@linkcode MemoryResult.atLater}. */
    later?: number;
    /** The live heap in MiB; it collects garbage first, so it is measured after RSS. */
    heap?: () => Promise<number>;
  },
): Promise<MemoryResult> {
  let errors = 0;
  let refused = 0;
  let requests = 0;
  const series: [number, number][] = [];
  const send = async (count: number) => {
    // Batches keep the generator's own memory small.
    for (let left = count; left > 0; left -= 10_000) {
      const pool = presign(server.url, Math.min(10_000, left), {
        duplicates: 0.05,
        spread: options.spread,
      });
      const r = await closedLoop(pool, { seconds: 3600, concurrency: options.concurrency });
      errors += r.errors;
      refused += r.refused;
      requests += r.requests;
      series.push([requests, await rssMiB(server.pid)]);
    }
  };
  // Past the cap the stores evict: from here on memory should stay flat.
  await send(Math.round(options.cap * 1.25));
  const atCap = await rssMiB(server.pid);
  const heapAtCap = await options.heap?.();
  await send(options.after);
  const atEnd = await rssMiB(server.pid);
  const heapAtEnd = await options.heap?.();
  let atLater: number | undefined;
  if (options.later) {
    await send(options.later);
    atLater = await rssMiB(server.pid);
  }
  return {
    atCap,
    atEnd,
    ...(atLater === undefined ? {} : { atLater }),
    ...(heapAtCap === undefined ? {} : { heapAtCap }),
    ...(heapAtEnd === undefined ? {} : { heapAtEnd }),
    after: options.after,
    requests,
    errors,
    refused,
    series,
  };
}
