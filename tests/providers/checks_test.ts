// The credentials check of each provider (Provider.check): a cheap authenticated read through the
// real adapter against its local fake (tests/fakes/), which counts reads apart from sends.
import assert from "node:assert/strict";
import { loadConfig, type ProviderConfig } from "../../supabase/functions/_shared/config.ts";
import { lazyProvider } from "../../supabase/functions/_shared/bootstrap.ts";
import type {
  OutboundMessage,
  Provider,
  ProviderCheck,
} from "../../supabase/functions/_shared/delivery/ports.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { checkProvider, checkStatus } from "../../supabase/functions/_shared/providers/_http.ts";
import { createConsoleProvider } from "../../supabase/functions/_shared/providers/console.ts";
import { createHttpProvider } from "../../supabase/functions/_shared/providers/http/index.ts";
import { createPlivoProvider } from "../../supabase/functions/_shared/providers/plivo/index.ts";
import { createTelnyxProvider } from "../../supabase/functions/_shared/providers/telnyx/index.ts";
import { twilioAccountUrl } from "../../supabase/functions/_shared/providers/twilio/check.ts";
import { createTwilioProvider } from "../../supabase/functions/_shared/providers/twilio/index.ts";
import { createVonageProvider } from "../../supabase/functions/_shared/providers/vonage/index.ts";
import { startFakePlivo } from "../fakes/plivo-api.ts";
import { startFakeTelnyx } from "../fakes/telnyx-api.ts";
import { startFakeTwilio } from "../fakes/twilio-api.ts";
import { startFakeVonage } from "../fakes/vonage-api.ts";
import { TEST_SECRET } from "../_helpers.ts";

type Answer = Response | "hang" | undefined;

/** A fake with an adapter on it, and what the fake counted. */
interface Running {
  /** The adapter, with the fake's credentials or (`wrong`) a wrong secret. */
  provider(wrong?: boolean): Provider;
  /** The URL of that read, for a redirect back to it. */
  readonly readUrl: string;
  reads(): number;
  /** Send requests, whatever their answer, and messages accepted. */
  sends(): number;
  accepted(): number;
  close(): Promise<void>;
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

/** Fails the test if a check loads the Twilio SDK. */
const noSdk = () => Promise.reject(new Error("a check must not load the SDK"));

const FIXTURES: Record<string, (respondRead?: () => Answer) => Running> = {
  twilio(respondRead) {
    const fake = startFakeTwilio({ respondRead });
    const readPath = `/2010-04-01/Accounts/${fake.accountSid}.json`;
    return {
      provider: (wrong) =>
        createTwilioProvider({
          kind: "twilio",
          accountSid: fake.accountSid,
          authToken: wrong ? "0".repeat(32) : fake.authToken,
          sms: { messagingServiceSid: "MG" + "a".repeat(32) },
          apiBaseUrl: fake.baseUrl,
        }, { loadSdk: noSdk }),
      readUrl: `${fake.baseUrl}${readPath}`,
      reads: () => fake.reads.length,
      sends: () => fake.messages.length,
      accepted: () => fake.accepted.length,
      close: fake.close,
    };
  },
  vonage(respondRead) {
    const fake = startFakeVonage({ respondRead });
    const config = providerConfig({
      VONAGE_API_KEY: fake.apiKey,
      VONAGE_API_SECRET: fake.apiSecret,
      VONAGE_SMS_FROM: "MyApp",
      VONAGE_API_BASE_URL: fake.baseUrl,
    }, "vonage");
    return {
      provider: (wrong) =>
        createVonageProvider(wrong ? { ...config, apiSecret: "wrong-secret-000" } : config),
      readUrl: `${fake.baseUrl}/account/get-balance`,
      reads: () => fake.reads.length,
      sends: () => fake.requests.length,
      accepted: () => fake.accepted.length,
      close: fake.close,
    };
  },
  plivo(respondRead) {
    const fake = startFakePlivo({ respondRead });
    const config = providerConfig({
      PLIVO_AUTH_ID: fake.authId,
      PLIVO_AUTH_TOKEN: fake.authToken,
      PLIVO_SMS_FROM: "+14155550100",
      PLIVO_API_BASE_URL: fake.baseUrl,
    }, "plivo");
    const readPath = `/v1/Account/${fake.authId}/`;
    return {
      provider: (wrong) =>
        createPlivoProvider(wrong ? { ...config, authToken: "d3JvbmcgdG9rZW4" } : config),
      readUrl: `${fake.baseUrl}${readPath}`,
      reads: () => fake.reads.length,
      sends: () => fake.requests.length,
      accepted: () => fake.accepted.length,
      close: fake.close,
    };
  },
  telnyx(respondRead) {
    const fake = startFakeTelnyx({ respondRead });
    const config = providerConfig({
      TELNYX_API_KEY: fake.apiKey,
      TELNYX_SMS_FROM: "+13125550123",
      TELNYX_API_BASE_URL: fake.baseUrl,
    }, "telnyx");
    return {
      provider: (wrong) => createTelnyxProvider(wrong ? { ...config, apiKey: "KEYwrong" } : config),
      readUrl: `${fake.baseUrl}/v2/balance`,
      reads: () => fake.reads.length,
      sends: () => fake.requests.length,
      accepted: () => fake.accepted.length,
      close: fake.close,
    };
  },
};

/** Runs `fn` on a fresh fake and always closes it. */
async function withFake(
  name: string,
  respondRead: (() => Answer) | undefined,
  fn: (running: Running) => Promise<void>,
): Promise<void> {
  const running = FIXTURES[name]!(respondRead);
  try {
    await fn(running);
  } finally {
    await running.close();
  }
}

function checkOf(provider: Provider, signal = AbortSignal.timeout(2000)): Promise<ProviderCheck> {
  assert.equal(typeof provider.check, "function", `${provider.name} has a check`);
  return provider.check!(signal);
}

for (const name of Object.keys(FIXTURES)) {
  Deno.test(`${name}: good credentials are ok, and the check sent no message`, async () => {
    await withFake(name, undefined, async (fake) => {
      const provider = fake.provider();
      assert.deepEqual(await checkOf(provider), { ok: true });
      assert.equal(fake.reads(), 1, "one read reached the fake");
      assert.equal(fake.sends(), 0, "no send request");
      assert.equal(fake.accepted(), 0, "no message");
    });
  });

  Deno.test(`${name}: wrong credentials are a credentials problem`, async () => {
    await withFake(name, undefined, async (fake) => {
      assert.deepEqual(await checkOf(fake.provider(true)), {
        ok: false,
        problem: "credentials",
        status: 401,
      });
      assert.equal(fake.reads(), 0, "the fake refused the read");
      assert.equal(fake.sends(), 0);
    });
  });

  Deno.test(`${name}: a 5xx is unreachable, and the answer's text is not repeated`, async () => {
    let status = 503;
    const respond = () =>
      new Response(`account MA123 balance 10.28 token s3cr3t`, {
        status,
        headers: { "content-type": "text/plain" },
      });
    await withFake(name, respond, async (fake) => {
      for (const s of [503, 500, 502]) {
        status = s;
        const result = await checkOf(fake.provider());
        assert.deepEqual(result, { ok: false, problem: "unreachable", status: s });
        assert.ok(!JSON.stringify(result).includes("s3cr3t"));
      }
      assert.equal(fake.reads(), 3);
      assert.equal(fake.sends(), 0);
    });
  });

  Deno.test(`${name}: a hang is unreachable, settling soon after the signal aborts`, async () => {
    await withFake(name, () => "hang", async (fake) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 150);
      const started = performance.now();
      try {
        const result = await checkOf(fake.provider(), controller.signal);
        const took = performance.now() - started;
        assert.deepEqual(result, { ok: false, problem: "unreachable" });
        assert.ok(took >= 140, `it waited for the abort (${took} ms)`);
        assert.ok(took < 750, `it settled soon after the abort (${took} ms)`);
      } finally {
        clearTimeout(timer);
      }
      assert.equal(fake.reads(), 1, "the read reached the fake, which never answered");
    });
  });

  Deno.test(`${name}: a redirect is not followed, and is unexpected`, async () => {
    let readUrl = "";
    const redirect = () => new Response(null, { status: 302, headers: { location: readUrl } });
    await withFake(name, redirect, async (fake) => {
      // Back to the read itself: followed, the fake would count a second read.
      readUrl = fake.readUrl;
      assert.deepEqual(await checkOf(fake.provider()), {
        ok: false,
        problem: "unexpected",
        status: 302,
      });
      assert.equal(fake.reads(), 1, "the redirect was not followed");
    });
  });

  Deno.test(`${name}: nothing listening is unreachable`, async () => {
    const fake = FIXTURES[name]!();
    await fake.close();
    assert.deepEqual(await checkOf(fake.provider()), { ok: false, problem: "unreachable" });
  });
}

Deno.test("each check reads the documented resource, with the provider's own authentication", async () => {
  const seen: { url: string; method: string; authorization: string | null }[] = [];
  const recording: typeof fetch = (input, init) => {
    const req = new Request(input, init);
    seen.push({
      url: req.url,
      method: req.method,
      authorization: req.headers.get("authorization"),
    });
    return Promise.resolve(Response.json({}));
  };
  const deps = { fetch: recording };
  const signal = AbortSignal.timeout(2000);
  const sid = "AC" + "0123456789abcdef".repeat(2);
  const twilio = createTwilioProvider({
    kind: "twilio",
    accountSid: sid,
    authToken: "tok",
    sms: { from: "+15005550006" },
    apiBaseUrl: "https://api.twilio.com",
  }, { ...deps, loadSdk: noSdk });
  assert.deepEqual(await twilio.check!(signal), { ok: true });
  const vonage = createVonageProvider(
    providerConfig({
      VONAGE_API_KEY: "abcd1234",
      VONAGE_API_SECRET: "s3cr3t",
      VONAGE_SMS_FROM: "MyApp",
    }, "vonage"),
    deps,
  );
  assert.deepEqual(await vonage.check!(signal), { ok: true });
  const plivo = createPlivoProvider(
    providerConfig({
      PLIVO_AUTH_ID: "MAZDQ1ZJIYMDFLMZQ5NG",
      PLIVO_AUTH_TOKEN: "tok",
      PLIVO_SMS_FROM: "+14155550100",
    }, "plivo"),
    deps,
  );
  assert.deepEqual(await plivo.check!(signal), { ok: true });
  const telnyx = createTelnyxProvider(
    providerConfig({
      TELNYX_API_KEY: "KEY123",
      TELNYX_SMS_FROM: "+13125550123",
    }, "telnyx"),
    deps,
  );
  assert.deepEqual(await telnyx.check!(signal), { ok: true });

  assert.deepEqual(seen, [
    {
      url: `https://api.twilio.com/2010-04-01/Accounts/${sid}.json`,
      method: "GET",
      authorization: `Basic ${btoa(`${sid}:tok`)}`,
    },
    {
      // Basic auth: the secret never sits in a URL.
      url: "https://rest.nexmo.com/account/get-balance",
      method: "GET",
      authorization: `Basic ${btoa("abcd1234:s3cr3t")}`,
    },
    {
      url: "https://api.plivo.com/v1/Account/MAZDQ1ZJIYMDFLMZQ5NG/",
      method: "GET",
      authorization: `Basic ${btoa("MAZDQ1ZJIYMDFLMZQ5NG:tok")}`,
    },
    { url: "https://api.telnyx.com/v2/balance", method: "GET", authorization: "Bearer KEY123" },
  ]);
});

Deno.test("twilio: the check goes to the regional host a send uses, or to TWILIO_API_BASE_URL", () => {
  const accountSid = "AC" + "0".repeat(32);
  const base = { accountSid, apiBaseUrl: "https://api.twilio.com" };
  assert.equal(
    twilioAccountUrl({ ...base, region: "ie1", edge: "dublin" }),
    `https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/${accountSid}.json`,
  );
  assert.equal(
    twilioAccountUrl({ ...base, region: "au1" }),
    `https://api.au1.twilio.com/2010-04-01/Accounts/${accountSid}.json`,
  );
  // A base URL of one's own replaces Twilio's host, region or not (as http.ts rewrites sends).
  assert.equal(
    twilioAccountUrl({ accountSid, apiBaseUrl: "http://127.0.0.1:8080/twilio", region: "ie1" }),
    `http://127.0.0.1:8080/twilio/2010-04-01/Accounts/${accountSid}.json`,
  );
});

Deno.test("twilio: a check loads no SDK; a send after it still does", async () => {
  const fake = startFakeTwilio();
  let loads = 0;
  try {
    const provider = createTwilioProvider({
      kind: "twilio",
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      sms: { from: "+15005550006" },
      apiBaseUrl: fake.baseUrl,
    }, {
      loadSdk: () => {
        loads += 1;
        return Promise.reject(new Error("not in this test"));
      },
    });
    assert.deepEqual(await provider.check!(AbortSignal.timeout(2000)), { ok: true });
    assert.deepEqual(await provider.check!(AbortSignal.timeout(2000)), { ok: true });
    assert.equal(loads, 0);
    const message: OutboundMessage = {
      channel: "sms",
      to: parsePhone("+447700900123")!,
      body: "Your code is 482913",
    };
    const sent = await provider.send(message, { signal: AbortSignal.timeout(2000) });
    assert.equal(sent.ok, false, "the SDK load failed, as the test made it");
    assert.equal(loads, 1);
    assert.equal(fake.reads.length, 2);
    assert.equal(fake.messages.length, 0);
  } finally {
    await fake.close();
  }
});

Deno.test("a 403 is a credentials problem; other statuses are unexpected", async () => {
  let status = 403;
  await withFake("telnyx", () => new Response(null, { status }), async (fake) => {
    const provider = fake.provider();
    const rows: [number, "credentials" | "unexpected"][] = [
      [403, "credentials"],
      [404, "unexpected"],
      [429, "unexpected"],
      [400, "unexpected"],
      [301, "unexpected"],
    ];
    for (const [s, problem] of rows) {
      status = s;
      assert.deepEqual(await checkOf(provider), { ok: false, problem, status: s }, `status ${s}`);
    }
    assert.equal(fake.reads(), rows.length);
  });
});

Deno.test("checkStatus: 2xx ok, 401/403 credentials, 5xx unreachable, anything else unexpected", () => {
  for (const s of [200, 201, 204, 299]) assert.deepEqual(checkStatus(s), { ok: true }, `${s}`);
  for (const s of [401, 403]) {
    assert.deepEqual(checkStatus(s), { ok: false, problem: "credentials", status: s });
  }
  for (const s of [500, 502, 503, 504, 599]) {
    assert.deepEqual(checkStatus(s), { ok: false, problem: "unreachable", status: s });
  }
  for (const s of [100, 301, 302, 304, 307, 400, 402, 404, 429, 600]) {
    assert.deepEqual(checkStatus(s), { ok: false, problem: "unexpected", status: s });
  }
});

Deno.test("checkProvider never throws: a fetch that throws at once is unreachable", async () => {
  const throwing = (() => {
    throw new TypeError("boom");
  }) as unknown as typeof fetch;
  assert.deepEqual(
    await checkProvider({
      url: "https://example.invalid/",
      headers: {},
      signal: AbortSignal.timeout(1000),
      fetch: throwing,
    }),
    { ok: false, problem: "unreachable" },
  );
  // An already aborted signal: fetch refuses at once.
  let calls = 0;
  const counting: typeof fetch = (input, init) => {
    calls += 1;
    return fetch(input, init);
  };
  assert.deepEqual(
    await checkProvider({
      url: "http://127.0.0.1:9/",
      headers: {},
      signal: AbortSignal.abort(),
      fetch: counting,
    }),
    { ok: false, problem: "unreachable" },
  );
  assert.equal(calls, 1);
});

Deno.test("the owner's gateway and console have no check", () => {
  const gateway = createHttpProvider(providerConfig({
    OTP_HTTP_PROVIDER_URL: "http://127.0.0.1:9/send",
    OTP_HTTP_PROVIDER_SECRET: `whsec_${btoa("a gateway secret of enough length")}`,
  }, "http"));
  assert.equal(gateway.name, "http");
  assert.equal(gateway.check, undefined);
  assert.ok(!("check" in gateway));
  const consoleProvider = createConsoleProvider({ print: () => {} });
  assert.equal(consoleProvider.check, undefined);
});

Deno.test("lazy wrapper: exposes check for vonage, loading the module on the first check", async () => {
  const fake = startFakeVonage();
  let loads = 0;
  try {
    const config = providerConfig({
      VONAGE_API_KEY: fake.apiKey,
      VONAGE_API_SECRET: fake.apiSecret,
      VONAGE_SMS_FROM: "MyApp",
      VONAGE_API_BASE_URL: fake.baseUrl,
    }, "vonage");
    const vonage = lazyProvider("vonage", ["sms"], true, async () => {
      loads += 1;
      const module = await import("../../supabase/functions/_shared/providers/vonage/index.ts");
      return module.createVonageProvider(config);
    });
    assert.equal(loads, 0, "nothing loaded before the first check");
    assert.deepEqual(await checkOf(vonage), { ok: true });
    assert.equal(loads, 1);
    assert.equal(fake.reads.length, 1, "the check reached Vonage through the loaded module");
    assert.deepEqual(await checkOf(vonage), { ok: true });
    const sent = await vonage.send({
      channel: "sms",
      to: parsePhone("+447700900123")!,
      body: "Your code is 482913",
    }, { signal: AbortSignal.timeout(2000) });
    assert.ok(sent.ok);
    assert.equal(loads, 1, "loaded once for checks and sends");
    assert.equal(fake.reads.length, 2);
    assert.equal(fake.accepted.length, 1, "only the send sent a message");
  } finally {
    await fake.close();
  }
});

Deno.test("lazy wrapper: no check without `checks`, and nothing loaded to find out", () => {
  let loads = 0;
  const http = lazyProvider("http", ["sms"], false, () => {
    loads += 1;
    return Promise.reject(new Error("not loaded in this test"));
  });
  assert.equal(http.check, undefined);
  assert.ok(!("check" in http));
  assert.equal(loads, 0);
});

Deno.test("lazy wrapper: a module that doesn't load within the signal is unreachable; a later check retries", async () => {
  let loads = 0;
  let fail = true;
  const slow = lazyProvider("telnyx", ["sms"], true, () => {
    loads += 1;
    if (fail) return Promise.reject(new Error("import failed"));
    return Promise.resolve({
      name: "telnyx",
      channels: ["sms"],
      send: () => Promise.resolve({ ok: true, id: "x" }),
      check: () => Promise.resolve({ ok: true }),
    });
  });
  assert.deepEqual(await slow.check!(AbortSignal.timeout(1000)), {
    ok: false,
    problem: "unreachable",
  });
  fail = false;
  assert.deepEqual(await slow.check!(AbortSignal.timeout(1000)), { ok: true });
  assert.equal(loads, 2, "a failed load is tried again");

  // A load that never settles: the check settles when the signal aborts.
  const hanging = lazyProvider("plivo", ["sms"], true, () => new Promise<Provider>(() => {}));
  const started = performance.now();
  assert.deepEqual(await hanging.check!(AbortSignal.timeout(100)), {
    ok: false,
    problem: "unreachable",
  });
  assert.ok(performance.now() - started < 600);

  // `checks` said yes but the module has none: wiring gone wrong, not the provider.
  const without = lazyProvider("http", ["sms"], true, () =>
    Promise.resolve({
      name: "http",
      channels: ["sms"],
      send: () => Promise.resolve({ ok: true, id: "x" }),
    }));
  assert.deepEqual(await without.check!(AbortSignal.timeout(1000)), {
    ok: false,
    problem: "unexpected",
  });
});
