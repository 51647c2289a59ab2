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
 * settled (the outcome alone; the promise and resolver are dropped). Settled entries are most of
 * the store, so they keep nothing else: at 20,000 entries every byte counts (bench/RESULTS.md,
 * "Memory").
 */
interface Entry {
  readonly key: string;
  readonly expiresAt: number;
  outcome: Outcome | undefined;
  done: Promise<Outcome> | undefined;
  resolve: ((o: Outcome) => void) | undefined;
}

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
  /** Keys held for the eviction order, replaced ones included (for tests: it stays bounded). */
  readonly queued: number;
} {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const order = new EvictionQueue(entries);
  // Entries the queue gave up while they were in flight, in claim order: older than everything
  // still queued, so they go first once settled. At most the requests in flight.
  const passed: Entry[] = [];

  const evictable = (entry: Entry, at: number) =>
    entries.size >= options.maxEntries || entry.expiresAt <= at;

  /** Drops settled entries from the oldest while the store is full or they have expired. */
  function prune(at: number): void {
    if (passed.length > 0 && !prunePassed(at)) return;
    for (let entry = order.oldest(); entry && evictable(entry, at); entry = order.oldest()) {
      order.shift();
      // In flight: kept, and still the oldest, until it settles.
      if (entry.outcome === undefined) passed.push(entry);
      else entries.delete(entry.key);
    }
  }

  /** {@linkcode prune} over the passed entries; false where it stops among them. */
  function prunePassed(at: number): boolean {
    let kept = 0;
    let more = true;
    for (const entry of passed) {
      // In-flight entries are never replaced; a settled one may have been since.
      if (entries.get(entry.key) !== entry) continue;
      if (more && !evictable(entry, at)) more = false;
      if (!more || entry.outcome === undefined) passed[kept++] = entry;
      else entries.delete(entry.key);
    }
    passed.length = kept;
    return more;
  }

  return {
    get size() {
      return entries.size;
    },
    get queued() {
      return order.length + passed.length;
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
      const entry: Entry = {
        key,
        expiresAt: at + ttlMs,
        outcome: undefined,
        done: promise,
        resolve,
      };
      entries.set(key, entry);
      order.push(entry);
      order.tidy(); // replaced claims leave their entries behind in the order
      return Promise.resolve<Claim>({ kind: "first" });
    },
    settle(key, outcome) {
      // Only an in-flight entry can be settled, and in-flight entries are never replaced, so
      // this is the entry the caller claimed.
      const entry = entries.get(key);
      if (entry && entry.outcome === undefined) {
        entry.resolve!(outcome);
        entry.outcome = outcome;
        entry.done = undefined;
        entry.resolve = undefined;
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
): CounterStore & { readonly size: number; readonly queued: number } {
  const now = options.now ?? Date.now;
  const scopes = new Map<LimitScope, Scope>();
  const scopeOf = (scope: LimitScope) => {
    let s = scopes.get(scope);
    if (!s) scopes.set(scope, s = new Scope());
    return s;
  };
  // Counters held in all scopes, kept as they change (counting them per request cost more than
  // the rest of the store's work).
  let size = 0;
  let evictedInWindow = 0;
  let lastLog = -Infinity;

  /** Drops expired counters, then evicts until `incoming` new keys fit. */
  function makeRoom(at: number, incoming: number): void {
    for (const scope of scopes.values()) {
      // One scope has one window length, so insertion order is expiry order.
      size -= scope.dropWhile((c) => c.expiresAt <= at);
    }
    for (const name of EVICTION_ORDER) {
      const scope = scopes.get(name);
      if (!scope) continue;
      let excess = size + incoming - options.maxEntries;
      if (excess <= 0) return;
      const dropped = scope.dropWhile(() => excess-- > 0);
      size -= dropped;
      evictedInWindow += dropped;
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

  const keyOf = (h: CounterHit) => `${h.key}|${h.bucket}`;

  return {
    get size() {
      return size;
    },
    /** Keys held for the eviction order, deleted ones included (for tests: it stays bounded). */
    get queued() {
      return [...scopes.values()].reduce((n, s) => n + s.queued, 0);
    },
    hit(hits) {
      const at = now();
      const keys = hits.map(keyOf);
      let incoming = 0;
      for (const [i, h] of hits.entries()) {
        if (!scopes.get(h.scope)?.map.has(keys[i]!)) incoming += 1;
      }
      if (size + incoming > options.maxEntries) makeRoom(at, incoming);
      reportEvictions(at);
      return Promise.resolve(hits.map((h, i) => {
        const scope = scopeOf(h.scope);
        let counter = scope.map.get(keys[i]!);
        if (!counter) {
          counter = scope.add({ key: keys[i]!, count: 0, expiresAt: (h.bucket + 1) * h.windowMs });
          size += 1;
        }
        counter.count += 1;
        return counter.count;
      }));
    },
    undo(hits) {
      for (const h of hits) {
        const scope = scopes.get(h.scope);
        const key = keyOf(h);
        const counter = scope?.map.get(key);
        if (!counter) continue;
        counter.count -= 1;
        // A refused request leaves no key behind: it must not fill the store.
        if (counter.count <= 0) {
          scope!.delete(key);
          size -= 1;
        }
      }
      return Promise.resolve();
    },
  };
}

/** A counter of the memory counter store. */
interface Counter {
  readonly key: string;
  count: number;
  expiresAt: number;
}

/**
 * Items of a store in insertion order, the oldest read from a moving head: its eviction order.
 * (Dropping the oldest through a `Map`'s own order walks over every entry deleted since V8 last
 * compacted the table: the largest part of the stores' cost once they were full.) An item counts
 * while `live` holds it under its key; one replaced or deleted there is skipped. Bounded: the
 * array is compacted as the head moves, and by {@linkcode EvictionQueue.tidy} when items deleted
 * out of order pile up. Slots behind the head are cleared, so a dropped item is garbage at once.
 */
class EvictionQueue<T extends { readonly key: string }> {
  #items: (T | undefined)[] = [];
  #head = 0;

  constructor(private readonly live: ReadonlyMap<string, T>) {}

  /** Items held, those no longer live included (for tests: it stays bounded). */
  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest live item, once the items before it that are no longer live are dropped. */
  oldest(): T | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (this.live.get(item.key) === item) return item;
      this.shift();
    }
    return undefined;
  }

  /** Drops the item at the head (the one {@linkcode oldest} returned). */
  shift(): void {
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Keeps only the live items when the others are most of the array. */
  tidy(): void {
    if (this.length > 2 * this.live.size + 1024) {
      this.#items = this.#items.slice(this.#head).filter((item) =>
        this.live.get(item!.key) === item
      );
      this.#head = 0;
    }
  }
}

/** One scope's counters, and their eviction order. */
class Scope {
  readonly map = new Map<string, Counter>();
  readonly #order = new EvictionQueue(this.map);

  add(counter: Counter): Counter {
    this.map.set(counter.key, counter);
    this.#order.push(counter);
    return counter;
  }

  get queued(): number {
    return this.#order.length;
  }

  delete(key: string): void {
    this.map.delete(key);
    // Refused requests to ever new numbers delete their counters out of order.
    this.#order.tidy();
  }

  /** Deletes counters from the oldest while `more(counter)` holds; returns how many. */
  dropWhile(more: (counter: Counter) => boolean): number {
    let dropped = 0;
    // A key deleted by undo (and perhaps counted again since) is no longer its old counter.
    for (let c = this.#order.oldest(); c && more(c); c = this.#order.oldest()) {
      this.map.delete(c.key);
      this.#order.shift();
      dropped += 1;
    }
    return dropped;
  }
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
      if (numbers.size === 0) return []; // the usual case: nothing to hash the number for
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
