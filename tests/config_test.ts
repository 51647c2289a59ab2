import assert from "node:assert/strict";
import {
  ConfigError,
  configuredChannels,
  configWarnings,
  loadConfig,
  SETTINGS,
} from "../supabase/functions/_shared/config.ts";
import { TEST_SECRET } from "./_helpers.ts";

const TWILIO = {
  SEND_SMS_HOOK_SECRETS: TEST_SECRET,
  OTP_PROVIDER: "twilio",
  TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32),
  TWILIO_AUTH_TOKEN: "token-value-that-must-not-leak",
  TWILIO_MESSAGING_SERVICE_SID: "MG" + "1".repeat(32),
};

function problemsOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("config: a Twilio deployment with defaults", () => {
  const config = loadConfig(TWILIO);
  assert.deepEqual(config.providers[0]!, {
    kind: "twilio",
    accountSid: TWILIO.TWILIO_ACCOUNT_SID,
    authToken: TWILIO.TWILIO_AUTH_TOKEN,
    sms: { messagingServiceSid: TWILIO.TWILIO_MESSAGING_SERVICE_SID },
    apiBaseUrl: "https://api.twilio.com",
  });
  assert.deepEqual(config.supabaseHookSecrets, ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
  assert.equal(config.attemptTimeoutMs, 1500);
  assert.equal(config.deadlineMs, 4000);
  assert.equal(config.dedupeTtlMs, 600_000);
  assert.equal(config.memoryMaxEntries, 10_000);
  assert.equal(config.logLevel, "info");
  assert.equal(config.deployed, false);
});

Deno.test("config: secrets joined by |, with or without v1, and blanks ignored", () => {
  const config = loadConfig({
    ...TWILIO,
    SEND_SMS_HOOK_SECRETS: ` v1,whsec_YWFhYQ== | whsec_YmJiYg==|`,
  });
  assert.deepEqual(config.supabaseHookSecrets, ["whsec_YWFhYQ==", "whsec_YmJiYg=="]);
});

Deno.test("config: a bad secret is named, its value is not repeated", () => {
  for (const bad of ["v1,nopeQQ", "whsec_", "v1,whsec_not base64 QQ", "clearQQ", "whsec_QQ|x"]) {
    const err = problemsOf({ ...TWILIO, SEND_SMS_HOOK_SECRETS: bad });
    assert.equal(err.problems[0]!.variable, "SEND_SMS_HOOK_SECRETS", bad);
    assert.ok(!err.message.includes("QQ"), err.message);
  }
  const missing = problemsOf({ ...TWILIO, SEND_SMS_HOOK_SECRETS: "" });
  assert.match(missing.message, /SEND_SMS_HOOK_SECRETS: is required/);
});

Deno.test("config: every bad value names its variable, and no value leaks", () => {
  const cases: [string, string][] = [
    ["OTP_PROVIDER", "sendgrid"],
    ["TWILIO_ACCOUNT_SID", "AC123"],
    ["TWILIO_MESSAGING_SERVICE_SID", "PN" + "1".repeat(32)],
    ["TWILIO_SMS_FROM", "0044 7700 900123 x"],
    ["TWILIO_API_BASE_URL", "ftp://example.test"],
    ["TWILIO_API_BASE_URL", "http://twilio-proxy.internal"],
    ["TWILIO_API_BASE_URL", "https://user:pw@proxy.test"],
    ["OTP_DEADLINE_MS", "4600"],
    ["OTP_DEADLINE_MS", "250"],
    ["OTP_DEDUPE_TTL_MS", "5000"],
    ["OTP_ATTEMPT_TIMEOUT_MS", "fast"],
    ["OTP_ATTEMPT_TIMEOUT_MS", "0"],
    ["OTP_DEADLINE_MS", "6000"],
    ["OTP_MEMORY_MAX_ENTRIES", "5"],
    ["OTP_LOG_LEVEL", "verbose"],
  ];
  for (const [variable, value] of cases) {
    const err = problemsOf({ ...TWILIO, [variable]: value });
    assert.deepEqual(err.problems.map((p) => p.variable), [variable], `${variable}=${value}`);
    assert.match(err.message, new RegExp(`${variable}: `));
    assert.ok(!err.message.includes(value), `${variable}: value repeated in ${err.message}`);
    assert.ok(!err.message.includes(TWILIO.TWILIO_AUTH_TOKEN));
  }
});

Deno.test("config: twilio without its settings names each missing one", () => {
  const err = problemsOf({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "twilio" });
  assert.deepEqual(err.problems.map((p) => p.variable), [
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_MESSAGING_SERVICE_SID",
  ]);
});

Deno.test("config: a From number or alphanumeric sender instead of a Messaging Service", () => {
  const { TWILIO_MESSAGING_SERVICE_SID: _, ...rest } = TWILIO;
  for (const from of ["+15005550006", "MyApp"]) {
    const config = loadConfig({ ...rest, TWILIO_SMS_FROM: from });
    assert.deepEqual(config.providers[0]!.kind === "twilio" && config.providers[0]!.sms, { from });
  }
});

Deno.test("config: no provider selected never means console; Twilio settings imply twilio", () => {
  const err = problemsOf({ SEND_SMS_HOOK_SECRETS: TEST_SECRET });
  assert.deepEqual(err.problems.map((p) => p.variable), ["OTP_PROVIDERS"]);
  const { OTP_PROVIDER: _, ...implied } = TWILIO;
  assert.equal(loadConfig(implied).providers[0]!.kind, "twilio");
});

Deno.test("config: an explicit OTP_PROVIDER wins over Twilio settings", () => {
  assert.equal(loadConfig({ ...TWILIO, OTP_PROVIDER: "console" }).providers[0]!.kind, "console");
});

Deno.test("config: Supabase's hosted runtime is detected", () => {
  assert.equal(loadConfig({ ...TWILIO, SB_REGION: "eu-central-1" }).deployed, true);
  assert.equal(loadConfig({ ...TWILIO, DENO_DEPLOYMENT_ID: "x" }).deployed, true);
});

Deno.test("config: TWILIO_API_BASE_URL loses its trailing slash", () => {
  const config = loadConfig({ ...TWILIO, TWILIO_API_BASE_URL: "http://127.0.0.1:9999/" });
  assert.equal(
    config.providers[0]!.kind === "twilio" && config.providers[0]!.apiBaseUrl,
    "http://127.0.0.1:9999",
  );
});

Deno.test("config: TWILIO_API_BASE_URL may be plain http only on loopback", () => {
  for (
    const url of [
      "http://127.0.0.1:4010",
      "http://localhost:4010",
      "http://[::1]:4010",
      "https://proxy.example.com/twilio",
    ]
  ) {
    const config = loadConfig({ ...TWILIO, TWILIO_API_BASE_URL: url });
    assert.equal(config.providers[0]!.kind === "twilio" && config.providers[0]!.apiBaseUrl, url);
  }
});

Deno.test("config: WhatsApp needs a sender and a template; the whatsapp: prefix is optional", () => {
  for (const from of ["+15005550006", "whatsapp:+15005550006"]) {
    const config = loadConfig({
      ...TWILIO,
      TWILIO_WHATSAPP_FROM: from,
      TWILIO_WHATSAPP_CONTENT_SID: "HX" + "a".repeat(32),
    });
    assert.deepEqual(config.providers[0]!.kind === "twilio" && config.providers[0]!.whatsapp, {
      from: "whatsapp:+15005550006",
      contentSid: "HX" + "a".repeat(32),
    });
    assert.deepEqual(configuredChannels(config.providers[0]!), ["sms", "whatsapp"]);
  }
  const err = problemsOf({ ...TWILIO, TWILIO_WHATSAPP_CONTENT_SID: "HX" + "a".repeat(32) });
  assert.deepEqual(err.problems.map((p) => p.variable), ["TWILIO_WHATSAPP_FROM"]);
  const bad = problemsOf({ ...TWILIO, TWILIO_WHATSAPP_CONTENT_SID: "MG" + "a".repeat(32) });
  assert.deepEqual(bad.problems.map((p) => p.variable), ["TWILIO_WHATSAPP_CONTENT_SID"]);
});

Deno.test("config: a WhatsApp sender without a template leaves WhatsApp off, with a warning", () => {
  const env = { ...TWILIO, TWILIO_WHATSAPP_FROM: "+15005550006" };
  const config = loadConfig(env);
  assert.deepEqual(configuredChannels(config.providers[0]!), ["sms"]);
  assert.ok(configWarnings(env, config).some((w) => w.includes("TWILIO_WHATSAPP_CONTENT_SID")));
});

Deno.test("config: voice is available only with TWILIO_VOICE_FROM", () => {
  assert.deepEqual(configuredChannels(loadConfig(TWILIO).providers[0]!), ["sms"]);
  const config = loadConfig({ ...TWILIO, TWILIO_VOICE_FROM: "+15005550007" });
  assert.deepEqual(configuredChannels(config.providers[0]!), ["sms", "voice"]);
  assert.deepEqual(
    problemsOf({ ...TWILIO, TWILIO_VOICE_FROM: "5550007" }).problems[0]!.variable,
    "TWILIO_VOICE_FROM",
  );
});

Deno.test("config: a voice-only or WhatsApp-only Twilio deployment needs no SMS sender", () => {
  const { TWILIO_MESSAGING_SERVICE_SID: _, ...noSms } = TWILIO;
  const config = loadConfig({ ...noSms, TWILIO_VOICE_FROM: "+15005550007", OTP_CHANNELS: "voice" });
  assert.deepEqual(configuredChannels(config.providers[0]!), ["voice"]);
});

Deno.test("config: channel policy settings and their defaults", () => {
  const defaults = loadConfig(TWILIO).policy;
  assert.deepEqual(defaults, {
    defaultOrder: ["sms"],
    rules: [],
    metadataKey: "otp_channel",
    userChannels: ["sms", "whatsapp"],
  });
  const custom = loadConfig({
    ...TWILIO,
    OTP_CHANNELS: "voice, sms",
    OTP_CHANNEL_RULES: "BR,MX=whatsapp,sms;*=sms",
    OTP_CHANNEL_METADATA_KEY: "channel",
    OTP_USER_CHANNELS: "none",
  }).policy;
  assert.deepEqual(custom.defaultOrder, ["voice", "sms"]);
  assert.equal(custom.rules.length, 2);
  assert.equal(custom.metadataKey, "channel");
  assert.deepEqual(custom.userChannels, []);
});

Deno.test("config: bad channel settings name their variable", () => {
  const cases: [string, string][] = [
    ["OTP_CHANNELS", "sms,fax"],
    ["OTP_CHANNEL_RULES", "Brazil=whatsapp"],
    ["OTP_CHANNEL_RULES", "BR=sms;BR=voice"],
    ["OTP_USER_CHANNELS", "carrier-pigeon"],
    ["OTP_CHANNEL_METADATA_KEY", "has spaces"],
  ];
  for (const [variable, value] of cases) {
    assert.deepEqual(problemsOf({ ...TWILIO, [variable]: value }).problems.map((p) => p.variable), [
      variable,
    ], `${variable}=${value}`);
  }
});

Deno.test("config: channels named in the policy without settings are reported at start", () => {
  const env = { ...TWILIO, OTP_CHANNELS: "sms,voice", OTP_CHANNEL_RULES: "BR=whatsapp" };
  const warnings = configWarnings(env, loadConfig(env));
  assert.equal(warnings.length, 2);
  assert.ok(warnings.some((w) => w.includes("voice")));
  assert.ok(warnings.some((w) => w.includes("whatsapp")));
});

Deno.test("config: the Okta and Auth0 doors open with their secrets, with their deadlines", () => {
  const closed = loadConfig(TWILIO);
  assert.equal(closed.okta, undefined);
  assert.equal(closed.auth0, undefined);
  assert.equal(closed.useCallerText, false);
  const open = loadConfig({
    ...TWILIO,
    OKTA_HOOK_AUTH_SECRET: "s".repeat(16),
    OKTA_HOOK_AUTH_HEADER: "X-Okta-Secret",
    AUTH0_HOOK_SECRETS: "v1,whsec_YWFhYQ==|whsec_YmJiYg==",
    OTP_USE_CALLER_TEXT: "true",
  });
  assert.deepEqual(open.okta, {
    authHeader: "x-okta-secret",
    authSecret: "s".repeat(16),
    deadlineMs: 2500,
  });
  assert.deepEqual(open.auth0, { secrets: ["whsec_YWFhYQ==", "whsec_YmJiYg=="], deadlineMs: 8000 });
  assert.equal(open.useCallerText, true);
});

Deno.test("config: bad Okta and Auth0 settings name their variable", () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ OKTA_HOOK_AUTH_SECRET: "short" }, "OKTA_HOOK_AUTH_SECRET", /at least 16/],
    // Found in review: a header carries Latin-1 bytes, so "é" in the secret could never match.
    [
      { OKTA_HOOK_AUTH_SECRET: "sécret-okta-0123456789" },
      "OKTA_HOOK_AUTH_SECRET",
      /printable ASCII/,
    ],
    [{ OKTA_HOOK_AUTH_HEADER: "Bad Header" }, "OKTA_HOOK_AUTH_HEADER", /header name/],
    [{ OKTA_DEADLINE_MS: "3000" }, "OKTA_DEADLINE_MS", /at most 2900/],
    [{ AUTH0_HOOK_SECRETS: "not-a-secret" }, "AUTH0_HOOK_SECRETS", /whsec_/],
    [{ AUTH0_DEADLINE_MS: "9500" }, "AUTH0_DEADLINE_MS", /at most 9000/],
    [{ OTP_USE_CALLER_TEXT: "yes" }, "OTP_USE_CALLER_TEXT", /true or false/],
  ];
  for (const [env, variable, message] of cases) {
    const err = problemsOf({ ...TWILIO, ...env });
    assert.equal(err.problems[0]!.variable, variable);
    assert.match(err.problems[0]!.message, message);
    assert.ok(!err.message.includes("not-a-secret") && !err.message.includes("short"));
  }
});

Deno.test("config: an Okta- or Auth0-only deployment needs no Supabase secret; no door is an error", () => {
  const { SEND_SMS_HOOK_SECRETS: _, ...twilioOnly } = TWILIO;
  assert.equal(
    loadConfig({ ...twilioOnly, OKTA_HOOK_AUTH_SECRET: "s".repeat(16) })
      .supabaseHookSecrets,
    undefined,
  );
  assert.ok(loadConfig({ ...twilioOnly, AUTH0_HOOK_SECRETS: TEST_SECRET }).auth0);
  const none = problemsOf(twilioOnly);
  assert.equal(none.problems[0]!.variable, "SEND_SMS_HOOK_SECRETS");
  assert.match(none.problems[0]!.message, /OKTA_HOOK_AUTH_SECRET or AUTH0_HOOK_SECRETS/);
});

Deno.test("config: every setting is documented in README and .env.example", async () => {
  const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
  const source = await read("supabase/functions/_shared/config.ts");
  const schema = source.slice(source.indexOf("const schema = z.object({"));
  const names = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
  assert.ok(names.length > 30 && names.includes("AUTH0_HOOK_SECRETS"), names.join(","));
  // Each provider's own settings, beside its code.
  names.push(...Object.values(SETTINGS).flatMap((settings) => settings.variables));
  assert.ok(names.includes("VONAGE_API_KEY") && names.includes("TWILIO_VOICE_FROM"));
  const readme = await read("README.md");
  const example = await read("supabase/functions/.env.example");
  for (const name of names) {
    assert.ok(readme.includes(name), `${name} is not in README.md`);
    assert.ok(example.includes(name), `${name} is not in .env.example`);
  }
});

Deno.test("config: a secret the verifier could not decode (bad base64 padding) is a named problem", () => {
  for (const bad of ["whsec_IvwjAUV==", "whsec_OyPDl", "v1,whsec_YWFhYQ=|whsec_YmJiYg=="]) {
    const err = problemsOf({ ...TWILIO, SEND_SMS_HOOK_SECRETS: bad });
    assert.equal(err.problems[0]!.variable, "SEND_SMS_HOOK_SECRETS", bad);
    const auth0 = problemsOf({ ...TWILIO, AUTH0_HOOK_SECRETS: bad });
    assert.equal(auth0.problems[0]!.variable, "AUTH0_HOOK_SECRETS", bad);
  }
});

Deno.test("config: TWILIO_REGION and TWILIO_EDGE", () => {
  const config = loadConfig({ ...TWILIO, TWILIO_REGION: "ie1", TWILIO_EDGE: "dublin" });
  assert.equal(config.providers[0]!.kind === "twilio" && config.providers[0]!.region, "ie1");
  assert.equal(config.providers[0]!.kind === "twilio" && config.providers[0]!.edge, "dublin");
  assert.equal(
    problemsOf({ ...TWILIO, TWILIO_REGION: "IE 1" }).problems[0]!.variable,
    "TWILIO_REGION",
  );
});

Deno.test("config: zod parses without compiling code (a cold start's first parse)", async () => {
  const { globalConfig } = await import("zod/v4/core");
  assert.equal(globalConfig.jitless, true);
});

Deno.test("config: no schema compiles code, whichever module made it, settings to first hook", async () => {
  // zod reads the setting when a schema is made: a module that made its schemas before the
  // setting ran (the providers' settings did, once) compiled them anyway. A worker loads the
  // function afresh and counts every `new Function`.
  const worker = new Worker(new URL("./_zod_probe.ts", import.meta.url), {
    type: "module",
    name: JSON.stringify(TWILIO),
  });
  const { compiled, status } = await new Promise<{ compiled: number; status: number }>(
    (resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
    },
  ).finally(() => worker.terminate());
  assert.equal(status, 200, "the probe answered its hook");
  assert.equal(compiled, 0, "functions compiled from source");
});
