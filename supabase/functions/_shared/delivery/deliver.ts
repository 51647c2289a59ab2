/**
 * Delivers one request exactly once: claims its dedupe key, sends within the caller's deadline,
 * records the outcome.
 *
 * @module
 */
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

/** Resolves with `undefined` at `deadline`, or with the promise's value if it comes first. */
function beforeDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  now: () => number,
): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function attempt(
  request: DeliveryRequest,
  deps: DeliveryDeps,
): Promise<SendResult> {
  const budget = Math.min(deps.attemptTimeoutMs, request.deadline - deps.now());
  if (budget <= 0) {
    return { ok: false, reason: "timeout", sent: "no", detail: "no time left before deadline" };
  }
  try {
    return await deps.provider.send(
      { channel: "sms", to: request.to, body: renderSms(request.code, deps.appName) },
      { signal: AbortSignal.timeout(budget) },
    );
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
    const earlier = await beforeDeadline(claim.outcome, request.deadline, deps.now);
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
