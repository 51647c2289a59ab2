/**
 * Keeps deliveries going when the shared store fails.
 *
 * - The migration was never pushed (Supabase injects `SUPABASE_DB_URL` into every deployment):
 *   deliveries run on memory, and every such request logs an error; health reports it.
 * - The database is unreachable or slow: `open` (the default) delivers on memory with a loud
 *   log; `closed` refuses, because without shared state a retry on another instance could send
 *   twice.
 *
 * @module
 */
import type { Outcome } from "../delivery/types.ts";
import type { Logger } from "../log.ts";
import { MigrationMissingError } from "./postgres.ts";
import {
  type Claim,
  type ClaimOptions,
  type CounterHit,
  type CounterStore,
  type DedupeStore,
  type DeliveryRecord,
  type OptOutStore,
  type StoreStatus,
  StoreUnavailableError,
} from "../delivery/ports.ts";

/** `OTP_STORE_ON_FAILURE`. */
export type StoreFailureMode = "open" | "closed";

/** Options of {@linkcode createResilientStore}. */
export interface ResilientStoreOptions {
  readonly primary: DedupeStore & { status(): Promise<StoreStatus> };
  /** Used when the primary fails (in open mode) or has no schema. */
  readonly fallback: DedupeStore;
  readonly mode: StoreFailureMode;
  readonly log: Logger;
}

/** A store that survives its primary's failures; see the module doc. */
export interface ResilientStore extends DedupeStore {
  status(): Promise<StoreStatus>;
}

/**
 * Wraps a primary store with a fallback.
 *
 * @example
 * ```ts
 * const store = createResilientStore({ primary: pg, fallback: memory, mode: "open", log });
 * ```
 */
export function createResilientStore(options: ResilientStoreOptions): ResilientStore {
  const { primary, fallback, mode, log } = options;
  // Keys claimed on the fallback settle there too.
  const onFallback = new Set<string>();

  return {
    async claim(key: string, claim: ClaimOptions): Promise<Claim> {
      try {
        return await primary.claim(key, claim);
      } catch (err) {
        const missing = err instanceof MigrationMissingError;
        if (!missing && mode === "closed") {
          throw new StoreUnavailableError("The shared store is unavailable", { cause: err });
        }
        log.error(missing ? "store_migration_missing" : "store_unavailable_fallback", {
          error: err instanceof Error ? err.name : typeof err,
          detail: missing
            ? "otp_relay schema missing: run supabase db push; delivering on memory"
            : "shared store failed; delivering on memory (OTP_STORE_ON_FAILURE=open)",
        });
        const result = await fallback.claim(key, claim);
        if (result.kind === "first") onFallback.add(key);
        return result;
      }
    },
    async settle(key: string, outcome: Outcome, record?: DeliveryRecord): Promise<void> {
      if (onFallback.delete(key)) return await fallback.settle(key, outcome, record);
      try {
        await primary.settle(key, outcome, record);
      } catch (err) {
        // The delivery happened; only its record is lost. A retry could then send again.
        log.error("store_settle_failed", { error: err instanceof Error ? err.name : typeof err });
      }
    },
    status: () => primary.status(),
  };
}

/**
 * Abuse-limit counters with the same failure rules: a missing migration or (in open mode) a
 * failing database counts on memory; closed mode refuses.
 */
export function createResilientCounters(options: {
  primary: CounterStore;
  fallback: CounterStore;
  mode: StoreFailureMode;
  log: Logger;
}): CounterStore {
  // Hits counted on the fallback are taken back there.
  const onFallback = new WeakSet<readonly CounterHit[]>();
  return {
    async undo(hits) {
      await (onFallback.has(hits) ? options.fallback : options.primary).undo(hits);
    },
    async hit(hits) {
      try {
        return await options.primary.hit(hits);
      } catch (err) {
        const missing = err instanceof MigrationMissingError;
        if (!missing && options.mode === "closed") {
          throw new StoreUnavailableError("The shared counters are unavailable", { cause: err });
        }
        options.log.error(missing ? "store_migration_missing" : "store_unavailable_fallback", {
          error: err instanceof Error ? err.name : typeof err,
          detail: "abuse limits counted in memory",
        });
        onFallback.add(hits);
        return await options.fallback.hit(hits);
      }
    },
  };
}

/**
 * Opt-outs with the same failure rules: a missing migration or (in open mode) a failing database
 * uses memory; closed mode refuses, since a STOP could otherwise be bypassed.
 */
export function createResilientOptOuts(options: {
  primary: OptOutStore;
  fallback: OptOutStore;
  mode: StoreFailureMode;
  log: Logger;
}): OptOutStore {
  const { primary, fallback, mode, log } = options;
  async function either<T>(run: (store: OptOutStore) => Promise<T>): Promise<T> {
    try {
      return await run(primary);
    } catch (err) {
      const missing = err instanceof MigrationMissingError;
      if (!missing && mode === "closed") {
        throw new StoreUnavailableError("The shared opt-outs are unavailable", { cause: err });
      }
      log.error(missing ? "store_migration_missing" : "store_unavailable_fallback", {
        error: err instanceof Error ? err.name : typeof err,
        detail: "opt-outs kept in memory",
      });
      return await run(fallback);
    }
  }
  return {
    find: (hash) => either((s) => s.find(hash)),
    record: (hash, provider, source) => either((s) => s.record(hash, provider, source)),
    clear: (hash, provider) => either((s) => s.clear(hash, provider)),
  };
}
