import assert from "node:assert/strict";
import {
  BACKSTOP_GRACE_MS,
  finalFailure,
  MIN_ATTEMPT_MS,
  route,
  type RouterDeps,
} from "../../supabase/functions/_shared/delivery/router.ts";
import type {
  Channel,
  DeliveryRequest,
  FailureReason,
} from "../../supabase/functions/_shared/delivery/types.ts";
import { createMessages } from "../../supabase/functions/_shared/delivery/messages.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import type {
  OutboundMessage,
  Provider,
  SendResult,
} from "../../supabase/functions/_shared/delivery/ports.ts";
import { captureLogs } from "../_helpers.ts";

const ALL: Channel[] = ["sms", "whatsapp", "voice"];

/** A provider on `channels` whose answer per channel is scripted; it records send times. */
function scripted(
  channels: Channel[],
  answer: (m: OutboundMessage, signal: AbortSignal) => Promise<SendResult> | SendResult,
  name = "scripted",
) {
  const calls: { channel: Channel; at: number; budgetEndedAt?: number }[] = [];
  const provider: Provider = {
    name,
    channels,
    send(message, { signal }) {
      const call: { channel: Channel; at: number; budgetEndedAt?: number } = {
        channel: message.channel,
        at: performance.now(),
      };
      calls.push(call);
      signal.addEventListener("abort", () => call.budgetEndedAt = performance.now());
      return Promise.resolve(answer(message, signal));
    },
  };
  return { provider, calls };
}

/** Never answers until its signal aborts, then reports a timeout (like the Twilio provider). */
const hangs = (_m: OutboundMessage, signal: AbortSignal) =>
  new Promise<SendResult>((resolve) =>
    signal.addEventListener(
      "abort",
      () => resolve({ ok: false, reason: "timeout", sent: "unknown", detail: "hang" }),
    )
  );

const fail = (reason: FailureReason, sent: "no" | "unknown" = "no"): SendResult => ({
  ok: false,
  reason,
  sent,
  detail: reason,
});

function deps(providers: Provider[], overrides: Partial<RouterDeps> = {}) {
  const logs = captureLogs();
  const value: RouterDeps = {
    providers,
    policy: {
      defaultOrder: ALL,
      rules: [],
      metadataKey: "otp_channel",
      userChannels: ["sms", "whatsapp"],
    },
    log: createLogger({ level: "debug", write: logs.write }),
    now: Date.now,
    attemptTimeoutMs: 1500,
    messages: createMessages({ smsTemplates: {} }),
    ...overrides,
  };
  return { deps: value, logs };
}

function request(deadlineInMs: number): DeliveryRequest {
  return {
    door: "supabase",
    dedupeKey: "k",
    to: parsePhone("16502530000")!,
    code: "123456",
    deadline: Date.now() + deadlineInMs,
  };
}

Deno.test("router: each attempt gets min(attempt timeout, what remains); the answer beats the deadline", async () => {
  const { provider, calls } = scripted(ALL, hangs);
  const { deps: d } = deps([provider]);
  const started = performance.now();
  const { outcome } = await route(request(4000), d);
  const elapsed = performance.now() - started;
  assert.equal(outcome.ok, false);
  assert.deepEqual(calls.map((c) => c.channel), ["sms", "whatsapp", "voice"]);
  const budgets = calls.map((c) => c.budgetEndedAt! - c.at);
  assert.ok(budgets[0]! >= 1400 && budgets[1]! >= 1400, `full budgets: ${budgets}`);
  assert.ok(budgets[2]! < 1000, `the last attempt is clamped to what remains: ${budgets[2]}`);
  assert.ok(elapsed < 4000, `answered after ${elapsed} ms`);
});

Deno.test("router: an attempt with too little time left is not started", async () => {
  const { provider, calls } = scripted(ALL, hangs);
  const { deps: d } = deps([provider]);
  // 1500 ms for SMS leaves less than MIN_ATTEMPT_MS + grace for WhatsApp.
  const { outcome } = await route(request(1500 + BACKSTOP_GRACE_MS + MIN_ATTEMPT_MS - 50), d);
  assert.deepEqual(calls.map((c) => c.channel), ["sms"]);
  assert.equal(!outcome.ok && outcome.reason, "timeout");
});

Deno.test("router: no time for any attempt is a logged error, nothing sent", async () => {
  const { provider, calls } = scripted(ALL, () => ({ ok: true, id: "x" }));
  const { deps: d, logs } = deps([provider]);
  const { outcome } = await route(request(100), d);
  assert.equal(calls.length, 0);
  assert.deepEqual(!outcome.ok && [outcome.reason, outcome.sent], ["timeout", "no"]);
  assert.ok(logs.lines.some((l) => l.includes(`"no_attempt"`) && l.includes(`"level":"error"`)));
});

Deno.test("router: an unknown outcome other than a timeout stops the fallback (no double delivery)", async () => {
  const { provider, calls } = scripted(ALL, () => fail("internal", "unknown"));
  const { deps: d } = deps([provider]);
  const { outcome } = await route(request(4000), d);
  assert.deepEqual(calls.map((c) => c.channel), ["sms"]);
  assert.equal(!outcome.ok && outcome.sent, "unknown");
});

Deno.test("router: a provider that throws stops the fallback too", async () => {
  const { provider, calls } = scripted(ALL, () => {
    throw new Error("boom");
  });
  const { deps: d } = deps([provider]);
  const { outcome } = await route(request(4000), d);
  assert.equal(calls.length, 1);
  assert.equal(!outcome.ok && outcome.reason, "internal");
});

Deno.test("router: bad credentials skip that provider's channels, not another provider's", async () => {
  // Two accounts of the same provider type, with the same name: identity, not name, counts.
  const a = scripted(["sms", "whatsapp"], () => fail("provider_config"), "twilio");
  const b = scripted(["voice"], () => ({ ok: true, id: "CA1" }), "twilio");
  const { deps: d, logs } = deps([a.provider, b.provider]);
  const { outcome } = await route(request(4000), d);
  assert.deepEqual(a.calls.map((c) => c.channel), ["sms"]);
  assert.deepEqual(b.calls.map((c) => c.channel), ["voice"]);
  assert.equal(outcome.ok, true);
  assert.ok(logs.lines.some((l) => l.includes(`"provider_credentials_rejected"`)));
});

Deno.test("router: a channel's own configuration error moves on to the next channel", async () => {
  const { provider, calls } = scripted(
    ALL,
    (m) => m.channel === "sms" ? fail("channel_config") : { ok: true, id: "x" },
  );
  const { deps: d } = deps([provider]);
  const { outcome } = await route(request(4000), d);
  assert.deepEqual(calls.map((c) => c.channel), ["sms", "whatsapp"]);
  assert.equal(outcome.ok && outcome.channel, "whatsapp");
});

Deno.test("finalFailure: the error the caller is told about", () => {
  const table: [FailureReason[], FailureReason][] = [
    [["invalid_number"], "invalid_number"],
    [["unreachable_number", "invalid_number"], "invalid_number"],
    [["rate_limited", "rate_limited"], "rate_limited"],
    [["unreachable_number", "opted_out"], "opted_out"],
    [["opted_out"], "opted_out"],
    [["provider_unavailable", "timeout"], "timeout"],
    [["timeout", "opted_out"], "timeout"],
    [["opted_out", "rate_limited"], "provider_unavailable"], // neither is true of the whole
    [["rate_limited", "opted_out"], "provider_unavailable"],
    [["rate_limited", "provider_unavailable"], "provider_unavailable"],
    [["channel_config", "unreachable_number"], "channel_config"],
  ];
  for (const [reasons, expected] of table) {
    assert.equal(finalFailure(reasons.map((r) => fail(r) as never)).reason, expected, `${reasons}`);
  }
});
