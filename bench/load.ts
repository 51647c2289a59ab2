/**
 * Load against a running server: closed loop (a fixed number of requests in flight, for the
 * maximum throughput) and open loop (a constant offered rate, for latency as users see it).
 *
 * @module
 */
import { signedHook, spreadPhone } from "./_common.ts";

/** What a load run measured. */
export interface LoadResult {
  readonly requests: number;
  /** Answers other than success or a limit's refusal, and failed requests. */
  readonly errors: number;
  /** Refused by an abuse limit (Auth's dialect: 200 with `error.http_code` 429). */
  readonly refused: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

/** An answer in Supabase Auth's dialect: delivered (`{}`), refused by a limit, or anything else. */
async function outcome(res: Response): Promise<"ok" | "refused" | "error"> {
  const text = await res.text();
  if (res.status !== 200) return "error";
  if (text === "{}") return "ok";
  return /^\{"error":\{"http_code":429,/.test(text) ? "refused" : "error";
}

/** Options of {@linkcode presign}. */
export interface PresignOptions {
  /** Share of requests that repeat a recent request (its `metadata.uuid` and number). */
  readonly duplicates?: number;
  /** Distinct numbers over many 1,000-number blocks ({@linkcode spreadPhone}); else one. */
  readonly spread?: boolean;
}

/** Requests signed ahead of time, so that signing does not compete with the server. */
export function presign(url: string, count: number, options: PresignOptions = {}): Request[] {
  const { duplicates = 0, spread = false } = options;
  const pool: Request[] = [];
  const sent: { uuid: string; phone?: string }[] = [];
  for (let i = 0; i < count; i++) {
    // A duplicate repeats a recent request's metadata.uuid and number, as Auth's retry does.
    const repeat = duplicates > 0 && sent.length > 0 && (i % Math.round(1 / duplicates) === 0);
    const request = repeat
      ? sent[Math.max(0, sent.length - 1 - (i % 50))]!
      : { uuid: crypto.randomUUID(), ...(spread ? { phone: spreadPhone() } : {}) };
    sent.push(request);
    pool.push(signedHook(url, request));
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
  let refused = 0;
  const latencies: number[] = [];
  const end = performance.now() + options.seconds * 1000;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (performance.now() < end && next < pool.length) {
      const req = pool[next++]!;
      const t0 = performance.now();
      try {
        const answer = await outcome(await fetch(req));
        if (answer === "refused") refused += 1;
        if (answer === "error") errors += 1;
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
    refused,
    seconds: (performance.now() - started) / 1000,
    latenciesMs: latencies,
  };
}

/**
 * Open loop: request i of the (presigned) pool is due at `i / rate` seconds, sent then whatever happened to the others,
 * and its latency counts from when it was due (so a stalled server is not hidden by a stalled
 * generator: no coordinated omission).
 */
export async function openLoop(
  pool: readonly Request[],
  options: { rate: number },
): Promise<LoadResult> {
  const count = pool.length;
  const latencies: number[] = [];
  let errors = 0;
  let refused = 0;
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
        fetch(req).then(outcome).then(
          (answer) => {
            if (answer === "refused") refused += 1;
            if (answer === "error") errors += 1;
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
    refused,
    seconds: (performance.now() - started) / 1000,
    latenciesMs: latencies,
  };
}
