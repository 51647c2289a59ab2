import assert from "node:assert/strict";
import type { TwilioConfig } from "../../supabase/functions/_shared/providers/twilio/config.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { classifyTwilioError } from "../../supabase/functions/_shared/providers/twilio/errors.ts";
import { createTwilioProvider } from "../../supabase/functions/_shared/providers/twilio/index.ts";
import {
  loadTwilioClient,
  SDK_VERSION,
  twilioHostname,
} from "../../supabase/functions/_shared/providers/twilio/sdk.ts";
import type { OutboundMessage } from "../../supabase/functions/_shared/delivery/ports.ts";
import {
  type FakeTwilio,
  type FakeTwilioOptions,
  startFakeTwilio,
  twilioError,
} from "../fakes/twilio-api.ts";

const MG = "MG" + "a".repeat(32);

function configFor(fake: FakeTwilio, overrides: Partial<TwilioConfig> = {}): TwilioConfig {
  return {
    kind: "twilio",
    accountSid: fake.accountSid,
    authToken: fake.authToken,
    sms: { messagingServiceSid: MG },
    apiBaseUrl: fake.baseUrl,
    ...overrides,
  };
}

const message: OutboundMessage = {
  channel: "sms",
  to: parsePhone("447700900123")!,
  body: "Your verification code is 123456",
};

/** Runs `fn` against a fresh fake and always closes it. */
async function withFake(
  options: FakeTwilioOptions,
  fn: (fake: FakeTwilio) => Promise<void>,
): Promise<void> {
  const fake = startFakeTwilio(options);
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

const signal = () => AbortSignal.timeout(2000);

Deno.test("twilio: success through the real SDK, with Twilio's form fields and Basic auth", async () => {
  await withFake({}, async (fake) => {
    const provider = createTwilioProvider(configFor(fake));
    const result = await provider.send(message, { signal: signal() });
    assert.equal(result.ok, true);
    assert.match(result.ok ? result.id : "", /^SM[0-9a-f]{32}$/);
    assert.equal(fake.messages.length, 1);
    const { form, headers } = fake.messages[0]!;
    assert.equal(form.get("To"), "+447700900123");
    assert.equal(form.get("Body"), message.body);
    assert.equal(form.get("MessagingServiceSid"), MG);
    assert.equal(form.has("From"), false);
    assert.match(headers.get("user-agent") ?? "", /^twilio-node\//);
    assert.equal(headers.get("content-type"), "application/x-www-form-urlencoded");
  });
});

Deno.test("twilio: a From number is sent when no Messaging Service is set", async () => {
  await withFake({}, async (fake) => {
    const provider = createTwilioProvider(configFor(fake, { sms: { from: "+15005550006" } }));
    assert.equal((await provider.send(message, { signal: signal() })).ok, true);
    assert.equal(fake.messages[0]!.form.get("From"), "+15005550006");
    assert.equal(fake.messages[0]!.form.has("MessagingServiceSid"), false);
  });
});

Deno.test("twilio: 21211 invalid 'To' is an invalid number, certainly not sent", async () => {
  await withFake(
    { respond: () => twilioError(400, 21211, "Invalid 'To' Phone Number") },
    async (fake) => {
      const result = await createTwilioProvider(configFor(fake)).send(message, {
        signal: signal(),
      });
      assert.deepEqual(result, {
        ok: false,
        reason: "invalid_number",
        sent: "no",
        detail: "twilio status 400 code 21211",
        providerCode: 21211,
      });
    },
  );
});

Deno.test("twilio: 20003 (wrong credentials) is a configuration failure", async () => {
  await withFake({}, async (fake) => {
    const provider = createTwilioProvider(configFor(fake, { authToken: "0".repeat(32) }));
    const result = await provider.send(message, { signal: signal() });
    assert.deepEqual(result, {
      ok: false,
      reason: "provider_config",
      sent: "no",
      detail: "twilio status 401 code 20003",
      providerCode: 20003,
    });
  });
});

Deno.test("twilio: 429 is rate limited and may be retried", async () => {
  await withFake({ respond: () => twilioError(429, 20429, "Too Many Requests") }, async (fake) => {
    const result = await createTwilioProvider(configFor(fake)).send(message, { signal: signal() });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, "rate_limited");
    assert.equal(!result.ok && result.sent, "no");
  });
});

Deno.test("twilio: 500 is the provider being unavailable", async () => {
  await withFake(
    { respond: () => twilioError(500, 20500, "Internal Server Error") },
    async (fake) => {
      const result = await createTwilioProvider(configFor(fake)).send(message, {
        signal: signal(),
      });
      assert.equal(!result.ok && result.reason, "provider_unavailable");
      assert.equal(!result.ok && result.detail, "twilio status 500 code 20500");
    },
  );
});

Deno.test("twilio: a hang past the timeout ends as a timeout with an unknown outcome", async () => {
  await withFake({ respond: () => "hang" }, async (fake) => {
    const started = performance.now();
    const result = await createTwilioProvider(configFor(fake)).send(message, {
      signal: AbortSignal.timeout(150),
    });
    assert.deepEqual(result, {
      ok: false,
      reason: "timeout",
      sent: "unknown",
      detail: "twilio TimeoutError",
    });
    // Settles at the abort, not whenever the server would have answered.
    assert.ok(performance.now() - started < 2000);
  });
});

Deno.test("twilio: connection refused is unavailable and certainly not sent", async () => {
  const fake = startFakeTwilio();
  const config = configFor(fake);
  await fake.close();
  const result = await createTwilioProvider(config).send(message, { signal: signal() });
  assert.equal(!result.ok && result.reason, "provider_unavailable");
  assert.equal(!result.ok && result.sent, "no");
});

Deno.test("twilio: a 201 without a SID is not reported as success", async () => {
  await withFake(
    { respond: () => Response.json({ status: "queued" }, { status: 201 }) },
    async (fake) => {
      const result = await createTwilioProvider(configFor(fake)).send(message, {
        signal: signal(),
      });
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.sent, "unknown");
    },
  );
});

Deno.test("twilio: a 201 with a body that is not JSON is not reported as success", async () => {
  await withFake({ respond: () => new Response("<html>", { status: 201 }) }, async (fake) => {
    const result = await createTwilioProvider(configFor(fake)).send(message, { signal: signal() });
    assert.deepEqual(result.ok ? result : { reason: result.reason, sent: result.sent }, {
      reason: "internal",
      sent: "unknown",
    });
  });
});

Deno.test("twilio: the SDK is loaded on the first send, once", async () => {
  await withFake({}, async (fake) => {
    let loads = 0;
    const provider = createTwilioProvider(configFor(fake), {
      loadSdk: async () => {
        loads += 1;
        return await loadTwilioClient();
      },
    });
    assert.equal(loads, 0);
    await provider.send(message, { signal: signal() });
    await provider.send(message, { signal: signal() });
    assert.equal(loads, 1);
    assert.equal(fake.messages.length, 2);
  });
});

Deno.test("twilio: error codes map to reasons", () => {
  const table: [number, number | undefined, string][] = [
    [400, 21211, "invalid_number"],
    [400, 21614, "unreachable_number"],
    [400, 21610, "opted_out"],
    [400, 21408, "geo_blocked"],
    [429, 20429, "rate_limited"],
    [429, undefined, "rate_limited"],
    [401, 20003, "provider_config"],
    [404, 20404, "channel_config"],
    [403, 20403, "channel_config"],
    [400, 21606, "channel_config"],
    [401, undefined, "provider_config"],
    [403, undefined, "channel_config"],
    [503, undefined, "provider_unavailable"],
    [400, 21617, "internal"],
  ];
  for (const [status, code, reason] of table) {
    const result = classifyTwilioError({ status, code, message: "quotes +447700900123" }, "sms");
    assert.equal(result.reason, reason, `${status} ${code}`);
    // Only a 5xx without Twilio's own error code leaves the outcome open (a proxy may have sent it).
    assert.equal(result.sent, status >= 500 && code === undefined ? "unknown" : "no");
    assert.ok(!result.detail.includes("447700900123"), "details never quote Twilio's message");
  }
});

Deno.test("twilio: a slow SDK load is cut off by the signal, and counts as not sent", async () => {
  const provider = createTwilioProvider({
    kind: "twilio",
    accountSid: "AC" + "0".repeat(32),
    authToken: "t",
    sms: { messagingServiceSid: MG },
    apiBaseUrl: "http://127.0.0.1:9",
  }, { loadSdk: () => new Promise(() => {}) });
  const started = performance.now();
  const result = await provider.send(message, { signal: AbortSignal.timeout(100) });
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(result.ok ? result : { reason: result.reason, sent: result.sent }, {
    reason: "timeout",
    sent: "no",
  });
});

Deno.test("twilio: an SDK that fails to load counts as not sent, and the next send retries it", async () => {
  await withFake({}, async (fake) => {
    let loads = 0;
    const provider = createTwilioProvider(configFor(fake), {
      loadSdk: async () => {
        if (++loads === 1) throw new Error("module not found");
        return await loadTwilioClient();
      },
    });
    const first = await provider.send(message, { signal: signal() });
    assert.deepEqual(first.ok ? first : { reason: first.reason, sent: first.sent }, {
      reason: "internal",
      sent: "no",
    });
    assert.equal((await provider.send(message, { signal: signal() })).ok, true);
  });
});

Deno.test("twilio: a 5xx without Twilio's error body (a proxy) leaves the outcome unknown", async () => {
  await withFake(
    { respond: () => new Response("<html>Bad Gateway</html>", { status: 502 }) },
    async (fake) => {
      const result = await createTwilioProvider(configFor(fake)).send(message, {
        signal: signal(),
      });
      assert.deepEqual(result.ok ? result : { reason: result.reason, sent: result.sent }, {
        reason: "provider_unavailable",
        sent: "unknown",
      });
    },
  );
  await withFake(
    { respond: () => twilioError(503, 20503, "Service Unavailable") },
    async (fake) => {
      const result = await createTwilioProvider(configFor(fake)).send(message, {
        signal: signal(),
      });
      assert.equal(!result.ok && result.sent, "no");
    },
  );
});

Deno.test("twilio: TWILIO_REGION and TWILIO_EDGE route to the regional host, as the SDK does", async () => {
  const seen: string[] = [];
  const provider = createTwilioProvider({
    kind: "twilio",
    accountSid: "AC" + "0".repeat(32),
    authToken: "t",
    sms: { messagingServiceSid: MG },
    apiBaseUrl: "https://api.twilio.com",
    region: "ie1",
    edge: "dublin",
  }, {
    fetch: (input) => {
      seen.push(new Request(input).url);
      return Promise.resolve(Response.json({ sid: "SM" + "a".repeat(32) }, { status: 201 }));
    },
  });
  assert.equal((await provider.send(message, { signal: signal() })).ok, true);
  assert.match(seen[0]!, /^https:\/\/api\.dublin\.ie1\.twilio\.com\/2010-04-01\/Accounts\/AC/);
  assert.equal(twilioHostname("api.twilio.com"), "api.twilio.com");
  assert.equal(twilioHostname("api.twilio.com", undefined, "au1"), "api.au1.twilio.com");
  assert.equal(twilioHostname("api.twilio.com", "sydney"), "api.sydney.us1.twilio.com");
});

Deno.test("twilio: the User-Agent's SDK version is the pinned one", async () => {
  const map = JSON.parse(
    await Deno.readTextFile(new URL("../../import_map.json", import.meta.url)),
  );
  assert.equal(map.imports.twilio, `npm:twilio@${SDK_VERSION}`);
  assert.equal(map.imports["twilio/"], `npm:/twilio@${SDK_VERSION}/`);
});
