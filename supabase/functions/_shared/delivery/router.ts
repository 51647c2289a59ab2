/**
 * The router: tries the planned channels in order, and on each channel its providers in order,
 * until one accepts the message, inside the caller's deadline.
 *
 * Each attempt gets `min(OTP_ATTEMPT_TIMEOUT_MS, what remains)`, so a hung first provider still
 * leaves time for a second; an attempt with too little time left is not started. What each
 * failure does is one table, {@linkcode failoverAction}.
 *
 * @module
 */
import { abortAfter, within } from "../async.ts";
import type { Logger } from "../log.ts";
import type { ProviderBench } from "./bench.ts";
import type { OutboundMessage, Provider, SendResult } from "./ports.ts";
import type { Messages } from "./messages.ts";
import {
  type ChannelPlan,
  type ChannelPolicy,
  planChannels,
  type ProviderRouting,
  ruleFor,
} from "./policy.ts";
import type {
  Attempt,
  Channel,
  DeliveryRequest,
  FailureReason,
  Outcome,
  SentState,
} from "./types.ts";

/** An attempt with less time than this left is not started: it could not finish. */
export const MIN_ATTEMPT_MS = 250;
/** Extra time a provider gets to report its own abort before the backstop answers for it. */
export const BACKSTOP_GRACE_MS = 25;

/** What {@linkcode route} works with. */
export interface RouterDeps {
  readonly providers: readonly Provider[];
  /**
   * The provider order, per country (`OTP_PROVIDERS`, `OTP_PROVIDER_RULES`). Without it, the
   * providers are tried in the order given.
   */
  readonly routing?: ProviderRouting;
  readonly policy: ChannelPolicy;
  readonly log: Logger;
  readonly now: () => number;
  /** Upper bound of one provider call. */
  readonly attemptTimeoutMs: number;
  readonly messages: Messages;
  /** Provider health in this isolate: benched providers go last (see bench.ts). */
  readonly bench?: ProviderBench;
}

/** What the router knows about the number besides the request. */
export interface RouteContext {
  /**
   * Providers at which the number is recorded as opted out: its SMS goes through them alone
   * (whatever the routing says), since only they know whether the user has replied START.
   */
  readonly optedOutAt?: readonly string[];
}

/** The outcome and the plan it followed. */
export interface Routed {
  readonly outcome: Outcome;
  readonly plan: ChannelPlan;
}

/**
 * True when the request has words for the channel: a code (our templates), or the caller's own
 * text for SMS and speech for calls. WhatsApp authentication templates need a code.
 */
export function renderable(request: DeliveryRequest, channel: Channel): boolean {
  if (request.code !== undefined) return true;
  if (channel === "sms") return request.callerText !== undefined;
  if (channel === "voice") return request.callerSpeech !== undefined;
  return false;
}

/** The message for a channel, and what the attempt record says about its text. */
function render(
  request: DeliveryRequest,
  channel: Channel,
  messages: Messages,
): { message: OutboundMessage; about: Partial<Attempt> } {
  const { to } = request;
  // `renderable` ran first: a request without a code has the caller's words for this channel.
  const code = request.code ?? "";
  const locales = request.locales ?? [];
  switch (channel) {
    case "sms": {
      if (request.callerText !== undefined) {
        return {
          message: { channel, to, body: request.callerText },
          about: { template: "caller" },
        };
      }
      const sms = messages.sms(code, locales, to.country);
      return {
        message: {
          channel,
          to,
          body: sms.body,
          ...(request.code === undefined ? {} : { code: request.code }),
          language: sms.language,
        },
        about: {
          language: sms.language,
          template: sms.template,
          encoding: sms.encoding.encoding,
          segments: sms.encoding.segments,
        },
      };
    }
    case "whatsapp":
      return { message: { channel, to, code }, about: {} };
    case "voice": {
      if (request.callerSpeech !== undefined) {
        const script = messages.speech(request.callerSpeech, locales, to.country);
        return { message: { channel, to, script }, about: { template: "caller" } };
      }
      const script = messages.voice(code, locales, to.country);
      return { message: { channel, to, script, code }, about: {} };
    }
  }
}

async function attempt(
  provider: Provider,
  message: OutboundMessage,
  budget: number,
  deliveryKey: string,
  log: Logger,
): Promise<SendResult> {
  try {
    const clock = abortAfter(budget);
    const sending = clock.watch(provider.send(message, { signal: clock.signal, deliveryKey }));
    // Backstop for a provider that ignores its signal: the caller's deadline still holds.
    const result = await within(sending, budget + BACKSTOP_GRACE_MS);
    if (result) return result;
    log.error("provider_ignored_abort", { provider: provider.name, channel: message.channel });
    return {
      ok: false,
      reason: "timeout",
      sent: "unknown",
      detail: "provider did not settle by its timeout",
    };
  } catch (err) {
    // Providers are not supposed to throw; if one does, the message may or may not have left.
    log.error("provider_threw", {
      provider: provider.name,
      error: err instanceof Error ? err.name : typeof err,
    });
    return { ok: false, reason: "internal", sent: "unknown", detail: "provider threw" };
  }
}

/** What the router does after a failed attempt. */
export type FailoverAction =
  /** Try the channel's next provider (then the next channel). */
  | "next_provider"
  /** The same, and log loudly: the owner's settings or account need attention. */
  | "next_provider_loud"
  /** Skip the channel's other providers: the number itself refuses this channel. */
  | "next_channel"
  /** Nothing can deliver to this number: end the delivery. */
  | "end"
  /** The message may have left: trying anything else could deliver the code twice. */
  | "stop";

/**
 * The failover table. Only answers that mean exactly "this number is wrong" end a delivery
 * (Twilio 21211, Telnyx 40310, a gateway's `invalid_number`); an opt-out or a number that can't
 * take SMS skips to the next channel; a 2xx whose answer was lost stops everything; every other
 * failure, a timeout included, lets the next provider try: a code delivered twice is better than
 * a user locked out.
 *
 * @example
 * ```ts
 * failoverAction({ ok: false, reason: "timeout", sent: "unknown", detail: "" }); // "next_provider"
 * ```
 */
export function failoverAction(failure: Failed): FailoverAction {
  switch (failure.reason) {
    case "invalid_number":
      return "end";
    case "opted_out":
    case "unreachable_number":
      return "next_channel";
    case "provider_config":
    case "channel_config":
    case "geo_blocked":
      return "next_provider_loud";
    case "internal":
      // A provider that threw, or a 2xx we could not read: the message may be queued.
      return failure.sent === "unknown" ? "stop" : "next_provider";
    default:
      return "next_provider";
  }
}

/** The providers a request's channel goes through, in order. */
export function providerOrder(
  providers: readonly Provider[],
  routing: ProviderRouting | undefined,
  country: string | undefined,
  channel: Channel,
): Provider[] {
  const names = routing ? (ruleFor(routing.rules, country)?.providers ?? routing.order) : undefined;
  const ordered = names
    ? names.flatMap((name) => providers.filter((p) => p.name === name))
    : [...providers];
  return ordered.filter((p) => p.channels.includes(channel));
}

const USER_SIDE: ReadonlySet<FailureReason> = new Set([
  "unreachable_number",
  "opted_out",
  "geo_blocked",
]);

type Failed = Extract<SendResult, { ok: false }>;

/**
 * The failure a caller is told about: a bad number if any channel said so; rate limited only
 * when every channel was; a reason of the number's own (landline, opted out, country) when
 * every channel gave one; otherwise the last failure of ours or the provider's.
 */
export function finalFailure(failures: readonly Failed[]): Failed {
  const invalid = failures.find((f) => f.reason === "invalid_number");
  if (invalid) return invalid;
  const last = failures.at(-1)!;
  if (failures.every((f) => f.reason === "rate_limited")) return last;
  if (failures.every((f) => USER_SIDE.has(f.reason))) return last;
  // A mix: the user's number is not what failed everywhere, so neither "wait" nor "opted out"
  // is the truth. Tell them we couldn't send.
  return failures.findLast((f) => !USER_SIDE.has(f.reason) && f.reason !== "rate_limited") ??
    { ...last, reason: "provider_unavailable", detail: "mixed failures" };
}

/**
 * A copy of `attempts` holding exactly its elements: an array grown by `push` keeps room for 17,
 * and outcomes are kept by the dedupe store (one array of ~150 bytes per remembered request).
 */
function exact(attempts: Attempt[]): Attempt[] {
  return attempts.slice();
}

/**
 * Plans the channels of a request and tries them in order.
 *
 * @example
 * ```ts
 * const { outcome, plan } = await route(request, deps);
 * ```
 */
export async function route(
  request: DeliveryRequest,
  deps: RouterDeps,
  context: RouteContext = {},
): Promise<Routed> {
  const configured = new Set(deps.providers.flatMap((p) => p.channels));
  const planned = planChannels(request, deps.policy, configured);
  // A notice without a code skips the channels it has no words for (WhatsApp needs a code).
  const plan = request.code === undefined
    ? { ...planned, channels: planned.channels.filter((c) => renderable(request, c)) }
    : planned;
  const attempts: Attempt[] = [];
  const failures: Failed[] = [];
  const brokenProviders = new Set<Provider>();

  channels: for (const channel of plan.channels) {
    const { message, about } = render(request, channel, deps.messages);
    let order = providerOrder(deps.providers, deps.routing, request.to.country, channel);
    const optedOutAt = channel === "sms" ? context.optedOutAt ?? [] : [];
    if (optedOutAt.length > 0) {
      // A STOP held by one provider is never bypassed through another.
      order = deps.providers.filter((p) =>
        optedOutAt.includes(p.name) && p.channels.includes(channel)
      );
      deps.log.info("opted_out_route", { channel, providers: optedOutAt.join(",") });
      if (order.length === 0) {
        failures.push({
          ok: false,
          reason: "opted_out",
          sent: "no",
          detail: "opted out at a provider that no longer serves this channel",
        });
        continue channels;
      }
    }
    if (deps.bench) order = deps.bench.order(order);
    for (const provider of order) {
      if (brokenProviders.has(provider)) continue;
      // The provider's own timeout leaves room for the backstop, which fires by the deadline.
      const remaining = request.deadline - deps.now() - BACKSTOP_GRACE_MS;
      if (remaining < Math.min(MIN_ATTEMPT_MS, deps.attemptTimeoutMs)) break channels;
      const budget = Math.min(deps.attemptTimeoutMs, remaining);

      const started = deps.now();
      const result = await attempt(provider, message, budget, request.dedupeKey, deps.log);
      const ms = deps.now() - started;
      if (result.ok) deps.bench?.record(provider.name, true);
      // A timeout in a budget the deadline cut short says nothing of the provider's health.
      else if (result.reason !== "timeout" || budget >= deps.attemptTimeoutMs) {
        deps.bench?.record(provider.name, false, result.reason);
      }
      if (result.ok) {
        attempts.push({ channel, provider: provider.name, ok: true, id: result.id, ms, ...about });
        return {
          plan,
          outcome: {
            ok: true,
            channel,
            provider: provider.name,
            id: result.id,
            attempts: exact(attempts),
          },
        };
      }
      attempts.push({
        channel,
        provider: provider.name,
        ok: false,
        reason: result.reason,
        ...(result.providerCode === undefined ? {} : { providerCode: result.providerCode }),
        ms,
        ...about,
      });
      failures.push(result);
      const action = failoverAction(result);
      if (action === "end" || action === "stop") break channels;
      if (action === "next_channel") continue channels;
      if (action === "next_provider_loud") {
        // The owner's settings or account: say so loudly, and let the next provider try.
        deps.log.error(
          result.reason === "provider_config"
            ? "provider_credentials_rejected"
            : "provider_settings_rejected",
          { provider: provider.name, channel, reason: result.reason, detail: result.detail },
        );
        // Wrong credentials fail every channel that uses them.
        if (result.reason === "provider_config") brokenProviders.add(provider);
      }
    }
  }
  if (failures.length === 0) {
    // Nothing was tried: no channel fits the number, or no time was left.
    const reason: FailureReason = plan.channels.length === 0
      ? (plan.landline ? "unreachable_number" : "no_channel")
      : "timeout";
    if (reason !== "unreachable_number") {
      deps.log.error("no_attempt", {
        reason,
        detail: reason === "timeout"
          ? "no time left for an attempt: check OTP_DEADLINE_MS"
          : "no configured channel in the plan: check OTP_CHANNELS and the TWILIO_* senders",
      });
    }
    return {
      plan,
      outcome: { ok: false, reason, sent: "no", attempts: exact(attempts), detail: "no attempt" },
    };
  }
  const final = finalFailure(failures);
  const sent: SentState = failures.every((f) => f.sent === "no") ? "no" : "unknown";
  return {
    plan,
    outcome: {
      ok: false,
      reason: final.reason,
      sent,
      attempts: exact(attempts),
      detail: final.detail,
    },
  };
}
