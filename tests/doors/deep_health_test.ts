// GET /send-sms/health?deep=1: each provider's credentials and bench state, behind a bearer token.
import assert from "node:assert/strict";
import { createApp } from "../../supabase/functions/_shared/app.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createProviderBench } from "../../supabase/functions/_shared/delivery/bench.ts";
import type { Provider, ProviderCheck } from "../../supabase/functions/_shared/delivery/ports.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { createMemoryDedupeStore } from "../../supabase/functions/_shared/store/memory.ts";
import { captureLogs, TEST_SECRET } from "../_helpers.ts";

const TOKEN = "t".repeat(40);

function stub(name: string, check?: () => Promise<ProviderCheck>): Provider & { checks: number } {
  const p = {
    name,
    channels: ["sms" as const],
    checks: 0,
    send: () => Promise.resolve({ ok: true as const, id: "x" }),
    ...(check
      ? {
        check: () => {
          p.checks += 1;
          return check();
        },
      }
      : {}),
  };
  return p;
}

function app(providers: Provider[], env: Record<string, string> = { OTP_HEALTH_TOKEN: TOKEN }) {
  const config = loadConfig({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    ...env,
  });
  const logs = captureLogs();
  const log = createLogger({ level: "debug", write: logs.write });
  const bench = createProviderBench({ after: 1, ms: 30_000, now: Date.now, log });
  const built = createApp({
    config,
    providers,
    store: createMemoryDedupeStore({ maxEntries: 10 }),
    storeStatus: () => Promise.resolve({ kind: "memory", state: "ok" }),
    bench,
    log,
    now: Date.now,
  });
  const get = (headers: Record<string, string> = {}, query = "?deep=1") =>
    Promise.resolve(built.request(`/send-sms/health${query}`, { headers }));
  return { get, bench, logs };
}

Deno.test("deep health: each provider's check and bench state, 200 when every check passes", async () => {
  const twilio = stub("twilio", () => Promise.resolve({ ok: true }));
  const http = stub("http");
  const { get, bench } = app([twilio, http]);
  bench.record("http", false, "timeout");
  const res = await get({ authorization: `Bearer ${TOKEN}` });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.deepEqual(
    body.providers.map((p: { name: string; credentials: string }) => [p.name, p.credentials]),
    [
      ["twilio", "ok"],
      ["http", "not_checked"],
    ],
  );
  assert.equal(body.providers[1].bench.benched, true);
  assert.equal(twilio.checks, 1);
});

Deno.test("deep health: a rejected key or an unreachable provider → 503 and a loud log", async () => {
  const vonage = stub(
    "vonage",
    () => Promise.resolve({ ok: false, problem: "credentials", status: 401 }),
  );
  const plivo = stub(
    "plivo",
    () => Promise.reject(new Error("a check must not throw, but one did")),
  );
  const { get, logs } = app([vonage, plivo]);
  const res = await get({ authorization: `Bearer ${TOKEN}` });
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.equal(body.status, "degraded");
  assert.deepEqual(body.providers[0], {
    name: "vonage",
    channels: ["sms"],
    credentials: "credentials",
    status: 401,
    bench: { benched: false, failures: 0 },
  });
  assert.equal(body.providers[1].credentials, "unexpected");
  assert.equal(logs.lines.filter((l) => l.includes("provider_check_failed")).length, 2);
});

Deno.test("deep health: no token, a wrong token, a token in the query, or none configured → 401, nothing checked", async () => {
  const twilio = stub("twilio", () => Promise.resolve({ ok: true }));
  const { get } = app([twilio]);
  for (
    const [headers, query] of [
      [{}, "?deep=1"],
      [{ authorization: `Bearer ${"u".repeat(40)}` }, "?deep=1"],
      [{ authorization: `Bearer ${TOKEN.slice(1)}` }, "?deep=1"],
      [{ authorization: TOKEN }, "?deep=1"],
      [{}, `?deep=1&token=${TOKEN}`],
    ] as const
  ) {
    const res = await get(headers, query);
    assert.equal(res.status, 401, JSON.stringify([headers, query]));
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    await res.body?.cancel();
  }
  const off = app([twilio], {});
  const res = await off.get({ authorization: `Bearer ${TOKEN}` });
  assert.equal(res.status, 401);
  assert.match((await res.json()).message, /OTP_HEALTH_TOKEN/);
  assert.equal(twilio.checks, 0);
  // Plain health still answers without a token, and ?deep=0 is plain health.
  assert.equal((await get({}, "")).status, 200);
  const plain = await get({}, "?deep=0");
  assert.equal(plain.status, 200);
  assert.deepEqual(await plain.json(), { status: "ok" });
});

Deno.test("settings: OTP_HEALTH_TOKEN must be long; bench settings have bounds", () => {
  const base = { SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console" };
  assert.throws(() => loadConfig({ ...base, OTP_HEALTH_TOKEN: "short" }), /OTP_HEALTH_TOKEN/);
  const c = loadConfig({ ...base, OTP_PROVIDER_BENCH_AFTER: "5", OTP_PROVIDER_BENCH_MS: "1000" });
  assert.deepEqual(c.bench, { after: 5, ms: 1000 });
  assert.deepEqual(loadConfig(base).bench, { after: 3, ms: 30_000 });
  for (
    const [k, v] of [["OTP_PROVIDER_BENCH_AFTER", "0"], ["OTP_PROVIDER_BENCH_AFTER", "101"], [
      "OTP_PROVIDER_BENCH_MS",
      "999",
    ], ["OTP_PROVIDER_BENCH_MS", "3600001"]]
  ) {
    assert.throws(() => loadConfig({ ...base, [k!]: v! }), new RegExp(k!));
  }
});

Deno.test("deep health through the deployed wiring: Vonage's balance read, the gateway not checked, nothing sent", async () => {
  const { appFromEnv } = await import("../../supabase/functions/_shared/bootstrap.ts");
  const { startFakeVonage } = await import("../fakes/vonage-api.ts");
  const vonage = startFakeVonage();
  try {
    const env = (secret: string) => ({
      SEND_SMS_HOOK_SECRETS: TEST_SECRET,
      OTP_PROVIDERS: "vonage,http",
      VONAGE_API_KEY: vonage.apiKey,
      VONAGE_API_SECRET: secret,
      VONAGE_SMS_FROM: "MyApp",
      VONAGE_API_BASE_URL: vonage.baseUrl,
      OTP_HTTP_PROVIDER_URL: "http://127.0.0.1:9/send",
      OTP_HTTP_PROVIDER_SECRET: "whsec_" + btoa("gateway secret for deep health"),
      OTP_HEALTH_TOKEN: TOKEN,
    });
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (
      const [secret, status, credentials] of [
        [vonage.apiSecret, 200, "ok"],
        ["not-the-secret", 503, "credentials"],
      ] as const
    ) {
      const boot = appFromEnv(env(secret), { write: () => {} });
      assert.ok("config" in boot);
      const res = await boot.app.request("/send-sms/health?deep=1", { headers });
      assert.equal(res.status, status);
      const body = await res.json();
      assert.deepEqual(
        body.providers.map((p: { name: string; credentials: string }) => [p.name, p.credentials]),
        [["vonage", credentials], ["http", "not_checked"]],
      );
      await boot.close();
    }
    assert.equal(vonage.reads.length, 1, "one authenticated read (the fake counts only those)");
    assert.equal(vonage.requests.length, 0, "a check sends nothing");
  } finally {
    await vonage.close();
  }
});
