/**
 * Delivers one request exactly once: claims its dedupe key, sends within the caller's deadline,
 * records the outcome.
 *
 * @module
 */
import { within } from "../async.ts";
import type { Logger } from "../log.ts";
import { maskPhone } from "../log.ts";
import type { Provider, SendResult } from "../providers/types.ts";
import type { DedupeStore } from "../store/types.ts";
import { renderSms } from "./messages.ts";
import type { DeliveryRequest, Outcome } from "./types.ts";

/** What {@linkcode deliver} works with. */
export interface DeliveryDeps {
  readonly provider: Provider;
  readonly store: DedupeStore;
  readonly log: Logger;
  readonly now: () => number;
  /** Upper bound of one provider call. */
  readonly attemptTimeoutMs: number;
  /** How long a key is remembered. */
  readonly dedupeTtlMs: number;
  readonly appName: string | undefined;
}

/** The outcome, and whether it belongs to an earlier copy of the same request. */
export interface DeliveryResult {
  readonly outcome: Outcome;
  /**
   * `replayed`: an earlier copy had finished and its outcome is answered again;
   * `in_flight`: an earlier copy was still sending at the deadline, so success is assumed
   * rather than sending a second message.
   */
  readonly duplicate?: "replayed" | "in_flight";
}

/** Extra time a provider gets to report its own abort before the backstop answers for it. */
const BACKSTOP_GRACE_MS = 25;

async function attempt(
  request: DeliveryRequest,
  deps: DeliveryDeps,
): Promise<SendResult> {
  // The provider's own timeout leaves room for the backstop, which fires by the deadline.
  const budget = Math.min(
    deps.attemptTimeoutMs,
    request.deadline - deps.now() - BACKSTOP_GRACE_MS,
  );
  if (budget <= 0) {
    return { ok: false, reason: "timeout", sent: "no", detail: "no time left before deadline" };
  }
  try {
    const sending = deps.provider.send(
      { channel: "sms", to: request.to, body: renderSms(request.code, deps.appName) },
      { signal: AbortSignal.timeout(budget) },
    );
    // Backstop for a provider that ignores its signal: the caller's deadline still holds.
    const result = await within(sending, budget + BACKSTOP_GRACE_MS);
    if (result) return result;
    deps.log.error("provider_ignored_abort", { provider: deps.provider.name });
    return {
      ok: false,
      reason: "timeout",
      sent: "unknown",
      detail: "provider did not settle by its timeout",
    };
  } catch (err) {
    // Providers are not supposed to throw; if one does, the message may or may not have left.
    deps.log.error("provider_threw", {
      provider: deps.provider.name,
      error: err instanceof Error ? err.name : typeof err,
    });
    return { ok: false, reason: "internal", sent: "unknown", detail: "provider threw" };
  }
}

/**
 * Delivers a request unless a copy of it was already delivered or is being delivered.
 *
 * @example
 * ```ts
 * const { outcome } = await deliver(request, deps);
 * if (!outcome.ok) console.log(outcome.reason);
 * ```
 */
export async function deliver(
  request: DeliveryRequest,
  deps: DeliveryDeps,
): Promise<DeliveryResult> {
  const started = deps.now();
  const claim = await deps.store.claim(request.dedupeKey, deps.dedupeTtlMs);
  const logFields = { door: request.door, to: maskPhone(request.to.e164) };

  if (claim.kind === "duplicate") {
    // The caller retried (Auth: new webhook-id, same body): never send a second message.
    // The earlier copy arrived first, so its own deadline (enforced above) comes before ours:
    // in one instance this wait ends with its outcome.
    const earlier = await within(claim.outcome, request.deadline - deps.now());
    if (earlier) {
      deps.log.info("duplicate_replayed", { ...logFields, ok: earlier.ok });
      return { outcome: earlier, duplicate: "replayed" };
    }
    deps.log.warn("duplicate_in_flight", logFields);
    return {
      outcome: { ok: true, channel: "sms", provider: deps.provider.name, id: "", attempts: 0 },
      duplicate: "in_flight",
    };
  }

  let outcome: Outcome = {
    ok: false,
    reason: "internal",
    sent: "unknown",
    attempts: 0,
    detail: "delivery did not finish",
  };
  try {
    const result = await attempt(request, deps);
    outcome = result.ok
      ? { ok: true, channel: "sms", provider: deps.provider.name, id: result.id, attempts: 1 }
      : {
        ok: false,
        reason: result.reason,
        sent: result.sent,
        attempts: 1,
        detail: result.detail,
      };
  } finally {
    await deps.store.settle(request.dedupeKey, outcome);
  }

  const ms = deps.now() - started;
  if (outcome.ok) {
    deps.log.info("delivered", {
      ...logFields,
      channel: outcome.channel,
      provider: outcome.provider,
      id: outcome.id,
      ms,
    });
  } else {
    const level = outcome.reason === "provider_config" || outcome.reason === "internal"
      ? "error"
      : "warn";
    deps.log[level]("delivery_failed", {
      ...logFields,
      provider: deps.provider.name,
      reason: outcome.reason,
      sent: outcome.sent,
      detail: outcome.detail,
      ms,
    });
  }
  return { outcome };
}
