/**
 * Small promise helpers for deadlines.
 *
 * @module
 */

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts, whichever
 * comes first. The promise itself is not cancelled: use it for work that ignores signals.
 *
 * @example
 * ```ts
 * const sdk = await raceAbort(import("twilio"), AbortSignal.timeout(1500));
 * ```
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Resolves with `promise`'s value, or with `undefined` once `ms` have passed.
 *
 * @example
 * ```ts
 * const outcome = await within(claim.outcome, deadline - Date.now());
 * if (outcome === undefined) console.log("still in flight");
 * ```
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Supabase's Edge Runtime global, where it exists. */
interface EdgeRuntimeGlobal {
  waitUntil?(promise: Promise<unknown>): unknown;
}

/**
 * Keeps the isolate alive until `promise` settles, for work that goes on after the answer (a
 * late delivery record, the retention purge). On Supabase's Edge Runtime this is
 * `EdgeRuntime.waitUntil`: without it, an isolate may be stopped once it has answered, and the
 * work is lost. Elsewhere (Deno, tests) the work simply goes on. Never throws; `promise`'s own
 * rejection is the caller's to handle.
 *
 * @example
 * ```ts
 * keepAlive(store.settle(key, outcome));
 * ```
 */
export function keepAlive(promise: Promise<unknown>): void {
  const runtime = (globalThis as { EdgeRuntime?: EdgeRuntimeGlobal }).EdgeRuntime;
  try {
    runtime?.waitUntil?.(promise.catch(() => {}));
  } catch {
    // A runtime that refuses (e.g. after shutdown began): the work still runs as far as it can.
  }
}
