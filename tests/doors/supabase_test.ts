import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import type { FailureReason } from "../../supabase/functions/_shared/delivery/types.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/_shared/doors/supabase.ts";
import type { SendResult } from "../../supabase/functions/_shared/delivery/ports.ts";
import {
  captureLogs,
  HEALTH_AUTH,
  HEALTH_TOKEN,
  NOW_MS,
  OTHER_SECRET,
  postHook,
  recordingProvider,
  signedInit,
  supabasePayload,
  TEST_SECRET,
  testApp,
} from "../_helpers.ts";

/** Asserts Auth's success shape: 200, a JSON content type, exactly `{}`. */
async function assertAuthSuccess(res: Response): Promise<void> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(await res.text(), "{}");
}

/** Asserts Auth's user-visible failure shape and returns it: 200, JSON, `{error:{…}}`. */
async function authError(res: Response): Promise<{ http_code: number; message: string }> {
  assert.equal(res.status, 200, "failures are answered with 200: Auth ignores other bodies");
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), ["http_code", "message"]);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  return body.error;
}

Deno.test("success is 200 + application/json + {} and the code goes out by SMS to +E164", async () => {
  const t = testApp();
  const res = await postHook(t.app, supabasePayload({ phone: "447700900123", otp: "654321" }));
  await assertAuthSuccess(res);
  const sent = t.sent;
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.channel, "sms");
  assert.equal(sent[0]!.to.e164, "+447700900123");
  assert.match(sent[0]!.body, /\b654321\b/);
  assert.match(sent[0]!.body, /code/);
});

Deno.test("a number that arrives with its + is accepted as well", async () => {
  const t = testApp();
  await assertAuthSuccess(await postHook(t.app, supabasePayload({ phone: "+14155550123" })));
  assert.equal(
    t.sent[0]!.to.e164,
    "+14155550123",
  );
});

Deno.test("phone change: the code goes to sms.phone (the new number), not user.phone", async () => {
  const t = testApp();
  const payload = supabasePayload({ phone: "447700900123", smsPhone: "33612345678" });
  await assertAuthSuccess(await postHook(t.app, payload));
  const sent = t.sent;
  assert.deepEqual(sent.map((m) => m.to.e164), ["+33612345678"]);
});

Deno.test("older Auth without sms.phone: the code goes to user.phone", async () => {
  const t = testApp();
  await assertAuthSuccess(
    await postHook(t.app, supabasePayload({ phone: "33612345678", smsPhone: null })),
  );
  const sent = t.sent;
  assert.deepEqual(sent.map((m) => m.to.e164), ["+33612345678"]);
});

Deno.test("a minimal payload (only user and sms.otp, as older Auth sends) is accepted", async () => {
  const t = testApp();
  const body = { user: { phone: "4915123456789" }, sms: { otp: "123456" } };
  await assertAuthSuccess(await postHook(t.app, body));
});

Deno.test("unknown fields and nulls where Auth may send them are accepted", async () => {
  const t = testApp();
  const payload = supabasePayload();
  (payload.user as Record<string, unknown>).user_metadata = null;
  (payload.user as Record<string, unknown>).future_field = { nested: [1, 2] };
  (payload.sms as Record<string, unknown>).sms_type = "mfa";
  (payload as Record<string, unknown>).something_new = true;
  await assertAuthSuccess(await postHook(t.app, payload));
});

Deno.test("OTP lengths 4 to 10 are accepted; others are an invalid payload", async () => {
  for (const otp of ["1234", "1234567890"]) {
    await assertAuthSuccess(await postHook(testApp().app, supabasePayload({ otp })));
  }
  for (const otp of ["123", "12345678901", "12345a", "", " 123456"]) {
    const t = testApp();
    const error = await authError(await postHook(t.app, supabasePayload({ otp })));
    assert.deepEqual(error, { http_code: 400, message: "Invalid hook payload" });
    assert.equal(t.sent.length, 0);
  }
});

Deno.test("signed but invalid payloads answer the error object with http_code 400", async () => {
  const bodies: (string | Record<string, unknown>)[] = [
    "not json",
    "",
    "[]",
    "null",
    { sms: { otp: "123456" } }, // no user
    { user: { phone: "447700900123" } }, // no sms
    { user: { phone: "447700900123" }, sms: { otp: 123456 } }, // otp as a number
    { user: { phone: 447700900123 }, sms: { otp: "123456" } }, // phone as a number
    { user: {}, sms: { otp: "123456" } }, // no destination at all
  ];
  for (const body of bodies) {
    const t = testApp();
    const error = await authError(await postHook(t.app, body));
    assert.deepEqual(error, { http_code: 400, message: "Invalid hook payload" }, String(body));
    assert.equal(t.sent.length, 0);
  }
});

Deno.test("what cannot be a phone number answers http_code 400 with a readable message", async () => {
  // Unparseable, unknown calling code, too short and too long for the country.
  for (const phone of ["abc", "0044770090012", "999123456789", "4477009", "4477009001234567"]) {
    const t = testApp();
    const error = await authError(await postHook(t.app, supabasePayload({ phone })));
    assert.equal(error.http_code, 400, phone);
    assert.match(error.message, /phone number is not valid/i);
    assert.equal(t.sent.length, 0);
  }
});

Deno.test("a possible number outside the library's known ranges is left to the provider", async () => {
  // +44 7 0… is a possible UK length, but not an assigned mobile range today.
  const t = testApp();
  await assertAuthSuccess(await postHook(t.app, supabasePayload({ phone: "447000000000" })));
});

Deno.test("unauthenticated requests: 401, no detail, nothing sent", async () => {
  const payload = JSON.stringify(supabasePayload());
  const ts = Math.floor(NOW_MS / 1000);
  const cases: [string, RequestInit][] = [
    ["no headers", { method: "POST", body: payload }],
    ["wrong secret", signedInit(payload, { secrets: [OTHER_SECRET] })],
    ["stale", signedInit(payload, { timestamp: ts - 301 })],
    ["future", signedInit(payload, { timestamp: ts + 301 })],
  ];
  const tampered = signedInit(payload);
  cases.push(["tampered body", { ...tampered, body: payload.replace("123456", "000000") }]);
  const noSig = signedInit(payload);
  delete (noSig.headers as Record<string, string>)["webhook-signature"];
  cases.push(["missing signature", noSig]);

  for (const [name, init] of cases) {
    const t = testApp();
    const res = await t.app.request("/send-sms", init);
    assert.equal(res.status, 401, name);
    assert.deepEqual(await res.json(), { message: "Unauthorized" }, name);
    assert.equal(t.sent.length, 0, name);
  }
});

Deno.test("a request signed exactly as Auth signs it with several secrets is accepted", async () => {
  const t = testApp({
    env: { SEND_SMS_HOOK_SECRETS: `v1,whsec_${btoa("old one")}|${TEST_SECRET}` },
  });
  const res = await postHook(t.app, supabasePayload(), { secrets: [OTHER_SECRET, TEST_SECRET] });
  await assertAuthSuccess(res);
});

Deno.test("a body over the limit (256 KB) is refused with 413 before it is parsed or verified", async () => {
  const t = testApp();
  const big = supabasePayload({ userMetadata: { blob: "x".repeat(MAX_BODY_BYTES) } });
  // Badly signed on purpose: a 401 would mean it was read and verified first.
  const res = await postHook(t.app, big, { secrets: [OTHER_SECRET] });
  assert.equal(res.status, 413);
  assert.equal(t.sent.length, 0);
  assert.ok(!t.logs.lines.some((l) => l.includes("unauthorized")), "refused before verification");
});

Deno.test("a content-length over the limit is refused with 413 from the header alone", async () => {
  const t = testApp();
  const body = JSON.stringify(
    supabasePayload({ userMetadata: { blob: "x".repeat(MAX_BODY_BYTES) } }),
  );
  const init = signedInit(body);
  const res = await t.app.request("/send-sms", {
    ...init,
    headers: { ...init.headers, "content-length": String(new TextEncoder().encode(body).length) },
  });
  assert.equal(res.status, 413);
  assert.equal(t.sent.length, 0);
});

Deno.test("a chunked body over the limit (no content-length) is refused with 413 as well", async () => {
  const t = testApp();
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > MAX_BODY_BYTES + chunk.length) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const init = signedInit("{}");
  const res = await t.app.request(
    new Request("http://localhost/send-sms", { ...init, body, duplex: "half" } as RequestInit),
  );
  assert.equal(res.status, 413);
  assert.equal(t.sent.length, 0);
});

Deno.test("an unexpected exception inside the hook still answers in Auth's dialect", async () => {
  // A store whose answer breaks in a way nothing expects: nothing catches it on the way up.
  const broken = {
    claim: () =>
      Promise.resolve({
        kind: "duplicate" as const,
        outcome: Promise.reject(new TypeError("bug")),
      }),
    settle: () => Promise.resolve(),
  };
  const t = testApp({ store: broken });
  const error = await authError(await postHook(t.app, supabasePayload()));
  assert.equal(error.http_code, 500);
  assert.ok(t.logs.lines.some((l) => l.includes(`"unhandled_error"`)));
});

Deno.test("a delivered message whose record fails is still answered as delivered", async () => {
  // The code left: an error answer would make the user ask again, and get a second SMS.
  const brokenSettle = {
    claim: () => Promise.resolve({ kind: "first" as const }),
    settle: () => Promise.reject(new TypeError("bug")),
  };
  const t = testApp({ store: brokenSettle });
  assert.equal(await (await postHook(t.app, supabasePayload())).text(), "{}");
  assert.equal(t.sent.length, 1);
  assert.ok(t.logs.lines.some((l) => l.includes(`"store_settle_failed"`)));
});

Deno.test("a store that refuses the claim (closed mode) answers 500 and sends nothing", async () => {
  const refusing = {
    claim: () => Promise.reject(new Error("database down")),
    settle: () => Promise.resolve(),
  };
  const t = testApp({ store: refusing });
  const error = await authError(await postHook(t.app, supabasePayload()));
  assert.equal(error.http_code, 500);
  assert.equal(t.sent.length, 0);
  assert.ok(t.logs.lines.some((l) => l.includes(`"store_unavailable"`)));
});

Deno.test("a large but legal body (200 KB of user metadata, just under the limit) is delivered", async () => {
  const t = testApp();
  const payload = supabasePayload({ userMetadata: { blob: "x".repeat(200 * 1024) } });
  await assertAuthSuccess(await postHook(t.app, payload));
});

const FAILURES: [FailureReason, number, RegExp][] = [
  ["invalid_number", 400, /not valid/],
  ["unreachable_number", 400, /can't receive text messages/],
  ["opted_out", 400, /opted out/],
  ["geo_blocked", 400, /this country/],
  ["rate_limited", 429, /wait a minute/],
  ["provider_config", 500, /try again/],
  ["provider_unavailable", 500, /try again/],
  ["timeout", 500, /try again/],
  ["internal", 500, /try again/],
];

Deno.test("every provider failure is 200 + error object with http_code 400, 429 or 500", async () => {
  for (const [reason, httpCode, message] of FAILURES) {
    const provider = recordingProvider(() => ({
      ok: false,
      reason,
      sent: "no",
      detail: "twilio status 400 code 21211",
    }));
    const t = testApp({ provider });
    const error = await authError(await postHook(t.app, supabasePayload()));
    assert.equal(error.http_code, httpCode, reason);
    assert.match(error.message, message, reason);
  }
});

Deno.test("Auth's retry (new webhook-id, same body) answers success without sending again", async () => {
  const t = testApp();
  const body = JSON.stringify(supabasePayload());
  await assertAuthSuccess(await postHook(t.app, body, { id: "msg_attempt_1" }));
  await assertAuthSuccess(
    await postHook(t.app, body, { id: "msg_attempt_2", timestamp: NOW_MS / 1000 + 2 }),
  );
  assert.equal(t.sent.length, 1);
});

Deno.test("without metadata.uuid, retries are recognised by a hash of the body", async () => {
  const t = testApp();
  const body = JSON.stringify(supabasePayload({ uuid: null }));
  await assertAuthSuccess(await postHook(t.app, body, { id: "msg_1" }));
  await assertAuthSuccess(await postHook(t.app, body, { id: "msg_2" }));
  assert.equal(t.sent.length, 1);
  // A different request (another code) is delivered.
  await assertAuthSuccess(await postHook(t.app, supabasePayload({ uuid: null, otp: "999999" })));
  assert.equal(t.sent.length, 2);
});

Deno.test("two different requests for the same number are both delivered", async () => {
  const t = testApp();
  await assertAuthSuccess(await postHook(t.app, supabasePayload()));
  await assertAuthSuccess(await postHook(t.app, supabasePayload()));
  assert.equal(t.sent.length, 2);
});

/**
 * Sends two copies of one request (Auth's retry: new webhook-id, same body) while the provider
 * holds the first, then lets the provider answer `result`.
 */
async function concurrentCopies(result: SendResult) {
  const release = Promise.withResolvers<SendResult>();
  const provider = recordingProvider(() => release.promise);
  const t = testApp({ provider });
  const body = JSON.stringify(supabasePayload());
  const first = postHook(t.app, body, { id: "msg_1" });
  const second = postHook(t.app, body, { id: "msg_2" });
  await new Promise((r) => setTimeout(r, 20));
  release.resolve(result);
  return { answers: [await first, await second], sent: provider.sent };
}

Deno.test("a concurrent duplicate waits for the first outcome and sends nothing", async () => {
  const { answers, sent } = await concurrentCopies({ ok: true, id: "SM1" });
  for (const answer of answers) await assertAuthSuccess(answer);
  assert.equal(sent.length, 1);
});

Deno.test("a concurrent duplicate of a failing request gets the same failure, one attempt", async () => {
  const { answers, sent } = await concurrentCopies({
    ok: false,
    reason: "invalid_number",
    sent: "no",
    detail: "code 21211",
  });
  for (const answer of answers) assert.equal((await authError(answer)).http_code, 400);
  assert.equal(sent.length, 1);
});

Deno.test("a duplicate whose first copy is still in flight elsewhere at the deadline answers success, sends nothing", async () => {
  // Another instance holds the key and has not settled by our deadline (a shared store's view).
  const elsewhere = {
    claim: () =>
      Promise.resolve({ kind: "duplicate" as const, outcome: new Promise<never>(() => {}) }),
    settle: () => Promise.resolve(),
  };
  const t = testApp({ store: elsewhere, env: { OTP_DEADLINE_MS: "500" } });
  await assertAuthSuccess(await postHook(t.app, supabasePayload()));
  assert.equal(t.sent.length, 0);
  assert.ok(t.logs.lines.some((l) => l.includes(`"duplicate_in_flight"`)));
});

Deno.test("a retry while the first copy hangs in a provider that ignores its signal gets the real outcome", async () => {
  // The provider never settles; the deadline backstop settles the first copy, so the retry
  // (which arrived later and has a later deadline) answers its failure rather than a false success.
  const provider = recordingProvider(() => new Promise<SendResult>(() => {}));
  const t = testApp({ provider, now: Date.now, env: { OTP_DEADLINE_MS: "600" } });
  const body = JSON.stringify(supabasePayload());
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  const first = postHook(t.app, body, { id: "msg_1", timestamp });
  await new Promise((r) => setTimeout(r, 20));
  const second = postHook(t.app, body, { id: "msg_2", timestamp });
  assert.equal((await authError(await first)).http_code, 500);
  assert.equal((await authError(await second)).http_code, 500);
  assert.ok(performance.now() - started < 1000, "answers come at the deadline, not never");
  assert.equal(provider.sent.length, 1);
  assert.ok(t.logs.lines.some((l) => l.includes(`"provider_ignored_abort"`)));
});

Deno.test("a retry after a failure the provider certainly refused may send again", async () => {
  let calls = 0;
  const provider = recordingProvider(() =>
    ++calls === 1
      ? { ok: false, reason: "provider_unavailable", sent: "no", detail: "twilio status 503" }
      : { ok: true, id: "SM2" }
  );
  const t = testApp({ provider });
  const body = JSON.stringify(supabasePayload());
  assert.equal((await authError(await postHook(t.app, body, { id: "msg_1" }))).http_code, 500);
  await assertAuthSuccess(await postHook(t.app, body, { id: "msg_2" }));
  assert.equal(provider.sent.length, 2);
});

Deno.test("a retry after an unknown outcome (timeout) never sends a second message", async () => {
  const provider = recordingProvider(() => ({
    ok: false,
    reason: "timeout",
    sent: "unknown",
    detail: "twilio TimeoutError",
  }));
  const t = testApp({ provider });
  const body = JSON.stringify(supabasePayload());
  assert.equal((await authError(await postHook(t.app, body, { id: "msg_1" }))).http_code, 500);
  assert.equal((await authError(await postHook(t.app, body, { id: "msg_2" }))).http_code, 500);
  assert.equal(provider.sent.length, 1);
});

Deno.test("a hanging provider is cut off by the attempt timeout: the answer still comes", async () => {
  const provider = recordingProvider((_m, signal) =>
    new Promise<SendResult>((resolve) =>
      signal.addEventListener(
        "abort",
        () =>
          resolve({ ok: false, reason: "timeout", sent: "unknown", detail: String(signal.reason) }),
      )
    )
  );
  const t = testApp({ provider, now: Date.now, env: { OTP_ATTEMPT_TIMEOUT_MS: "50" } });
  const error = await authError(
    await postHook(t.app, supabasePayload(), {
      timestamp: Math.floor(Date.now() / 1000),
    }),
  );
  assert.equal(error.http_code, 500);
  assert.equal(provider.sent.length, 1);
});

Deno.test("a provider that throws is answered as a failure, not a crash", async () => {
  const provider = recordingProvider(() => {
    throw new Error("boom");
  });
  const t = testApp({ provider });
  assert.equal((await authError(await postHook(t.app, supabasePayload()))).http_code, 500);
  assert.ok(t.logs.lines.some((l) => l.includes(`"provider_threw"`)));
});

Deno.test("logs never contain the code, the full number or the secret", async () => {
  const t = testApp({
    provider: recordingProvider(() => ({
      ok: false,
      reason: "invalid_number",
      sent: "no",
      detail: "twilio status 400 code 21211",
    })),
  });
  const otp = "918273";
  await postHook(t.app, supabasePayload({ phone: "447700900123", otp }));
  await postHook(t.app, supabasePayload({ phone: "447700900124", otp }), {
    secrets: [OTHER_SECRET],
  });
  await postHook(t.app, supabasePayload({ phone: "4477009", otp }));
  const all = t.logs.lines.join("\n");
  assert.ok(t.logs.lines.length >= 3);
  for (const secret of [otp, "447700900123", "447700900124", "4477009", "MfKQ9r8GKYqrTwjU"]) {
    assert.ok(!all.includes(secret), `logs contain ${secret}`);
  }
  assert.match(all, /\+4477•••••123/);
});

Deno.test("issue 14 #8: anonymous health shows the state only; the token opens version, doors, channels, no secrets", async () => {
  const t = testApp();
  const anonymous = await t.app.request("/send-sms/health");
  assert.equal(anonymous.status, 200);
  assert.deepEqual(await anonymous.json(), { status: "ok" });
  for (const wrong of [`Bearer ${HEALTH_TOKEN}x`, HEALTH_TOKEN, `Basic ${HEALTH_TOKEN}`]) {
    const res = await t.app.request("/send-sms/health", { headers: { authorization: wrong } });
    assert.deepEqual(await res.json(), { status: "ok" }, wrong);
  }
  const inQuery = await t.app.request(`/send-sms/health?token=${HEALTH_TOKEN}`);
  assert.deepEqual(await inQuery.json(), { status: "ok" }, "never from the query");
  const res = await t.app.request("/send-sms/health", { headers: HEALTH_AUTH });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body, {
    status: "ok",
    version: body.version,
    provider: "recording",
    providers: ["recording"],
    doors: ["supabase"],
    channels: { sms: true, whatsapp: false, voice: false },
    channelOrder: { configured: ["sms"], available: ["sms"] },
    store: { kind: "memory", state: "ok" },
  });
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(body.version, denoJson.version);
  assert.ok(!JSON.stringify(body).includes("whsec_"));
});

Deno.test("other paths and methods: JSON 404", async () => {
  const t = testApp();
  for (
    const [path, method] of [["/send-sms/nope", "GET"], ["/other", "POST"], ["/send-sms", "GET"]]
  ) {
    const res = await t.app.request(path!, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.deepEqual(await res.json(), { message: "Not found" });
  }
  // A trailing slash reaches the hook as well.
  await assertAuthSuccess(await t.app.request("/send-sms/", signedInit(supabasePayload())));
});

Deno.test("misconfigured function: every door answers in its dialect, health names the variables", async () => {
  const logs = captureLogs();
  const boot = appFromEnv({
    SB_REGION: "eu-west-1",
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32),
    TWILIO_AUTH_TOKEN: "super-secret-token",
    OTP_HEALTH_TOKEN: HEALTH_TOKEN,
  }, { write: logs.write });
  assert.ok("error" in boot);
  const error = await authError(await boot.app.request("/send-sms", signedInit(supabasePayload())));
  assert.equal(error.http_code, 500);
  // Okta: not 200, so Okta sends through its own telephony meanwhile.
  const okta = await boot.app.request("/send-sms/okta", { method: "POST", body: "{}" });
  assert.equal(okta.status, 503);
  // Auth0: the relay's error object, not retryable, so the tenant logs say why.
  const auth0 = await boot.app.request("/send-sms/auth0", { method: "POST", body: "{}" });
  assert.deepEqual((await auth0.json()).error, {
    http_code: 500,
    message: "We couldn't send your code right now. Please try again in a few minutes.",
    reason: "provider_config",
    retryable: false,
  });
  const health = await boot.app.request("/send-sms/health");
  assert.equal(health.status, 503);
  assert.deepEqual(await health.json(), { status: "misconfigured" }, "anonymous: the state only");
  const detailed = await boot.app.request("/send-sms/health", { headers: HEALTH_AUTH });
  assert.equal(detailed.status, 503);
  const body = await detailed.json();
  assert.equal(body.status, "misconfigured");
  assert.deepEqual(body.variables, ["TWILIO_MESSAGING_SERVICE_SID"]);
  // The names are in the start-up log too.
  assert.ok(logs.lines.some((l) => l.includes('"variables":"TWILIO_MESSAGING_SERVICE_SID"')));
  const everything = JSON.stringify(body) + logs.lines.join("\n");
  assert.ok(!everything.includes("super-secret-token"));
  assert.ok(!everything.includes("MfKQ9r8GKYqrTwjU"));
});

Deno.test("deployed without a provider: errors, never a silent console provider", async () => {
  const logs = captureLogs();
  const printed: string[] = [];
  const boot = appFromEnv({
    SB_REGION: "eu-west-1",
    DENO_DEPLOYMENT_ID: "abc",
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
  }, { write: logs.write, print: (l) => printed.push(l) });
  assert.ok("error" in boot);
  const error = await authError(await boot.app.request("/send-sms", signedInit(supabasePayload())));
  assert.equal(error.http_code, 500);
  assert.equal(printed.length, 0);
  assert.ok(logs.lines.some((l) => l.includes("OTP_PROVIDER")));
});

Deno.test("language: user_metadata.locale, else user_metadata.language, else the number's country", async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ locale: "fr-FR", language: "es" }, "16502530000", /^Votre code de vérification/],
    [{ language: "es" }, "16502530000", /^Tu código de verificación/],
    [{ locale: "", language: "de" }, "16502530000", /^Ihr Bestätigungscode/],
    [{}, "5511987654321", /^Seu código de verificação/],
    [{ locale: "xx" }, "16502530000", /^Your verification code/],
  ];
  for (const [userMetadata, phone, expected] of cases) {
    const t = testApp();
    await assertAuthSuccess(await postHook(t.app, supabasePayload({ phone, userMetadata })));
    const sent = t.sent[0];
    assert.ok(sent && sent.channel === "sms");
    assert.match(sent.body, expected, JSON.stringify(userMetadata));
  }
});
