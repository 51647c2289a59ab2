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
import type { LimitScope } from "../delivery/limits.ts";
import type {
  Claim,
  CounterHit,
  CounterStore,
  DedupeStore,
  OptOutStore,
} from "../delivery/ports.ts";
import type { Logger } from "../log.ts";

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

/** Which counters go first when the memory counter store is full; the global one never does. */
const EVICTION_ORDER: readonly LimitScope[] = ["number", "prefix", "ip"];

/** A warning about evictions is logged at most this often. */
export const EVICTION_LOG_INTERVAL_MS = 60_000;

/**
 * In-memory abuse-limit counters, bounded in entries and dropped when their window has passed.
 *
 * When full, room is made by evicting per-number counters first (the oldest first), then
 * per-block ones, then per-IP ones; the global counter is never evicted, so a flood of distinct
 * numbers cannot reset the daily cap (found in review: 300 numbers against a 10/day cap with 100
 * entries got 60 through). A counter evicted inside its window is logged, at most once a minute.
 * New keys are never refused: at the default size that would lock out every new number.
 */
export function createMemoryCounterStore(
  options: { maxEntries: number; now?: () => number; log?: Logger },
): CounterStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const scopes = new Map<LimitScope, Map<string, { count: number; expiresAt: number }>>();
  const mapOf = (scope: LimitScope) => {
    let map = scopes.get(scope);
    if (!map) scopes.set(scope, map = new Map());
    return map;
  };
  const size = () => [...scopes.values()].reduce((n, m) => n + m.size, 0);
  let evictedInWindow = 0;
  let lastLog = -Infinity;

  /** Drops expired counters, then evicts until `incoming` new keys fit. */
  function makeRoom(at: number, incoming: number): void {
    for (const map of scopes.values()) {
      // One scope has one window length, so insertion order is expiry order.
      for (const [key, c] of map) {
        if (c.expiresAt > at) break;
        map.delete(key);
      }
    }
    for (const scope of EVICTION_ORDER) {
      const map = scopes.get(scope);
      if (!map) continue;
      for (const key of map.keys()) {
        if (size() + incoming <= options.maxEntries) return;
        map.delete(key);
        evictedInWindow += 1;
      }
    }
  }

  function reportEvictions(at: number): void {
    if (evictedInWindow === 0 || at - lastLog < EVICTION_LOG_INTERVAL_MS) return;
    options.log?.warn("limit_counters_evicted", {
      evicted: evictedInWindow,
      maxEntries: options.maxEntries,
      detail: "the in-memory limit counters are full: counters still inside their window were " +
        "dropped (per-number first, never the global one); raise OTP_MEMORY_MAX_ENTRIES or use " +
        "PostgreSQL",
    });
    evictedInWindow = 0;
    lastLog = at;
  }

  return {
    get size() {
      return size();
    },
    hit(hits) {
      const at = now();
      const keyOf = (h: CounterHit) => `${h.key}|${h.bucket}`;
      const incoming = hits.filter((h) => !scopes.get(h.scope)?.has(keyOf(h))).length;
      if (size() + incoming > options.maxEntries) makeRoom(at, incoming);
      reportEvictions(at);
      return Promise.resolve(hits.map((h) => {
        const map = mapOf(h.scope);
        const counter = map.get(keyOf(h)) ?? { count: 0, expiresAt: (h.bucket + 1) * h.windowMs };
        counter.count += 1;
        map.set(keyOf(h), counter);
        return counter.count;
      }));
    },
    undo(hits) {
      for (const h of hits) {
        const map = scopes.get(h.scope);
        const key = `${h.key}|${h.bucket}`;
        const counter = map?.get(key);
        if (!counter) continue;
        counter.count -= 1;
        // A refused request leaves no key behind: it must not fill the store.
        if (counter.count <= 0) map!.delete(key);
      }
      return Promise.resolve();
    },
  };
}

/**
 * In-memory opt-outs, for one instance, under `hash` of the number. Bounded like the other
 * stores: past `maxEntries` numbers, the oldest record goes first (a deployment that must never
 * forget a STOP uses PostgreSQL).
 */
export function createMemoryOptOutStore(
  options: { maxEntries: number; hash: (value: string) => Promise<string> },
): OptOutStore & { readonly size: number } {
  const numbers = new Map<string, Set<string>>();
  const keyOf = (e164: string) => options.hash(`number:${e164}`);
  return {
    get size() {
      return numbers.size;
    },
    async find(e164) {
      return [...numbers.get(await keyOf(e164)) ?? []];
    },
    async record(e164, provider) {
      const key = await keyOf(e164);
      const providers = numbers.get(key) ?? new Set<string>();
      numbers.delete(key); // newest last
      providers.add(provider);
      numbers.set(key, providers);
      for (const oldest of numbers.keys()) {
        if (numbers.size <= options.maxEntries) break;
        numbers.delete(oldest);
      }
    },
    async clear(e164, provider) {
      const key = await keyOf(e164);
      const providers = numbers.get(key);
      if (providers && provider !== undefined) providers.delete(provider);
      if (!providers || provider === undefined || providers.size === 0) numbers.delete(key);
    },
  };
}
