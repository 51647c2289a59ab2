/**
 * The router: tries the planned channels in order until one is accepted, inside the caller's
 * deadline.
 *
 * Each attempt gets `min(OTP_ATTEMPT_TIMEOUT_MS, what remains)`, so a hung first channel still
 * leaves time for a second; an attempt with too little time left is not started. A bad number
 * stops the delivery (no channel can fix it); wrong credentials stop every channel of that
 * provider; anything else moves on to the next channel.
 *
 * @module
 */
import { within } from "../async.ts";
import type { Logger } from "../log.ts";
import type { OutboundMessage, Provider, SendResult } from "../providers/types.ts";
import type { Messages } from "./messages.ts";
import { type ChannelPlan, type ChannelPolicy, planChannels } from "./policy.ts";
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
  readonly policy: ChannelPolicy;
  readonly log: Logger;
  readonly now: () => number;
  /** Upper bound of one provider call. */
  readonly attemptTimeoutMs: number;
  readonly messages: Messages;
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
        message: { channel, to, body: sms.body },
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
      return { message: { channel, to, script }, about: {} };
    }
  }
}

async function attempt(
  provider: Provider,
  message: OutboundMessage,
  budget: number,
  log: Logger,
): Promise<SendResult> {
  try {
    const sending = provider.send(message, { signal: AbortSignal.timeout(budget) });
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
 * Plans the channels of a request and tries them in order.
 *
 * @example
 * ```ts
 * const { outcome, plan } = await route(request, deps);
 * ```
 */
export async function route(request: DeliveryRequest, deps: RouterDeps): Promise<Routed> {
  const configured = new Set(deps.providers.flatMap((p) => p.channels));
  const planned = planChannels(request, deps.policy, configured);
  // A notice without a code skips the channels it has no words for (WhatsApp needs a code).
  const plan = request.code === undefined
    ? { ...planned, channels: planned.channels.filter((c) => renderable(request, c)) }
    : planned;
  const attempts: Attempt[] = [];
  const failures: Failed[] = [];
  const brokenProviders = new Set<Provider>();

  for (const channel of plan.channels) {
    const provider = deps.providers.find((p) =>
      p.channels.includes(channel) && !brokenProviders.has(p)
    );
    if (!provider) continue;
    // The provider's own timeout leaves room for the backstop, which fires by the deadline.
    const remaining = request.deadline - deps.now() - BACKSTOP_GRACE_MS;
    if (remaining < Math.min(MIN_ATTEMPT_MS, deps.attemptTimeoutMs)) break;
    const budget = Math.min(deps.attemptTimeoutMs, remaining);

    const started = deps.now();
    const { message, about } = render(request, channel, deps.messages);
    const result = await attempt(provider, message, budget, deps.log);
    const ms = deps.now() - started;
    if (result.ok) {
      attempts.push({ channel, provider: provider.name, ok: true, id: result.id, ms, ...about });
      return {
        plan,
        outcome: { ok: true, channel, provider: provider.name, id: result.id, attempts },
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
    if (result.reason === "invalid_number") break; // no channel can fix the number
    // An unknown state other than a timeout (a provider that threw, an unreadable answer)
    // may hide a message that left: another channel could deliver the code twice.
    if (result.reason === "internal" && result.sent === "unknown") break;
    if (result.reason === "provider_config") {
      // Wrong credentials fail every channel that uses them: say so loudly, try other providers.
      deps.log.error("provider_credentials_rejected", {
        provider: provider.name,
        detail: result.detail,
      });
      brokenProviders.add(provider);
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
    return { plan, outcome: { ok: false, reason, sent: "no", attempts, detail: "no attempt" } };
  }
  const final = finalFailure(failures);
  const sent: SentState = failures.every((f) => f.sent === "no") ? "no" : "unknown";
  return {
    plan,
    outcome: { ok: false, reason: final.reason, sent, attempts, detail: final.detail },
  };
}
