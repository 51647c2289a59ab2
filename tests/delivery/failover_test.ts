// Failover between providers: the one table of what each failure does, per-country provider
// orders, and the provider settings that choose them.
import assert from "node:assert/strict";
import {
  ConfigError,
  configWarnings,
  loadConfig,
  type ProviderRouting,
} from "../../supabase/functions/_shared/config.ts";
import {
  failoverAction,
  route,
  type RouterDeps,
} from "../../supabase/functions/_shared/delivery/router.ts";
import { createMessages } from "../../supabase/functions/_shared/delivery/messages.ts";
import type {
  Channel,
  DeliveryRequest,
  FailureReason,
} from "../../supabase/functions/_shared/delivery/types.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import type { Provider, SendResult } from "../../supabase/functions/_shared/delivery/ports.ts";
import { withDevDefaults } from "../../scripts/_dev-defaults.ts";
import { captureLogs, TEST_SECRET } from "../_helpers.ts";

const fail = (reason: FailureReason, sent: "no" | "unknown" = "no"): SendResult => ({
  ok: false,
  reason,
  sent,
  detail: `${reason} detail`,
});

/** A provider whose answer is scripted; it records the channels it was asked for. */
function provider(name: string, channels: Channel[], answer: (channel: Channel) => SendResult) {
  const calls: Channel[] = [];
  const p: Provider = {
    name,
    channels,
    send(message) {
      calls.push(message.channel);
      return Promise.resolve(answer(message.channel));
    },
  };
  return Object.assign(p, { calls });
}

const ok = (id: string) => (): SendResult => ({ ok: true, id });

function deps(
  providers: Provider[],
  routing?: ProviderRouting,
  channels: Channel[] = ["sms", "voice"],
) {
  const logs = captureLogs();
  const value: RouterDeps = {
    providers,
    ...(routing ? { routing } : {}),
    policy: { defaultOrder: channels, rules: [], metadataKey: "otp_channel", userChannels: [] },
    log: createLogger({ level: "debug", write: logs.write }),
    now: Date.now,
    attemptTimeoutMs: 1500,
    messages: createMessages({ smsTemplates: {} }),
  };
  return { deps: value, logs };
}

function request(phone = "+14155550123"): DeliveryRequest {
  return {
    door: "supabase",
    dedupeKey: "supabase:uuid:1",
    to: parsePhone(phone)!,
    code: "482913",
    deadline: Date.now() + 4000,
  };
}

// --- The table, one test per row ------------------------------------------------------------

Deno.test("failover row: 5xx, timeout, refused connection, throttled, unexpected 4xx → next provider", async () => {
  for (
    const failure of [
      fail("provider_unavailable"),
      fail("timeout", "unknown"),
      fail("rate_limited"),
    ]
  ) {
    assert.equal(failoverAction(failure as Extract<SendResult, { ok: false }>), "next_provider");
    const a = provider("twilio", ["sms"], () => failure);
    const b = provider("vonage", ["sms"], ok("v-1"));
    const { outcome } = await route(request(), deps([a, b]).deps);
    assert.ok(outcome.ok && outcome.provider === "vonage", failure.ok ? "" : failure.reason);
    assert.deepEqual([a.calls, b.calls], [["sms"], ["sms"]]);
  }
});

Deno.test("failover row: credentials, account, sender, country not enabled → next provider, loudly", async () => {
  for (const reason of ["provider_config", "channel_config", "geo_blocked"] as const) {
    const a = provider("plivo", ["sms"], () => fail(reason));
    const b = provider("twilio", ["sms"], ok("SM1"));
    const { deps: d, logs } = deps([a, b]);
    const { outcome } = await route(request(), d);
    assert.ok(outcome.ok && outcome.provider === "twilio");
    const loud = logs.lines.filter((l) => l.includes('"level":"error"') && l.includes("plivo"));
    assert.equal(loud.length, 1, `${reason}: ${logs.lines.join("\n")}`);
  }
});

Deno.test("failover row: an exact invalid-number verdict ends the delivery", async () => {
  const a = provider("telnyx", ["sms"], () => fail("invalid_number"));
  const b = provider("twilio", ["sms", "voice"], ok("SM1"));
  const { outcome } = await route(request(), deps([a, b]).deps);
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.reason, "invalid_number");
  assert.deepEqual(b.calls, [], "no other provider, no other channel");
});

Deno.test("failover row: opted out or can't take SMS → skip the channel's providers, next channel", async () => {
  for (const reason of ["opted_out", "unreachable_number"] as const) {
    const a = provider("twilio", ["sms", "voice"], (c) => c === "sms" ? fail(reason) : ok("CA1")());
    const b = provider("vonage", ["sms"], ok("v-1"));
    const { outcome } = await route(request(), deps([a, b]).deps);
    assert.ok(outcome.ok && outcome.channel === "voice", reason);
    assert.deepEqual(b.calls, [], `${reason}: another provider must not bypass it`);
  }
});

Deno.test("failover row: a 2xx whose answer is lost counts as sent: nothing else is tried", async () => {
  const a = provider("twilio", ["sms", "voice"], () => fail("internal", "unknown"));
  const b = provider("vonage", ["sms"], ok("v-1"));
  const { outcome } = await route(request(), deps([a, b]).deps);
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.sent, "unknown");
  assert.deepEqual([a.calls, b.calls], [["sms"], []]);
});

Deno.test("failover: wrong credentials skip that provider on every channel", async () => {
  const a = provider("twilio", ["sms", "voice"], () => fail("provider_config"));
  const b = provider(
    "http",
    ["sms", "voice"],
    (c) => c === "sms" ? fail("provider_unavailable") : ok("gw")(),
  );
  const { outcome } = await route(request(), deps([a, b]).deps);
  assert.ok(outcome.ok && outcome.provider === "http" && outcome.channel === "voice");
  assert.deepEqual(a.calls, ["sms"], "twilio's voice is not tried on the same credentials");
});

// --- Orders ---------------------------------------------------------------------------------

Deno.test("routing: a country rule replaces the order; * covers the rest; channels filter", async () => {
  const routing: ProviderRouting = {
    order: ["twilio", "telnyx"],
    rules: [
      { countries: ["IN"], providers: ["plivo", "twilio"] },
      { countries: ["NG"], providers: ["http"] },
    ],
  };
  const make = () => ({
    twilio: provider("twilio", ["sms", "voice"], () => fail("provider_unavailable")),
    telnyx: provider("telnyx", ["sms"], () => fail("provider_unavailable")),
    plivo: provider("plivo", ["sms"], () => fail("provider_unavailable")),
    http: provider("http", ["sms"], () => fail("provider_unavailable")),
  });
  const order = async (phone: string) => {
    const p = make();
    const { outcome } = await route(request(phone), deps(Object.values(p), routing).deps);
    return outcome.attempts.map((a) => `${a.channel}:${a.provider}`);
  };
  assert.deepEqual(await order("+919876543210"), ["sms:plivo", "sms:twilio", "voice:twilio"]);
  assert.deepEqual(await order("+2348031234567"), ["sms:http"], "NG=http: no failover");
  assert.deepEqual(await order("+14155550123"), ["sms:twilio", "sms:telnyx", "voice:twilio"]);
});

// --- Settings -------------------------------------------------------------------------------

const BASE = { SEND_SMS_HOOK_SECRETS: TEST_SECRET };
const TWILIO = {
  TWILIO_ACCOUNT_SID: "AC" + "a".repeat(32),
  TWILIO_AUTH_TOKEN: "token",
  TWILIO_SMS_FROM: "+14155550100",
};
const VONAGE = { VONAGE_API_KEY: "key", VONAGE_API_SECRET: "secret", VONAGE_SMS_FROM: "MyApp" };
const variables = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => p.variable);
  }
  return [];
};

Deno.test("settings: one provider needs no order; several need OTP_PROVIDERS, named at start", () => {
  assert.deepEqual(loadConfig({ ...BASE, ...TWILIO }).routing.order, ["twilio"]);
  assert.deepEqual(loadConfig({ ...BASE, ...VONAGE }).routing.order, ["vonage"]);
  assert.deepEqual(variables({ ...BASE, ...TWILIO, ...VONAGE }), ["OTP_PROVIDERS"]);
  const both = loadConfig({ ...BASE, ...TWILIO, ...VONAGE, OTP_PROVIDERS: "vonage,twilio" });
  assert.deepEqual(both.routing.order, ["vonage", "twilio"]);
  assert.deepEqual(both.providers.map((p) => p.kind), ["vonage", "twilio"]);
});

Deno.test("settings: OTP_PROVIDER=twilio keeps running on Twilio alone when VONAGE_* is added", () => {
  const env = { ...BASE, ...TWILIO, ...VONAGE, OTP_PROVIDER: "twilio" };
  const config = loadConfig(env);
  assert.deepEqual(config.providers.map((p) => p.kind), ["twilio"]);
  assert.ok(configWarnings(env, config).some((w) => /VONAGE_API_KEY is set .* vonage/.test(w)));
  assert.deepEqual(variables({ ...env, OTP_PROVIDERS: "twilio,vonage" }), ["OTP_PROVIDERS"]);
});

Deno.test("settings: console is refused beside another provider, in the order or a rule", () => {
  assert.deepEqual(variables({ ...BASE, ...TWILIO, OTP_PROVIDERS: "twilio,console" }), [
    "OTP_PROVIDERS",
  ]);
  assert.deepEqual(variables({ ...BASE, ...TWILIO, OTP_PROVIDER_RULES: "GB=console" }), [
    "OTP_PROVIDER_RULES",
  ]);
  assert.deepEqual(variables({ ...BASE, ...TWILIO, OTP_PROVIDERS: "console" }), ["OTP_PROVIDERS"]);
  // Alone, for development, it is fine.
  assert.deepEqual(loadConfig({ ...BASE, OTP_PROVIDERS: "console" }).routing.order, ["console"]);
});

Deno.test("settings: a rule may name any provider with settings, never one without", () => {
  const config = loadConfig({
    ...BASE,
    ...TWILIO,
    ...VONAGE,
    OTP_PROVIDERS: "twilio",
    OTP_PROVIDER_RULES: "GB,IE=vonage,twilio",
  });
  assert.deepEqual(config.providers.map((p) => p.kind), ["twilio", "vonage"]);
  assert.deepEqual(
    variables({ ...BASE, ...TWILIO, OTP_PROVIDER_RULES: "IN=plivo,twilio" }),
    ["OTP_PROVIDER_RULES"],
  );
  // The order names a provider without settings: each missing variable is named.
  assert.deepEqual(variables({ ...BASE, ...TWILIO, OTP_PROVIDERS: "twilio,telnyx" }), [
    "TELNYX_API_KEY",
    "TELNYX_SMS_FROM",
  ]);
  for (const bad of ["IN=", "IN=carrier-pigeon", "X=twilio", "IN=twilio;IN=vonage", "twilio"]) {
    assert.deepEqual(variables({ ...BASE, ...TWILIO, OTP_PROVIDER_RULES: bad }), [
      "OTP_PROVIDER_RULES",
    ], bad);
  }
});

Deno.test("settings: Telnyx needs a number or a profile, and both for an alphanumeric sender", () => {
  const telnyx = { ...BASE, TELNYX_API_KEY: "KEY1" };
  assert.deepEqual(variables(telnyx), ["TELNYX_SMS_FROM"]);
  assert.deepEqual(variables({ ...telnyx, TELNYX_SMS_FROM: "MyApp" }), [
    "TELNYX_MESSAGING_PROFILE_ID",
  ]);
  assert.ok(loadConfig({ ...telnyx, TELNYX_SMS_FROM: "+14155550100" }));
  assert.ok(loadConfig({ ...telnyx, TELNYX_MESSAGING_PROFILE_ID: crypto.randomUUID() }));
});

Deno.test("settings: OTP_PROVIDER and OTP_PROVIDERS together are an error", () => {
  assert.deepEqual(
    variables({ ...BASE, ...TWILIO, OTP_PROVIDER: "twilio", OTP_PROVIDERS: "twilio" }),
    ["OTP_PROVIDERS"],
  );
});

Deno.test("deno task start: console only when nothing selects a provider", () => {
  assert.equal(withDevDefaults({}).env.OTP_PROVIDER, "console");
  for (const env of [{ OTP_PROVIDERS: "twilio" }, { VONAGE_API_KEY: "k" }, { ...TWILIO }]) {
    const { env: out, filled } = withDevDefaults(env);
    assert.equal(out.OTP_PROVIDER, undefined, JSON.stringify(env));
    assert.ok(!filled.includes("SEND_SMS_HOOK_SECRETS"), "no development secret for a provider");
  }
});

Deno.test("settings: a warning when delivery reports can't be requested (no key, or no public URL)", () => {
  const base = {
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDERS: "vonage,telnyx",
    VONAGE_API_KEY: "abcd1234",
    VONAGE_API_SECRET: "s3cr3t",
    VONAGE_SMS_FROM: "MyApp",
    TELNYX_API_KEY: "KEY0123",
    TELNYX_SMS_FROM: "+14155550111",
  };
  const publicUrl = { ...base, OTP_PUBLIC_URL: "https://ref.supabase.co/functions/v1/send-sms" };
  const noKeys = configWarnings(publicUrl, loadConfig(publicUrl));
  assert.ok(noKeys.some((w) => w.includes("VONAGE_SIGNATURE_SECRET is not")));
  assert.ok(noKeys.some((w) => w.includes("TELNYX_PUBLIC_KEY is not")));
  const keyNoUrl = { ...base, VONAGE_SIGNATURE_SECRET: "sig secret" };
  assert.ok(
    configWarnings(keyNoUrl, loadConfig(keyNoUrl)).some((w) =>
      w.startsWith("VONAGE_SIGNATURE_SECRET is set but OTP_PUBLIC_URL is not")
    ),
  );
  const both = { ...publicUrl, VONAGE_SIGNATURE_SECRET: "sig secret" };
  assert.ok(!configWarnings(both, loadConfig(both)).some((w) => w.includes("VONAGE_SIGNATURE")));
});
