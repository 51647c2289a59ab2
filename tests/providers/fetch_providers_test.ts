// Vonage, Plivo, Telnyx and the owner's gateway, each through its adapter against a local fake
// that speaks the provider's real request, response and error formats (tests/fakes/).
import assert from "node:assert/strict";
import { loadConfig, type ProviderConfig } from "../../supabase/functions/_shared/config.ts";
import { createHttpProvider } from "../../supabase/functions/_shared/providers/http/index.ts";
import type { HttpProviderConfig } from "../../supabase/functions/_shared/providers/http/config.ts";
import { createPlivoProvider } from "../../supabase/functions/_shared/providers/plivo/index.ts";
import type { PlivoConfig } from "../../supabase/functions/_shared/providers/plivo/config.ts";
import { createTelnyxProvider } from "../../supabase/functions/_shared/providers/telnyx/index.ts";
import type { TelnyxConfig } from "../../supabase/functions/_shared/providers/telnyx/config.ts";
import { createVonageProvider } from "../../supabase/functions/_shared/providers/vonage/index.ts";
import type { VonageConfig } from "../../supabase/functions/_shared/providers/vonage/config.ts";
import type {
  OutboundMessage,
  SendResult,
} from "../../supabase/functions/_shared/delivery/ports.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { FAKE_GATEWAY_SECRET, gatewayError, startFakeGateway } from "../fakes/http-gateway.ts";
import {
  FAKE_PLIVO_AUTH_ID,
  FAKE_PLIVO_AUTH_TOKEN,
  plivoError,
  startFakePlivo,
} from "../fakes/plivo-api.ts";
import { FAKE_TELNYX_API_KEY, startFakeTelnyx, telnyxError } from "../fakes/telnyx-api.ts";
import {
  FAKE_VONAGE_API_KEY,
  FAKE_VONAGE_API_SECRET,
  startFakeVonage,
  vonageStatus,
} from "../fakes/vonage-api.ts";
import {
  captureLogs,
  HEALTH_AUTH,
  HEALTH_TOKEN,
  signedInit,
  supabasePayload,
  TEST_SECRET,
} from "../_helpers.ts";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";

const TO = parsePhone("+447700900123")!;
const SMS: OutboundMessage = {
  channel: "sms",
  to: TO,
  body: "Your code is 482913",
  code: "482913",
};
const UNICODE: OutboundMessage = { channel: "sms", to: TO, body: "Ваш код 482913", code: "482913" };
const send = (
  p: {
    send: (
      m: OutboundMessage,
      o: { signal: AbortSignal; deliveryKey?: string },
    ) => Promise<SendResult>;
  },
  m: OutboundMessage = SMS,
  ms = 1500,
) => p.send(m, { signal: AbortSignal.timeout(ms), deliveryKey: "supabase:uuid:abc" });

/** A failed result's fields, for table rows. */
function failure(result: SendResult) {
  assert.ok(!result.ok, "expected a failure");
  // Provider texts repeat the number: only status and code may reach the detail.
  assert.ok(!result.detail.includes("7700900123"), result.detail);
  return { reason: result.reason, sent: result.sent, code: result.providerCode };
}

function providerConfig<K extends ProviderConfig["kind"]>(
  env: Record<string, string>,
  kind: K,
): Extract<ProviderConfig, { kind: K }> {
  const config = loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, ...env });
  const found = config.providers.find((p) => p.kind === kind);
  assert.ok(found, `no ${kind} provider`);
  return found as Extract<ProviderConfig, { kind: K }>;
}

// --- Vonage ---------------------------------------------------------------------------------

function vonageConfig(baseUrl: string, extra: Record<string, string> = {}): VonageConfig {
  return providerConfig({
    VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
    VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
    VONAGE_SMS_FROM: "MyApp",
    VONAGE_API_BASE_URL: baseUrl,
    ...extra,
  }, "vonage");
}

Deno.test("vonage: success, and the request Supabase Auth's Vonage provider makes", async () => {
  const fake = startFakeVonage();
  try {
    const vonage = createVonageProvider(vonageConfig(fake.baseUrl, { OTP_VALIDITY_MINUTES: "10" }));
    const result = await send(vonage);
    assert.ok(result.ok);
    assert.equal(result.id, fake.accepted[0]!.id);
    const req = fake.requests[0]!;
    assert.equal(req.path, "/sms/json");
    assert.equal(req.encoding, "form");
    assert.equal(req.body.api_key, FAKE_VONAGE_API_KEY);
    assert.equal(req.body.to, "447700900123", "digits without +");
    assert.equal(req.body.from, "MyApp");
    assert.equal(req.body.text, SMS.channel === "sms" ? SMS.body : "");
    assert.equal(req.body.type, undefined, "GSM-7 text is sent as text");
    assert.equal(req.body.ttl, "600000", "validity in ms");
    assert.ok(await send(vonage, UNICODE));
    assert.equal(fake.requests[1]!.body.type, "unicode");
  } finally {
    await fake.close();
  }
});

Deno.test("vonage: HTTP 200 with a non-zero status is a failure, mapped per status", async () => {
  let status = 0;
  const fake = startFakeVonage({
    respond: () => vonageStatus(status, `Non White-listed Destination - rejected 447700900123`),
  });
  try {
    const vonage = createVonageProvider(vonageConfig(fake.baseUrl));
    const rows: [number, string][] = [
      [1, "rate_limited"], // throttled
      [4, "provider_config"], // credentials
      [9, "provider_config"], // no credit
      [8, "provider_config"], // suspended
      [15, "channel_config"], // sender refused
      [3, "provider_unavailable"], // any invalid parameter, ours included: not a number verdict
      [6, "provider_unavailable"],
      [5, "provider_unavailable"], // Vonage's own failure
      [99, "provider_unavailable"], // a status we don't know
    ];
    for (const [s, reason] of rows) {
      status = s;
      assert.deepEqual(failure(await send(vonage)), { reason, sent: "no", code: s }, `status ${s}`);
    }
  } finally {
    await fake.close();
  }
});

Deno.test("vonage: wrong secret, a 5xx, a hang", async () => {
  let mode: "ok" | "503" | "hang" = "ok";
  const fake = startFakeVonage({
    respond: () =>
      mode === "503"
        ? new Response("unavailable", { status: 503 })
        : mode === "hang"
        ? "hang"
        : undefined,
  });
  try {
    const wrong = createVonageProvider({
      ...vonageConfig(fake.baseUrl),
      apiSecret: "wrong-secret-000",
    });
    assert.deepEqual(failure(await send(wrong)), {
      reason: "provider_config",
      sent: "no",
      code: 4,
    });
    const vonage = createVonageProvider(vonageConfig(fake.baseUrl));
    mode = "503";
    assert.equal(failure(await send(vonage)).reason, "provider_unavailable");
    mode = "hang";
    const started = performance.now();
    assert.deepEqual(failure(await send(vonage, SMS, 300)), {
      reason: "timeout",
      sent: "unknown",
      code: undefined,
    });
    assert.ok(performance.now() - started < 1000);
  } finally {
    await fake.close();
  }
});

// --- Plivo ----------------------------------------------------------------------------------

function plivoConfig(baseUrl: string, extra: Record<string, string> = {}): PlivoConfig {
  return providerConfig({
    PLIVO_AUTH_ID: FAKE_PLIVO_AUTH_ID,
    PLIVO_AUTH_TOKEN: FAKE_PLIVO_AUTH_TOKEN,
    PLIVO_SMS_FROM: "+14155550100",
    PLIVO_API_BASE_URL: baseUrl,
    ...extra,
  }, "plivo");
}

Deno.test("plivo: success is 202 with message_uuid[0]; the request shape", async () => {
  const fake = startFakePlivo();
  try {
    const plivo = createPlivoProvider(plivoConfig(fake.baseUrl, {
      OTP_VALIDITY_MINUTES: "10",
      PLIVO_DLT_ENTITY_ID: "1101234567890",
      PLIVO_DLT_TEMPLATE_ID: "1107161234567890",
    }));
    const result = await send(plivo);
    assert.ok(result.ok);
    assert.equal(result.id, fake.accepted[0]!.id);
    const req = fake.requests[0]!;
    assert.equal(req.path, `/v1/Account/${FAKE_PLIVO_AUTH_ID}/Message/`);
    assert.equal(req.encoding, "json");
    assert.equal(req.body.src, "14155550100");
    assert.equal(req.body.dst, "447700900123");
    assert.equal(req.body.message_expiry, 600);
    assert.equal(req.body.dlt_entity_id, "1101234567890");
    assert.equal(req.body.dlt_template_id, "1107161234567890");
  } finally {
    await fake.close();
  }
});

Deno.test("plivo: errors by status and text, never a number verdict from a 400", async () => {
  let answer = plivoError(400, "447700900123 is not a valid phone number");
  const fake = startFakePlivo({ respond: () => answer });
  try {
    const plivo = createPlivoProvider(plivoConfig(fake.baseUrl));
    const rows: [Response, string, "no" | "unknown"][] = [
      [plivoError(400, "447700900123 is not a valid phone number"), "provider_unavailable", "no"],
      [plivoError(401, "authentication failed"), "provider_config", "no"],
      [plivoError(403, "geo permission denied for 447700900123"), "geo_blocked", "no"],
      [plivoError(400, "Insufficient Credit"), "provider_config", "no"],
      [plivoError(429, "too many requests"), "rate_limited", "no"],
      [plivoError(500, "internal error"), "provider_unavailable", "no"],
      [new Response("bad gateway", { status: 502 }), "provider_unavailable", "unknown"],
    ];
    for (const [response, reason, sent] of rows) {
      answer = response;
      const got = failure(await send(plivo));
      assert.deepEqual([got.reason, got.sent], [reason, sent], `${response.status}`);
    }
  } finally {
    await fake.close();
  }
});

Deno.test("plivo: wrong token is credentials; a Powerpack instead of a number", async () => {
  const fake = startFakePlivo();
  try {
    const wrong = createPlivoProvider({ ...plivoConfig(fake.baseUrl), authToken: "nope" });
    assert.equal(failure(await send(wrong)).reason, "provider_config");
    const pool = createPlivoProvider(plivoConfig(fake.baseUrl, {
      PLIVO_SMS_FROM: "",
      PLIVO_POWERPACK_UUID: "d1b4e2a6-3f08-11e7-b6f4-061564b78b75",
    }));
    assert.ok((await send(pool)).ok);
    assert.equal(fake.requests.at(-1)!.body.powerpack_uuid, "d1b4e2a6-3f08-11e7-b6f4-061564b78b75");
    assert.equal(fake.requests.at(-1)!.body.src, undefined);
  } finally {
    await fake.close();
  }
});

// --- Telnyx ---------------------------------------------------------------------------------

function telnyxConfig(baseUrl: string): TelnyxConfig {
  return providerConfig({
    TELNYX_API_KEY: FAKE_TELNYX_API_KEY,
    TELNYX_SMS_FROM: "+14155550100",
    TELNYX_API_BASE_URL: baseUrl,
  }, "telnyx");
}

Deno.test("telnyx: success with data.id; to in +E.164 with a Bearer key", async () => {
  const fake = startFakeTelnyx();
  try {
    const telnyx = createTelnyxProvider(telnyxConfig(fake.baseUrl));
    const result = await send(telnyx);
    assert.ok(result.ok);
    assert.equal(result.id, fake.accepted[0]!.id);
    const req = fake.requests[0]!;
    assert.equal(req.path, "/v2/messages");
    assert.equal(req.headers.get("authorization"), `Bearer ${FAKE_TELNYX_API_KEY}`);
    assert.equal(req.body.to, "+447700900123");
    assert.equal(req.body.from, "+14155550100");
  } finally {
    await fake.close();
  }
});

Deno.test("telnyx: errors keyed on errors[0].code, whatever the HTTP status", async () => {
  let answer = telnyxError(400, "40310");
  const fake = startFakeTelnyx({ respond: () => answer });
  try {
    const telnyx = createTelnyxProvider(telnyxConfig(fake.baseUrl));
    const rows: [Response, string, number | undefined][] = [
      [telnyxError(400, "40310", "+447700900123 is invalid"), "invalid_number", 40310],
      [telnyxError(409, "40300"), "opted_out", 40300],
      [telnyxError(422, "40300"), "opted_out", 40300],
      [telnyxError(429, "10011"), "rate_limited", 10011],
      [telnyxError(401, "10009"), "provider_config", 10009],
      [telnyxError(402, "20100"), "provider_config", 20100],
      [telnyxError(403, "40309"), "geo_blocked", 40309],
      [telnyxError(400, "40305"), "channel_config", 40305],
      [telnyxError(400, "10016"), "provider_unavailable", 10016],
      [telnyxError(500, "10007"), "provider_unavailable", 10007],
    ];
    for (const [response, reason, code] of rows) {
      answer = response;
      const got = failure(await send(telnyx));
      assert.deepEqual([got.reason, got.sent, got.code], [reason, "no", code], `${code}`);
    }
  } finally {
    await fake.close();
  }
});

Deno.test("telnyx: a wrong key, a hang", async () => {
  let hang = false;
  const fake = startFakeTelnyx({ respond: () => hang ? "hang" : undefined });
  try {
    const wrong = createTelnyxProvider({ ...telnyxConfig(fake.baseUrl), apiKey: "KEYwrong" });
    assert.equal(failure(await send(wrong)).reason, "provider_config");
    hang = true;
    const telnyx = createTelnyxProvider(telnyxConfig(fake.baseUrl));
    assert.equal(failure(await send(telnyx, SMS, 300)).reason, "timeout");
  } finally {
    await fake.close();
  }
});

// --- The owner's gateway --------------------------------------------------------------------

function gatewayConfig(url: string, channels = "sms,voice"): HttpProviderConfig {
  return providerConfig({
    OTP_HTTP_PROVIDER_URL: url,
    OTP_HTTP_PROVIDER_SECRET: `${FAKE_GATEWAY_SECRET}|whsec_${btoa("an older secret")}`,
    OTP_HTTP_PROVIDER_CHANNELS: channels,
  }, "http");
}

Deno.test("http gateway: a signed request with the documented body; same id for a retry", async () => {
  const fake = startFakeGateway();
  try {
    const gateway = createHttpProvider(gatewayConfig(fake.url));
    const message: OutboundMessage = { ...SMS, language: "pt-BR" } as OutboundMessage;
    const first = await send(gateway, message);
    assert.ok(first.ok);
    const req = fake.requests[0]!;
    assert.deepEqual(req.body, {
      to: "+447700900123",
      channel: "sms",
      text: "Your code is 482913",
      code: "482913",
      language: "pt-BR",
    });
    // One signature per secret, space-separated.
    assert.equal(req.headers.get("webhook-signature")!.split(" ").length, 2);
    // The caller retries the same delivery: same webhook-id, the gateway answers as before.
    const again = await send(gateway, message);
    assert.ok(again.ok);
    assert.equal(again.id, first.id);
    assert.equal(fake.ids[0], fake.ids[1]);
    assert.equal(fake.accepted.length, 1, "the gateway sent once");
    // Another channel of the same delivery has its own id.
    const voice: OutboundMessage = {
      channel: "voice",
      to: TO,
      code: "482913",
      script: {
        language: "en-US",
        voice: "x",
        intro: "Your code is",
        again: "Again",
        digits: ["4", "8"],
      },
    };
    assert.ok((await send(gateway, voice)).ok);
    assert.notEqual(fake.ids[2], fake.ids[0]);
    assert.equal(fake.requests[2]!.body.channel, "voice");
    assert.equal(fake.requests[2]!.body.text, "Your code is 4, 8. Again 4, 8.");
  } finally {
    await fake.close();
  }
});

Deno.test("http gateway: answers per the contract", async () => {
  let answer: Response = gatewayError(400, "invalid_number");
  const fake = startFakeGateway({ respond: () => answer });
  try {
    const gateway = createHttpProvider(gatewayConfig(fake.url));
    const rows: [Response, string][] = [
      [gatewayError(400, "invalid_number"), "invalid_number"],
      [gatewayError(400, "unreachable_number"), "unreachable_number"],
      [gatewayError(409, "opted_out"), "opted_out"],
      [gatewayError(403, "geo_blocked"), "provider_config"], // 403 means credentials
      [gatewayError(422, "geo_blocked"), "geo_blocked"],
      [gatewayError(429, "rate_limited"), "rate_limited"],
      [gatewayError(400, "something_else"), "provider_unavailable"],
      [gatewayError(400), "provider_unavailable"],
      [gatewayError(401), "provider_config"],
      [gatewayError(503), "provider_unavailable"],
      [Response.json({ error: "queue full" }), "provider_unavailable"], // a 2xx with an error
      [
        new Response(null, { status: 302, headers: { location: "https://elsewhere.example" } }),
        "provider_unavailable",
      ],
    ];
    for (const [response, reason] of rows) {
      answer = response;
      const got = failure(await send(gateway));
      assert.deepEqual([got.reason, got.sent], [reason, "no"], `${response.status}`);
    }
  } finally {
    await fake.close();
  }
});

Deno.test("http gateway: a wrong secret is refused by the gateway, a hang times out", async () => {
  let hang = false;
  const fake = startFakeGateway({ respond: () => hang ? "hang" : undefined });
  try {
    const wrong = createHttpProvider({
      ...gatewayConfig(fake.url),
      secrets: [`whsec_${btoa("not it")}`],
    });
    assert.equal(failure(await send(wrong)).reason, "provider_config");
    assert.equal(fake.accepted.length, 0);
    hang = true;
    const gateway = createHttpProvider(gatewayConfig(fake.url));
    assert.deepEqual(failure(await send(gateway, SMS, 300)), {
      reason: "timeout",
      sent: "unknown",
      code: undefined,
    });
  } finally {
    await fake.close();
  }
});

Deno.test("http gateway: https only, plain http on loopback; declared channels", () => {
  const env = { SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_HTTP_PROVIDER_SECRET: FAKE_GATEWAY_SECRET };
  assert.throws(
    () => loadConfig({ ...env, OTP_HTTP_PROVIDER_URL: "http://gateway.example.com/otp" }),
    /OTP_HTTP_PROVIDER_URL/,
  );
  assert.ok(loadConfig({ ...env, OTP_HTTP_PROVIDER_URL: "https://gateway.example.com/otp" }));
  assert.ok(loadConfig({ ...env, OTP_HTTP_PROVIDER_URL: "http://127.0.0.1:9/otp" }));
  assert.throws(
    () =>
      loadConfig({
        ...env,
        OTP_HTTP_PROVIDER_URL: "https://g.example",
        OTP_HTTP_PROVIDER_CHANNELS: "whatsapp",
      }),
    /OTP_HTTP_PROVIDER_CHANNELS/,
  );
  assert.throws(
    () =>
      loadConfig({
        ...env,
        OTP_HTTP_PROVIDER_SECRET: "",
        OTP_HTTP_PROVIDER_URL: "https://g.example",
      }),
    /OTP_HTTP_PROVIDER_SECRET/,
  );
});

// --- Validity, both ends of each provider's range --------------------------------------------

Deno.test("validity: OTP_VALIDITY_MINUTES at both ends, clamped to each provider's range", () => {
  const base = { SEND_SMS_HOOK_SECRETS: TEST_SECRET };
  const twilio = {
    TWILIO_ACCOUNT_SID: "AC" + "a".repeat(32),
    TWILIO_AUTH_TOKEN: "token",
    TWILIO_SMS_FROM: "+14155550100",
  };
  const at = (minutes: string) => ({ ...base, OTP_VALIDITY_MINUTES: minutes });
  // Twilio ValidityPeriod 1–36000 s.
  assert.equal(providerConfig({ ...at("1"), ...twilio }, "twilio").validitySeconds, 60);
  assert.equal(providerConfig({ ...at("1440"), ...twilio }, "twilio").validitySeconds, 36_000);
  // Vonage ttl 20000 ms–7 days: 1 and 1440 minutes both fall inside.
  const vonage = { VONAGE_API_KEY: "k", VONAGE_API_SECRET: "s", VONAGE_SMS_FROM: "MyApp" };
  assert.equal(providerConfig({ ...at("1"), ...vonage }, "vonage").ttlMs, 60_000);
  assert.equal(providerConfig({ ...at("1440"), ...vonage }, "vonage").ttlMs, 86_400_000);
  // Plivo message_expiry 5–10799 s.
  const plivo = {
    PLIVO_AUTH_ID: FAKE_PLIVO_AUTH_ID,
    PLIVO_AUTH_TOKEN: "t",
    PLIVO_SMS_FROM: "+14155550100",
  };
  assert.equal(providerConfig({ ...at("1"), ...plivo }, "plivo").expirySeconds, 60);
  assert.equal(providerConfig({ ...at("1440"), ...plivo }, "plivo").expirySeconds, 10_799);
  // Unset: no validity is sent.
  assert.equal(providerConfig({ ...base, ...twilio }, "twilio").validitySeconds, undefined);
});

// --- Wired together -------------------------------------------------------------------------

Deno.test("deployment: Vonage refuses with the number in its text, Telnyx delivers; no number in the logs", async () => {
  const vonage = startFakeVonage({
    respond: () => vonageStatus(29, "Non White-listed Destination - rejected 447700900123"),
  });
  const telnyx = startFakeTelnyx();
  const logs = captureLogs();
  try {
    const boot = appFromEnv({
      SEND_SMS_HOOK_SECRETS: TEST_SECRET,
      OTP_HEALTH_TOKEN: HEALTH_TOKEN,
      OTP_PROVIDERS: "vonage,telnyx",
      VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
      VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
      VONAGE_SMS_FROM: "MyApp",
      VONAGE_API_BASE_URL: vonage.baseUrl,
      TELNYX_API_KEY: FAKE_TELNYX_API_KEY,
      TELNYX_SMS_FROM: "+14155550100",
      TELNYX_API_BASE_URL: telnyx.baseUrl,
      OTP_LOG_LEVEL: "debug",
    }, { write: logs.write });
    assert.ok("config" in boot, "error" in boot ? boot.error.message : "");
    const res = await boot.app.request(
      "/send-sms",
      signedInit(supabasePayload({ phone: "447700900123" }), {
        timestamp: Math.floor(Date.now() / 1000),
      }),
    );
    assert.equal(await res.text(), "{}");
    assert.equal(vonage.requests.length, 1);
    assert.equal(telnyx.accepted.length, 1);
    const all = logs.lines.join("\n");
    assert.match(all, /"provider":"telnyx"/);
    assert.ok(!all.includes("7700900123"), "the number (or Vonage's text quoting it) is logged");
    assert.ok(!all.includes("Non White-listed"), "a provider's error text is logged");
    const health = await (await boot.app.request("/send-sms/health", { headers: HEALTH_AUTH }))
      .json();
    assert.deepEqual(health.providers, ["vonage", "telnyx"]);
  } finally {
    await vonage.close();
    await telnyx.close();
  }
});

Deno.test("a channel a provider doesn't serve is refused without a request", async () => {
  const fake = startFakeVonage();
  try {
    const vonage = createVonageProvider(vonageConfig(fake.baseUrl));
    const voice: OutboundMessage = {
      channel: "voice",
      to: TO,
      script: { language: "en-US", voice: "x", intro: "Code", again: "Again", digits: ["1"] },
    };
    assert.deepEqual(failure(await send(vonage, voice)), {
      reason: "channel_config",
      sent: "no",
      code: undefined,
    });
    assert.equal(fake.requests.length, 0);
  } finally {
    await fake.close();
  }
});
