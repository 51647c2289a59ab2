/**
 * Provider health: a provider that keeps failing is benched, moved to the end of every order,
 * so that deliveries stop paying its timeout first.
 *
 * - After `after` consecutive provider failures (`OTP_PROVIDER_BENCH_AFTER`, default 3) the
 *   provider is benched for `ms` (`OTP_PROVIDER_BENCH_MS`, default 30 s).
 * - Benched, it is still tried, last: when every other provider fails, it may yet deliver.
 * - One success resets it. When the time is up it is restored on probation: one more failure
 *   benches it again at once, since nothing has shown it recovered.
 * - Only the provider's own failures count (5xx, timeouts, throttling, rejected credentials).
 *   Verdicts about a number (invalid, opted out, landline) say nothing of the provider's health,
 *   nor does one channel's sender or template (a WhatsApp template refused must not move the
 *   provider's SMS behind another), nor a timeout the caller's deadline cut short (the router
 *   leaves those out; found in review).
 *
 * The state lives in the isolate. Supabase's isolates are short-lived and several run at once,
 * so each learns on its own; a new isolate starts with every provider in good standing.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { FailureReason } from "./types.ts";

/** Failures that say nothing about the provider's health. */
const NOT_THE_PROVIDER: ReadonlySet<FailureReason> = new Set([
  "invalid_number",
  "unreachable_number",
  "opted_out",
  "geo_blocked",
  "channel_config",
  "channel_refused",
]);

/** True when a failure counts against the provider's health. */
export function countsAgainstProvider(reason: FailureReason): boolean {
  return !NOT_THE_PROVIDER.has(reason);
}

/** What deep health shows of one provider. */
export interface BenchState {
  readonly benched: boolean;
  /** Consecutive provider failures since the last success. */
  readonly failures: number;
  /** Epoch ms until which the provider is benched. */
  readonly until?: number;
}

/** The bench of one isolate. */
export interface ProviderBench {
  /** Records an attempt's result. */
  record(provider: string, ok: true): void;
  record(provider: string, ok: false, reason: FailureReason): void;
  /** True while the provider is benched. */
  isBenched(provider: string): boolean;
  /** The same order with benched providers moved to its end, keeping their relative order. */
  order<P extends { readonly name: string }>(providers: readonly P[]): P[];
  state(provider: string): BenchState;
}

/** Options of {@linkcode createProviderBench}. */
export interface BenchOptions {
  /** Consecutive failures that bench a provider. */
  readonly after: number;
  /** How long a provider stays benched. */
  readonly ms: number;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * Creates the bench.
 *
 * @example
 * ```ts
 * const bench = createProviderBench({ after: 3, ms: 30_000, now: Date.now, log });
 * bench.record("twilio", false, "timeout");
 * const order = bench.order(providers);
 * ```
 */
export function createProviderBench(options: BenchOptions): ProviderBench {
  const { after, ms, now, log } = options;
  const health = new Map<string, { failures: number; until: number }>();

  /** Ends a bench whose time is up (on probation: one failure benches again). */
  function refresh(provider: string): { failures: number; until: number } | undefined {
    const h = health.get(provider);
    if (h && h.until > 0 && h.until <= now()) {
      h.until = 0;
      h.failures = after - 1;
      log.info("provider_restored", { provider, detail: "bench time is up; on probation" });
    }
    return h;
  }

  return {
    record(provider: string, ok: boolean, reason?: FailureReason) {
      const h = refresh(provider);
      if (ok) {
        if (h && h.until > 0) log.info("provider_restored", { provider, detail: "it delivered" });
        health.delete(provider);
        return;
      }
      if (!countsAgainstProvider(reason!)) return;
      const next = h ?? { failures: 0, until: 0 };
      next.failures += 1;
      health.set(provider, next);
      if (next.until === 0 && next.failures >= after) {
        next.until = now() + ms;
        log.warn("provider_benched", {
          provider,
          failures: next.failures,
          ms,
          reason: reason!,
          detail: "moved to the end of every order in this isolate",
        });
      }
    },
    isBenched(provider) {
      return (refresh(provider)?.until ?? 0) > 0;
    },
    order(providers) {
      const benched = providers.filter((p) => this.isBenched(p.name));
      if (benched.length === 0) return [...providers];
      return [...providers.filter((p) => !benched.includes(p)), ...benched];
    },
    state(provider) {
      const h = refresh(provider);
      return h && h.until > 0
        ? { benched: true, failures: h.failures, until: h.until }
        : { benched: false, failures: h?.failures ?? 0 };
    },
  };
}
