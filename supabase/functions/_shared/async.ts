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

/** Microtask turns a promise gets to settle before a timer is started for it. */
const SETTLE_TURNS = 8;

/**
 * Runs `start` only if `promise` is still pending after a few microtask turns, and the cleanup
 * `start` returns once it settles. Most promises raced against a clock here have settled by then
 * (an in-memory store, the console provider): they never create a timer, which costs more than
 * the rest of their work (bench/OPTIMISATIONS.md). The turns may take a while when other work
 * is queued, so `start` must count its time from before the call: see {@linkcode remaining}.
 */
export function whenPending(promise: Promise<unknown>, start: () => () => void): void {
  let settled = false;
  let cleanup: (() => void) | undefined;
  const done = () => {
    settled = true;
    cleanup?.();
  };
  promise.then(done, done);
  let turn: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < SETTLE_TURNS; i++) turn = turn.then();
  void turn.then(() => {
    if (!settled) cleanup = start();
  });
}

/** What is left of `ms` counted from `since` (a `performance.now()` reading), never below 0. */
function remaining(ms: number, since: number): number {
  return Math.max(0, ms - (performance.now() - since));
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
  const since = performance.now();
  return new Promise<T | undefined>((resolve, reject) => {
    promise.then(resolve, reject);
    whenPending(promise, () => {
      const timer = setTimeout(() => resolve(undefined), remaining(ms, since));
      return () => clearTimeout(timer);
    });
  });
}

/**
 * An abort signal that fires with a `TimeoutError` `ms` after this call unless the watched
 * `work` has settled, without a timer when it settles at once; unlike `AbortSignal.timeout`,
 * whose timer runs its full length and then builds an exception, the timer is cleared as soon as
 * `work` settles.
 *
 * @example
 * ```ts
 * const { signal, watch } = abortAfter(1500);
 * watch(provider.send(message, { signal }));
 * ```
 */
export function abortAfter(ms: number): {
  readonly signal: AbortSignal;
  /** Starts the clock for `work`; returns `work`. */
  watch<T>(work: Promise<T>): Promise<T>;
} {
  // The clock runs from here, as `AbortSignal.timeout(ms)` made here would: the work's own
  // synchronous start and the turns before the timer are part of its time.
  const since = performance.now();
  const controller = new AbortController();
  return {
    signal: controller.signal,
    watch(work) {
      whenPending(work, () => {
        const timer = setTimeout(
          () => controller.abort(new DOMException("Signal timed out.", "TimeoutError")),
          remaining(ms, since),
        );
        return () => clearTimeout(timer);
      });
      return work;
    },
  };
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
