// Provider health (the bench), opt-outs honoured across providers, and a caller's retry that
// never sends twice across providers.
import assert from "node:assert/strict";
import {
  countsAgainstProvider,
  createProviderBench,
} from "../../supabase/functions/_shared/delivery/bench.ts";
import { deliver, type DeliveryDeps } from "../../supabase/functions/_shared/delivery/deliver.ts";
import { createKeyedHash } from "../../supabase/functions/_shared/delivery/limits.ts";
import { createMessages } from "../../supabase/functions/_shared/delivery/messages.ts";
import type { Provider, SendResult } from "../../supabase/functions/_shared/delivery/ports.ts";
import { route, type RouterDeps } from "../../supabase/functions/_shared/delivery/router.ts";
import type {
  Channel,
  DeliveryRequest,
  FailureReason,
} from "../../supabase/functions/_shared/delivery/types.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import {
  createMemoryDedupeStore,
  createMemoryOptOutStore,
} from "../../supabase/functions/_shared/store/memory.ts";
import { captureLogs } from "../_helpers.ts";

const fail = (reason: FailureReason, sent: "no" | "unknown" = "no"): SendResult => ({
  ok: false,
  reason,
  sent,
  detail: `${reason} detail`,
});

/** A provider whose answers are scripted per call; it counts what it was asked to send. */
function provider(
  name: string,
  channels: Channel[],
  answer: (channel: Channel, call: number) => SendResult,
) {
  const calls: Channel[] = [];
  const p: Provider = {
    name,
    channels,
    // As the real adapters say: Twilio, Telnyx and a gateway refuse an opted-out number at send.
    refusesOptedOutAtSend: ["twilio", "telnyx", "http"].includes(name),
    send(message) {
      calls.push(message.channel);
      return Promise.resolve(answer(message.channel, calls.length));
    },
  };
  return Object.assign(p, { calls });
}

/** A clock the test moves. */
function clock(start = Date.UTC(2026, 11, 1)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function request(n = 1, phone = "+14155550123", at = Date.now()): DeliveryRequest {
  return {
    door: "supabase",
    dedupeKey: `supabase:uuid:${n}`,
    to: parsePhone(phone)!,
    code: "482913",
    deadline: at + 4000,
  };
}

function routerDeps(providers: Provider[], extra: Partial<RouterDeps> = {}) {
  const logs = captureLogs();
  const deps: RouterDeps = {
    providers,
    routing: { order: providers.map((p) => p.name), rules: [] },
    policy: {
      defaultOrder: ["sms", "voice"],
      rules: [],
      metadataKey: "otp_channel",
      userChannels: [],
    },
    log: createLogger({ level: "debug", write: logs.write }),
    now: Date.now,
    attemptTimeoutMs: 1500,
    messages: createMessages({ smsTemplates: {} }),
    ...extra,
  };
  return { deps, logs };
}

// --- The bench ------------------------------------------------------------------------------

Deno.test("bench: after N consecutive failures a provider goes last; logged when benched and restored", () => {
  const c = clock();
  const logs = captureLogs();
  const bench = createProviderBench({
    after: 3,
    ms: 30_000,
    now: c.now,
    log: createLogger({ level: "info", write: logs.write }),
  });
  const order = [{ name: "twilio" }, { name: "vonage" }, { name: "plivo" }];
  bench.record("twilio", false, "timeout");
  bench.record("twilio", false, "provider_unavailable");
  assert.deepEqual(bench.order(order).map((p) => p.name), ["twilio", "vonage", "plivo"]);
  bench.record("twilio", false, "rate_limited");
  assert.deepEqual(bench.order(order).map((p) => p.name), ["vonage", "plivo", "twilio"]);
  assert.deepEqual(bench.state("twilio"), {
    benched: true,
    failures: 3,
    until: c.now() + 30_000,
  });
  assert.equal(logs.lines.filter((l) => l.includes('"event":"provider_benched"')).length, 1);

  c.advance(29_999);
  assert.ok(bench.isBenched("twilio"), "still benched 1 ms before the end");
  c.advance(1);
  assert.deepEqual(bench.order(order).map((p) => p.name), ["twilio", "vonage", "plivo"]);
  assert.equal(logs.lines.filter((l) => l.includes('"event":"provider_restored"')).length, 1);

  // On probation: one failure benches it again at once.
  bench.record("twilio", false, "timeout");
  assert.ok(bench.isBenched("twilio"));
});

Deno.test("bench: one success resets the count and restores a benched provider", () => {
  const c = clock();
  const logs = captureLogs();
  const bench = createProviderBench({
    after: 2,
    ms: 30_000,
    now: c.now,
    log: createLogger({ level: "info", write: logs.write }),
  });
  bench.record("vonage", false, "timeout");
  bench.record("vonage", true);
  bench.record("vonage", false, "timeout");
  assert.equal(bench.isBenched("vonage"), false, "the success reset the count");
  bench.record("vonage", false, "timeout");
  assert.ok(bench.isBenched("vonage"));
  bench.record("vonage", true);
  assert.deepEqual(bench.state("vonage"), { benched: false, failures: 0 });
  assert.ok(logs.lines.some((l) => l.includes("provider_restored") && l.includes("delivered")));
});

Deno.test("bench: verdicts about a number never count against the provider", () => {
  const bench = createProviderBench({
    after: 1,
    ms: 30_000,
    now: clock().now,
    log: createLogger({ level: "error", write: () => {} }),
  });
  for (
    const reason of ["invalid_number", "unreachable_number", "opted_out", "geo_blocked"] as const
  ) {
    assert.equal(countsAgainstProvider(reason), false, reason);
    bench.record("twilio", false, reason);
  }
  assert.equal(bench.isBenched("twilio"), false);
  for (
    const reason of ["timeout", "provider_unavailable", "provider_config", "internal"] as const
  ) {
    assert.equal(countsAgainstProvider(reason), true, reason);
  }
});

Deno.test("bench in the router: a failing first provider is benched, then tried last until restored", async () => {
  const c = clock(Date.now());
  const bench = createProviderBench({
    after: 3,
    ms: 30_000,
    now: c.now,
    log: createLogger({ level: "error", write: () => {} }),
  });
  const twilio = provider("twilio", ["sms"], () => fail("provider_unavailable"));
  const vonage = provider("vonage", ["sms"], () => ({ ok: true, id: "v" }));
  const { deps } = routerDeps([twilio, vonage], { bench, now: c.now });
  for (let i = 1; i <= 3; i++) await route(request(i, "+14155550123", c.now()), deps);
  assert.equal(twilio.calls.length, 3, "tried first while in good standing");
  const { outcome } = await route(request(4, "+14155550123", c.now()), deps);
  assert.ok(outcome.ok && outcome.provider === "vonage");
  assert.equal(twilio.calls.length, 3, "benched: vonage first, and it delivered");
  c.advance(30_000);
  await route(request(5, "+14155550123", c.now()), deps);
  assert.equal(twilio.calls.length, 4, "restored: first again");
});

Deno.test("bench: a benched provider alone in its order is still tried", async () => {
  const bench = createProviderBench({
    after: 1,
    ms: 30_000,
    now: Date.now,
    log: createLogger({ level: "error", write: () => {} }),
  });
  bench.record("http", false, "timeout");
  const http = provider("http", ["sms"], () => ({ ok: true, id: "gw" }));
  const { outcome } = await route(request(), routerDeps([http], { bench }).deps);
  assert.ok(outcome.ok && outcome.provider === "http");
});

// --- Opt-outs -------------------------------------------------------------------------------

function deliveryDeps(providers: Provider[]) {
  const { deps, logs } = routerDeps(providers);
  const hash = createKeyedHash("k".repeat(64));
  const optOuts = createMemoryOptOutStore({ maxEntries: 100, hash });
  const value: DeliveryDeps = {
    ...deps,
    store: createMemoryDedupeStore({ maxEntries: 100 }),
    dedupeTtlMs: 600_000,
    hash,
    optOuts,
  };
  return { deps: value, optOuts, hash, logs };
}

Deno.test("opt-outs: a STOP at one provider is recorded and never bypassed through another", async () => {
  let stopped = true;
  const twilio = provider(
    "twilio",
    ["sms", "voice"],
    (c) =>
      c === "voice"
        ? { ok: true, id: "CA1" }
        : stopped
        ? fail("opted_out")
        : { ok: true, id: "SM1" },
  );
  const vonage = provider("vonage", ["sms"], () => ({ ok: true, id: "v-1" }));
  const { deps, optOuts } = deliveryDeps([twilio, vonage]);
  const number = "+14155550123";

  const first = await deliver(request(1), deps);
  assert.ok(first.outcome.ok && first.outcome.channel === "voice", "next channel, not vonage");
  assert.deepEqual(await optOuts.find(number), ["twilio"]);

  // The order says vonage first now, but the number is opted out at twilio: twilio alone.
  const reordered = { ...deps, routing: { order: ["vonage", "twilio"], rules: [] } };
  const second = await deliver(request(2), reordered);
  assert.ok(second.outcome.ok && second.outcome.channel === "voice");
  assert.deepEqual(
    vonage.calls,
    [],
    "vonage never got an SMS for a number twilio holds a STOP for",
  );

  // The user replied START at twilio: its next SMS goes through, and the record is cleared.
  stopped = false;
  const third = await deliver(request(3), reordered);
  assert.ok(
    third.outcome.ok && third.outcome.provider === "twilio" && third.outcome.channel === "sms",
  );
  assert.deepEqual(await optOuts.find(number), []);
  const fourth = await deliver(request(4), reordered);
  assert.ok(fourth.outcome.ok && fourth.outcome.provider === "vonage", "the order applies again");
});

Deno.test("opt-outs: opted out at a provider that no longer serves SMS → no SMS at all", async () => {
  const twilio = provider("twilio", ["voice"], () => ({ ok: true, id: "CA1" }));
  const vonage = provider("vonage", ["sms"], () => ({ ok: true, id: "v-1" }));
  const { deps, optOuts } = deliveryDeps([vonage, twilio]);
  await optOuts.record("+14155550123", "plivo", "report");
  const { outcome } = await deliver(request(1), deps);
  assert.ok(outcome.ok && outcome.channel === "voice");
  assert.deepEqual(vonage.calls, []);

  const smsOnly = { ...deps, policy: { ...deps.policy, defaultOrder: ["sms" as const] } };
  const refused = await deliver(request(2), smsOnly);
  assert.equal(refused.outcome.ok, false);
  assert.equal(!refused.outcome.ok && refused.outcome.reason, "opted_out");
  assert.equal(!refused.outcome.ok && refused.outcome.sent, "no");
});

Deno.test("opt-outs: Plivo accepting a send to an opted-out number does not clear its STOP (found in review)", async () => {
  // Plivo answers 202 to an opted-out number and reports error 200 later: its acceptance
  // proves nothing, so the next code must go through Plivo again, not through Twilio.
  const twilio = provider("twilio", ["sms"], () => ({ ok: true, id: "SM1" }));
  const plivo = provider("plivo", ["sms"], () => ({ ok: true, id: "p-1" }));
  const { deps, optOuts } = deliveryDeps([twilio, plivo]);
  await optOuts.record("+14155550123", "plivo", "report");
  for (const n of [1, 2, 3]) {
    const { outcome } = await deliver(request(n), deps);
    assert.ok(outcome.ok && outcome.provider === "plivo", `delivery ${n} stays on plivo`);
  }
  assert.deepEqual(twilio.calls, []);
  assert.deepEqual(await optOuts.find("+14155550123"), ["plivo"]);
});

Deno.test("opt-outs: the owner clears a number's records", async () => {
  const optOuts = createMemoryOptOutStore({ maxEntries: 2, hash: createKeyedHash("k".repeat(64)) });
  const n = "+14155550100";
  await optOuts.record(n, "twilio", "send");
  await optOuts.record(n, "vonage", "report");
  assert.deepEqual(await optOuts.find(n), ["twilio", "vonage"]);
  await optOuts.clear(n, "twilio");
  assert.deepEqual(await optOuts.find(n), ["vonage"]);
  await optOuts.clear(n);
  assert.deepEqual(await optOuts.find(n), []);
  // Bounded: past maxEntries numbers the oldest goes first.
  for (const m of ["+14155550101", "+14155550102", "+14155550103"]) {
    await optOuts.record(m, "twilio", "send");
  }
  assert.equal(optOuts.size, 2);
  assert.deepEqual(await optOuts.find("+14155550101"), []);
});

// --- A caller's retry across providers ------------------------------------------------------

Deno.test("retry: a timeout at the first provider, then the second delivered: the retry replays, nothing is sent again", async () => {
  const twilio = provider("twilio", ["sms"], () => fail("timeout", "unknown"));
  const vonage = provider("vonage", ["sms"], () => ({ ok: true, id: "v-1" }));
  const { deps } = deliveryDeps([twilio, vonage]);
  const first = await deliver(request(7), deps);
  assert.ok(first.outcome.ok && first.outcome.provider === "vonage");
  const retry = await deliver(request(7), deps);
  assert.equal(retry.duplicate, "replayed");
  assert.deepEqual([twilio.calls.length, vonage.calls.length], [1, 1]);
});

Deno.test("retry: every provider failed but one may have sent: the retry sends nothing", async () => {
  const twilio = provider("twilio", ["sms"], () => fail("timeout", "unknown"));
  const vonage = provider("vonage", ["sms"], () => fail("provider_unavailable"));
  const { deps } = deliveryDeps([twilio, vonage]);
  const first = await deliver(request(8), deps);
  assert.equal(!first.outcome.ok && first.outcome.sent, "unknown");
  const retry = await deliver(request(8), deps);
  assert.equal(retry.duplicate, "replayed");
  assert.deepEqual([twilio.calls.length, vonage.calls.length], [1, 1]);
});

Deno.test("retry: every provider certainly refused: the retry may try them again", async () => {
  const twilio = provider(
    "twilio",
    ["sms"],
    (_c, n) => n === 1 ? fail("provider_unavailable") : { ok: true, id: "SM2" },
  );
  const vonage = provider("vonage", ["sms"], () => fail("provider_unavailable"));
  const { deps } = deliveryDeps([twilio, vonage]);
  const first = await deliver(request(9), deps);
  assert.equal(!first.outcome.ok && first.outcome.sent, "no");
  const retry = await deliver(request(9), deps);
  assert.equal(retry.duplicate, undefined);
  assert.ok(retry.outcome.ok && retry.outcome.provider === "twilio");
  assert.deepEqual([twilio.calls.length, vonage.calls.length], [2, 1]);
});

Deno.test("bench: one channel's template refused, or a timeout the deadline cut short, never benches the provider (found in review)", async () => {
  const bench = createProviderBench({
    after: 1,
    ms: 30_000,
    now: Date.now,
    log: createLogger({ level: "error", write: () => {} }),
  });
  for (const reason of ["channel_config", "channel_refused"] as const) {
    assert.equal(countsAgainstProvider(reason), false, reason);
    bench.record("twilio", false, reason);
  }
  assert.equal(bench.isBenched("twilio"), false);
  // A timeout with less than the full attempt budget left (the deadline cut it) is not counted.
  const twilio = provider("twilio", ["sms"], () => fail("timeout", "unknown"));
  const { deps } = routerDeps([twilio], { bench });
  await route({ ...request(1), deadline: Date.now() + 600 }, deps);
  assert.equal(twilio.calls.length, 1);
  assert.equal(bench.isBenched("twilio"), false, "a cut-short timeout is not the provider's fault");
  await route({ ...request(2), deadline: Date.now() + 4000 }, deps);
  assert.ok(bench.isBenched("twilio"), "a timeout over the full budget is");
});
