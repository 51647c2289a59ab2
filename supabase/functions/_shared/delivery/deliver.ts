/**
 * Delivers one request exactly once: claims its dedupe key, routes it within the caller's
 * deadline, records the outcome, and logs one line for the whole delivery.
 *
 * @module
 */
import { keepAlive, within } from "../async.ts";
import { maskPhone } from "../log.ts";
import type { Claim, DedupeStore, OptOutStore } from "./ports.ts";
import type { KeyedHash, Refusal } from "./limits.ts";
import { route, type RouterDeps } from "./router.ts";
import type { DeliveryRequest, Outcome } from "./types.ts";

/** What {@linkcode deliver} works with. */
export interface DeliveryDeps extends RouterDeps {
  readonly store: DedupeStore;
  /** How long a key is remembered. */
  readonly dedupeTtlMs: number;
  /**
   * Abuse limits and refusals for a request that is not a duplicate; may reject when the shared
   * counters are unavailable in closed mode.
   */
  readonly guard?: (request: DeliveryRequest) => Promise<Refusal | undefined>;
  /** The keyed hash the limits count numbers with, for the delivery log and opt-outs. */
  readonly hash?: KeyedHash;
  /** Opt-outs reported by providers. */
  readonly optOuts?: OptOutStore;
}

/** The outcome, and whether it belongs to an earlier copy of the same request. */
export interface DeliveryResult {
  readonly outcome: Outcome;
  /**
   * `replayed`: an earlier copy had finished and its outcome is answered again;
   * `in_flight`: an earlier copy (on another instance) was still sending at the deadline, so
   * success is assumed rather than sending a second message.
   */
  readonly duplicate?: "replayed" | "in_flight";
}

/** Runs the guard; shared counters that are unavailable in closed mode refuse the request. */
async function guard(
  request: DeliveryRequest,
  deps: DeliveryDeps,
): Promise<Refusal | "store_unavailable" | undefined> {
  if (!deps.guard) return undefined;
  try {
    return await deps.guard(request);
  } catch (err) {
    deps.log.error("store_unavailable", {
      door: request.door,
      error: err instanceof Error ? err.name : typeof err,
      detail: "abuse-limit counters unavailable (OTP_STORE_ON_FAILURE=closed)",
    });
    return "store_unavailable";
  }
}

/**
 * How long a request's key is remembered: `OTP_DEDUPE_TTL_MS`, but never less than its signature
 * stays valid plus the time a replay arriving at the last moment takes to deliver, counted from
 * the signature's timestamp (found in review: with a 10 s TTL, one signed request replayed over
 * 300 s sent four SMS).
 */
export function dedupeTtl(request: DeliveryRequest, configured: number, now: number): number {
  if (request.replayableUntil === undefined) return configured;
  const budget = Math.max(0, request.deadline - now);
  return Math.max(configured, request.replayableUntil + budget - now);
}

/** The providers the number is opted out at; shared state unavailable in closed mode refuses. */
async function optedOutAt(
  request: DeliveryRequest,
  deps: DeliveryDeps,
): Promise<readonly string[] | "store_unavailable"> {
  if (!deps.optOuts) return [];
  try {
    return await deps.optOuts.find(request.to.e164);
  } catch (err) {
    deps.log.error("store_unavailable", {
      error: err instanceof Error ? err.name : typeof err,
      detail: "opt-outs unavailable (OTP_STORE_ON_FAILURE=closed)",
    });
    return "store_unavailable";
  }
}

/**
 * What a delivery taught about opt-outs: a provider that refused an SMS because the recipient
 * opted out records it. A delivery through a provider the number was opted out at clears it only
 * when that provider would have refused an opted-out number at send time (found in review:
 * Plivo and Vonage accept such a send and report the STOP later, so clearing on their answer
 * let the next code go through another provider).
 */
async function learnOptOuts(
  request: DeliveryRequest,
  before: readonly string[],
  outcome: Outcome,
  deps: DeliveryDeps & { optOuts: OptOutStore },
): Promise<void> {
  const refused = outcome.attempts.filter((a) =>
    a.channel === "sms" && !a.ok && a.reason === "opted_out"
  );
  for (const a of refused) await deps.optOuts.record(request.to.e164, a.provider, "send");
  if (outcome.ok && outcome.channel === "sms" && before.includes(outcome.provider)) {
    const provider = deps.providers.find((p) => p.name === outcome.provider);
    if (provider?.refusesOptedOutAtSend) {
      await deps.optOuts.clear(request.to.e164, outcome.provider);
    }
  }
}

/**
 * The dedupe key as any store can hold it. Callers' ids are any text: PostgreSQL refuses NUL and
 * folds every lone surrogate into U+FFFD, so two ids differing by one were one key (found in
 * review). Printable ASCII stays as it is; anything else, and anything that looks escaped, is
 * escaped as JSON escapes it, which is one-to-one.
 */
export function storableKey(key: string): string {
  return /^[\x20-\x7e]*$/.test(key) && !key.startsWith("json:")
    ? key
    : `json:${JSON.stringify(key)}`;
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
  const key = storableKey(request.dedupeKey);
  const logFields = { door: request.door, to: maskPhone(request.to.e164) };
  let claim: Claim;
  try {
    claim = await deps.store.claim(key, {
      ttlMs: dedupeTtl(request, deps.dedupeTtlMs, started),
      deadline: request.deadline,
      door: request.door,
    });
  } catch (err) {
    // Closed mode: without shared state a retry could send twice, so nothing is sent.
    deps.log.error("store_unavailable", {
      ...logFields,
      error: err instanceof Error ? err.name : typeof err,
    });
    return {
      outcome: {
        ok: false,
        reason: "store_unavailable",
        sent: "no",
        attempts: [],
        detail: "dedupe store unavailable (OTP_STORE_ON_FAILURE=closed)",
      },
    };
  }

  if (claim.kind === "duplicate") {
    // The caller retried (Auth: new webhook-id, same body): never send a second message. The
    // earlier copy arrived first, so in one instance its own deadline (enforced by the router)
    // comes before ours and this wait ends with its outcome.
    const earlier = await within(claim.outcome, request.deadline - deps.now());
    if (earlier) {
      deps.log.info("duplicate_replayed", { ...logFields, ok: earlier.ok });
      return { outcome: earlier, duplicate: "replayed" };
    }
    deps.log.warn("duplicate_in_flight", logFields);
    return {
      outcome: { ok: true, channel: "sms", provider: "unknown", id: "", attempts: [] },
      duplicate: "in_flight",
    };
  }

  let outcome: Outcome = {
    ok: false,
    reason: "internal",
    sent: "unknown",
    attempts: [],
    detail: "delivery did not finish",
  };
  let source = "";
  let optedOut: readonly string[] = [];
  try {
    // After dedupe, so a retry never counts against a limit; before anything is sent.
    const [refused, found] = await Promise.all([
      guard(request, deps),
      optedOutAt(request, deps),
    ]);
    if (refused || found === "store_unavailable") {
      const reason = refused ?? "store_unavailable";
      outcome = { ok: false, reason, sent: "no", attempts: [], detail: "refused" };
      source = "refused";
    } else {
      optedOut = found;
      const routed = await route(request, deps, { optedOutAt: optedOut });
      outcome = routed.outcome;
      source = routed.plan.source;
    }
  } finally {
    const settling = deps.store.settle(key, outcome, {
      toMasked: logFields.to,
      ...(deps.hash ? { toHash: () => deps.hash!(`number:${request.to.e164}`) } : {}),
      ...(request.to.country ? { country: request.to.country } : {}),
      numberType: request.to.type ?? "unknown",
      ms: deps.now() - started,
    }).then(() => true, (err) => {
      deps.log.error("store_settle_failed", {
        ...logFields,
        error: err instanceof Error ? err.name : typeof err,
      });
      return true;
    });
    const optOuts = deps.optOuts;
    const learning = optOuts
      ? learnOptOuts(request, optedOut, outcome, { ...deps, optOuts }).catch((err) => {
        deps.log.error("opt_out_not_recorded", {
          ...logFields,
          error: err instanceof Error ? err.name : typeof err,
        });
      })
      : undefined;
    // Recording the outcome must not cost the caller its deadline (found in review: a slow
    // database added its whole query timeout to the answer, past Okta's 3 s). Late, it finishes
    // in the background; a retry meanwhile waits on the claim as for any delivery in flight.
    const recording = Promise.all([settling, learning]);
    if (!await within(recording, request.deadline - deps.now())) {
      // Finishes after the answer: the runtime must not stop the isolate before it does.
      keepAlive(recording);
      deps.log.warn("store_settle_late", { ...logFields, detail: "answered before the record" });
    }
  }

  // One line per delivery, every attempt in it; no code, the number masked.
  const fields = {
    ...logFields,
    ...request.about,
    country: request.to.country,
    // Unknown types are allowed (the metadata lags new ranges) but logged, to be counted.
    type: request.to.type ?? "unknown",
    policy: source,
    attempts: outcome.attempts,
    ms: deps.now() - started,
  };
  if (outcome.ok) {
    deps.log.info("delivered", {
      ...fields,
      channel: outcome.channel,
      provider: outcome.provider,
      id: outcome.id,
    });
  } else {
    const loud = outcome.reason === "provider_config" || outcome.reason === "channel_config" ||
      outcome.reason === "no_channel" || outcome.reason === "internal";
    // Refusals name the rule and the country and type, so the owner can see pumping.
    deps.log[loud ? "error" : "warn"]("delivery_failed", {
      ...fields,
      reason: outcome.reason,
      sent: outcome.sent,
      detail: outcome.detail,
    });
  }
  return { outcome };
}
