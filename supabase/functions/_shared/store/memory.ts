/**
 * In-memory stores: the embedded default for `deno task start` and single instances.
 *
 * Bounded in time (each entry expires) and in size (the oldest entries go first), so a flood of
 * distinct requests cannot grow the isolate's memory without limit.
 *
 * @module
 */
import { REFUSALS } from "../delivery/limits.ts";
import type { Outcome } from "../delivery/types.ts";
import type { Claim, CounterStore, DedupeStore, OptOutStore } from "../delivery/ports.ts";

/** Options of {@linkcode createMemoryDedupeStore}. */
export interface MemoryStoreOptions {
  /** Entries kept at most; the oldest are dropped first. */
  maxEntries: number;
  /** Clock in epoch milliseconds. */
  now?: () => number;
}

/**
 * A key's entry: in flight (a promise for its outcome and the function that resolves it) or
 * settled (the outcome alone). Settled entries are most of the store, so they keep nothing else:
 * at 20,000 entries every byte counts (bench/RESULTS.md, "Memory").
 */
type Entry =
  | { expiresAt: number; outcome: undefined; done: Promise<Outcome>; resolve: (o: Outcome) => void }
  | { expiresAt: number; outcome: Outcome; done: undefined; resolve: undefined };

/**
 * An outcome a retry must replay rather than deliver again. A failure the provider certainly did
 * not accept may be tried again by a retry; anything that may have left (success, or an unknown
 * state after a timeout) must not be sent twice, and a refusal stays a refusal (a retry never
 * counts against a limit).
 */
export function isFinal(outcome: Outcome): boolean {
  return outcome.ok || outcome.sent !== "no" || REFUSALS.has(outcome.reason);
}

/**
 * Creates an in-memory {@linkcode DedupeStore}.
 *
 * Entries still in flight are never expired or evicted: dropping one would let a retry send a
 * second message. They settle within the caller's deadline, so at most the requests in flight
 * can hold the store above `maxEntries`.
 *
 * @example
 * ```ts
 * const store = createMemoryDedupeStore({ maxEntries: 10_000 });
 * const claim = await store.claim("supabase:8d0c…", 600_000);
 * ```
 */
export function createMemoryDedupeStore(options: MemoryStoreOptions): DedupeStore & {
  readonly size: number;
} {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  function prune(at: number): void {
    for (const [key, entry] of entries) {
      if (entries.size < options.maxEntries && entry.expiresAt > at) break;
      if (entry.outcome === undefined) continue; // in flight: kept until it settles
      entries.delete(key);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    claim(key, { ttlMs }) {
      const at = now();
      const existing = entries.get(key);
      if (existing) {
        const inFlight = existing.outcome === undefined;
        if (inFlight || (existing.expiresAt > at && isFinal(existing.outcome!))) {
          const outcome = existing.done ?? Promise.resolve(existing.outcome!);
          return Promise.resolve<Claim>({ kind: "duplicate", outcome });
        }
        entries.delete(key);
      }
      prune(at);
      const { promise, resolve } = Promise.withResolvers<Outcome>();
      entries.set(key, { expiresAt: at + ttlMs, outcome: undefined, done: promise, resolve });
      return Promise.resolve<Claim>({ kind: "first" });
    },
    settle(key, outcome) {
      // Only an in-flight entry can be settled, and in-flight entries are never replaced, so
      // this is the entry the caller claimed.
      const entry = entries.get(key);
      if (entry && entry.outcome === undefined) {
        entry.resolve(outcome);
        entries.set(key, {
          expiresAt: entry.expiresAt,
          outcome,
          done: undefined,
          resolve: undefined,
        });
      }
      return Promise.resolve();
    },
  };
}

/**
 * In-memory abuse-limit counters, bounded in entries (the oldest go first) and dropped when their
 * window has passed.
 */
export function createMemoryCounterStore(
  options: { maxEntries: number; now?: () => number },
): CounterStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const counters = new Map<string, { count: number; expiresAt: number }>();
  return {
    get size() {
      return counters.size;
    },
    hit(hits) {
      const at = now();
      for (const [key, c] of counters) {
        if (counters.size < options.maxEntries && c.expiresAt > at) break;
        counters.delete(key);
      }
      return Promise.resolve(hits.map((h) => {
        const key = `${h.scope}|${h.key}|${h.bucket}`;
        const counter = counters.get(key) ??
          { count: 0, expiresAt: (h.bucket + 1) * h.windowMs };
        counter.count += 1;
        counters.set(key, counter);
        return counter.count;
      }));
    },
    undo(hits) {
      for (const h of hits) {
        const counter = counters.get(`${h.scope}|${h.key}|${h.bucket}`);
        if (counter && counter.count > 0) counter.count -= 1;
      }
      return Promise.resolve();
    },
  };
}

/**
 * In-memory opt-outs, for one instance. Bounded like the other stores: past `maxEntries` numbers,
 * the oldest record goes first (a deployment that must never forget a STOP uses PostgreSQL).
 */
export function createMemoryOptOutStore(
  options: { maxEntries: number },
): OptOutStore & { readonly size: number } {
  const numbers = new Map<string, Set<string>>();
  return {
    get size() {
      return numbers.size;
    },
    find(numberHash) {
      return Promise.resolve([...numbers.get(numberHash) ?? []]);
    },
    record(numberHash, provider) {
      const providers = numbers.get(numberHash) ?? new Set<string>();
      numbers.delete(numberHash); // newest last
      providers.add(provider);
      numbers.set(numberHash, providers);
      for (const key of numbers.keys()) {
        if (numbers.size <= options.maxEntries) break;
        numbers.delete(key);
      }
      return Promise.resolve();
    },
    clear(numberHash, provider) {
      const providers = numbers.get(numberHash);
      if (providers && provider !== undefined) providers.delete(provider);
      if (!providers || provider === undefined || providers.size === 0) numbers.delete(numberHash);
      return Promise.resolve();
    },
  };
}
