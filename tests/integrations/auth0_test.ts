// The Auth0 code we ship (integrations/auth0/*.js), executed as Auth0 executes it: loaded as a
// CommonJS module, given sample events and its secrets, relaying over real HTTP to the app
// served on 127.0.0.1, which sends through the real twilio SDK to the fake Twilio.
import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import * as nodeHttp from "node:http";
import * as nodeHttps from "node:https";
import { parse } from "acorn";
import { Webhook } from "standardwebhooks";
import { ALL_CHANNELS_ENV, type Deployment, withDeployment } from "../_deployment.ts";
import { channelOf, type FakeTwilioOptions, twilioError } from "../fakes/twilio-api.ts";

const SECRET = "whsec_" + btoa("auth0 relay secret for the tests");
const ENV = { ...ALL_CHANNELS_ENV, AUTH0_HOOK_SECRETS: SECRET };
const PHONE = "+14155550123";
const CODE = "482913";
const FILES = ["send-phone-message.js", "custom-phone-provider.js", "legacy-hook.js"] as const;

/** What the files may require: their one npm dependency and Node's core modules. */
const MODULES: Readonly<Record<string, unknown>> = {
  standardwebhooks: { Webhook },
  crypto: nodeCrypto,
  http: nodeHttp,
  https: nodeHttps,
};

/** Loads a shipped file the way Auth0 runs it: a CommonJS module; returns `module.exports`. */
async function load(file: typeof FILES[number]): Promise<unknown> {
  const source = await Deno.readTextFile(
    new URL(`../../integrations/auth0/${file}`, import.meta.url),
  );
  const module = { exports: {} as unknown };
  const require = (id: string) => {
    if (!(id in MODULES)) throw new Error(`${file} requires ${id}, which is not declared`);
    return MODULES[id];
  };
  new Function("exports", "require", "module", source)(module.exports, require, module);
  return module.exports;
}

type Handler = (event: unknown, api: unknown) => Promise<void>;
type Hook = (recipient: string, text: string, context: unknown, cb: (err?: Error) => void) => void;

async function actions() {
  const exports = await load("send-phone-message.js") as { onExecuteSendPhoneMessage: Handler };
  return exports.onExecuteSendPhoneMessage;
}
async function customProvider() {
  const exports = await load("custom-phone-provider.js") as {
    onExecuteCustomPhoneProvider: Handler;
  };
  return exports.onExecuteCustomPhoneProvider;
}
async function legacyHook() {
  return await load("legacy-hook.js") as Hook;
}

/** Runs a legacy Hook and returns what it passed to `cb`. */
function runHook(hook: Hook, recipient: string, text: string, context: unknown) {
  return new Promise<Error | undefined>((resolve) => hook(recipient, text, context, resolve));
}

/** Records what Auth0's `api.notification` was told. */
function notificationApi() {
  const calls: [string, string][] = [];
  return {
    calls,
    api: {
      notification: {
        drop: (reason: string) => calls.push(["drop", reason]),
        retry: (reason: string) => calls.push(["retry", reason]),
      },
    },
  };
}

interface Received {
  readonly id: string;
  readonly body: string;
}

interface Relay {
  readonly d: Deployment;
  readonly url: string;
  readonly secrets: Record<string, string>;
  /** Every request that reached the server. */
  readonly received: Received[];
}

/**
 * Serves the deployment on 127.0.0.1 for `fn`. `front` may stand between the network and the
 * app (a gateway that loses answers, a hang).
 */
async function withRelay(
  fake: FakeTwilioOptions,
  env: Record<string, string>,
  fn: (relay: Relay) => Promise<void>,
  front?: (request: Request, app: (r: Request) => Promise<Response>) => Promise<Response>,
) {
  await withDeployment(fake, { ...ENV, ...env }, async (d) => {
    const received: Received[] = [];
    const app = async (r: Request) => await d.handler(r);
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (r) => {
      const body = await r.text();
      received.push({ id: r.headers.get("webhook-id") ?? "", body });
      const copy = new Request(r.url, { method: r.method, headers: r.headers, body });
      return front ? await front(copy, app) : await app(copy);
    });
    const url = `http://127.0.0.1:${server.addr.port}/send-sms/auth0`;
    try {
      await fn({ d, url, secrets: { OTP_RELAY_URL: url, OTP_RELAY_SECRET: SECRET }, received });
    } finally {
      await server.shutdown();
    }
  });
}

/** A send-phone-message event as Auth0 builds it, secrets and user profile included. */
function actionsEvent(secrets: Record<string, string>, messageType = "sms") {
  return {
    message_options: {
      action: "second-factor-authentication",
      code: CODE,
      message_type: messageType,
      recipient: PHONE,
      text: `Your verification code is: ${CODE}`,
    },
    request: {
      ip: "203.0.113.9",
      language: "fr-FR",
      hostname: "acme.eu.auth0.com",
      method: "POST",
      user_agent: "Mozilla/5.0",
      geoip: { countryCode: "FR" },
    },
    tenant: { id: "acme" },
    client: { client_id: "abc", name: "Acme", metadata: {} },
    user: {
      user_id: "auth0|1",
      email: "ada@example.com",
      phone_number: PHONE,
      app_metadata: { plan: "gold" },
      user_metadata: {},
    },
    secrets,
  };
}

/** A custom-phone-provider event as Auth0 builds it. */
function providerEvent(
  secrets: Record<string, string>,
  notification: Record<string, unknown> = {},
) {
  return {
    notification: {
      recipient: PHONE,
      as_text: `Your verification code is ${CODE}`,
      as_voice: `Your verification code is ${[...CODE].join(". ")}.`,
      code: CODE,
      delivery_method: "text",
      locale: "en_US",
      message_type: "otp_verify",
      from: "+15005550006",
      ...notification,
    },
    request: { ip: "203.0.113.9" },
    tenant: { id: "acme" },
    user: { user_id: "auth0|1", email: "ada@example.com" },
    secrets,
  };
}

/** The legacy Hook's context, secrets in `webtask`. */
function hookContext(secrets: Record<string, string>, messageType = "sms") {
  return {
    factor_type: "second",
    message_type: messageType,
    action: "authentication",
    language: "en",
    code: CODE,
    ip: "203.0.113.9",
    user_agent: "Mozilla/5.0",
    client_id: "abc",
    name: "Acme",
    client_metadata: {},
    user: { user_id: "auth0|1", email: "ada@example.com" },
    webtask: { secrets },
  };
}

const TWILIO_DOWN: FakeTwilioOptions = {
  respond: () => twilioError(500, 20500, "Internal Server Error"),
};

/** Nothing that must stay in Auth0 crossed the wire. */
function assertNothingPrivateSent(received: readonly Received[]) {
  for (const { body } of received) {
    for (const secret of ["whsec_", "OTP_RELAY", "ada@example.com", "gold", "Mozilla"]) {
      assert.ok(!body.includes(secret), `${secret} was forwarded`);
    }
  }
}

/** A failure message fit for the tenant logs: no code, no number. */
function assertLoggable(message: string) {
  assert.ok(!message.includes(CODE) && !message.includes(PHONE.slice(2)), message);
}

Deno.test("auth0 Action (send-phone-message): SMS and voice are delivered; secrets stay home", async () => {
  const handler = await actions();
  await withRelay({}, {}, async ({ d, secrets, received }) => {
    await handler(actionsEvent(secrets), {});
    await handler(actionsEvent(secrets, "voice"), {});
    assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice"]);
    // request.language picks the words.
    assert.match(d.fake.messages[0]!.form.get("Body")!, /Votre code/);
    assert.equal(d.fake.messages[0]!.form.get("To"), PHONE);
    assertNothingPrivateSent(received);
  });
});

Deno.test("auth0 Action (send-phone-message): a failed delivery fails the Action with the reason", async () => {
  const handler = await actions();
  await withRelay(TWILIO_DOWN, { OTP_CHANNELS: "sms" }, async ({ secrets }) => {
    await assert.rejects(handler(actionsEvent({ ...secrets, OTP_CHANNELS: "sms" }), {}), (err) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^otp-relay could not deliver the message: provider_unavailable/);
      assertLoggable(err.message);
      return true;
    });
  });
});

Deno.test("auth0 Action: wrong or missing secrets fail with a message naming the secret", async () => {
  const handler = await actions();
  await withRelay({}, {}, async ({ d, secrets }) => {
    const other = { ...secrets, OTP_RELAY_SECRET: "whsec_" + btoa("not the function's secret") };
    await assert.rejects(
      handler(actionsEvent(other), {}),
      /refused the signature: OTP_RELAY_SECRET/,
    );
    await assert.rejects(handler(actionsEvent({ OTP_RELAY_SECRET: SECRET }), {}), /OTP_RELAY_URL/);
    const noSecret = { OTP_RELAY_URL: secrets.OTP_RELAY_URL! };
    await assert.rejects(handler(actionsEvent(noSecret), {}), /OTP_RELAY_SECRET secret to whsec_/);
    const wrongPath = { ...secrets, OTP_RELAY_URL: secrets.OTP_RELAY_URL!.replace("auth0", "x") };
    await assert.rejects(handler(actionsEvent(wrongPath), {}), /no Auth0 door at OTP_RELAY_URL/);
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("auth0 custom phone provider: codes and notices are delivered, nothing dropped", async () => {
  const handler = await customProvider();
  await withRelay({}, {}, async ({ d, secrets, received }) => {
    const { api, calls } = notificationApi();
    await handler(providerEvent(secrets), api);
    await handler(providerEvent(secrets, { delivery_method: "voice" }), api);
    const blocked = "Your account has been blocked after multiple consecutive login attempts.";
    await handler(
      providerEvent(secrets, {
        message_type: "blocked_account",
        code: undefined,
        as_text: blocked,
      }),
      api,
    );
    assert.deepEqual(calls, []);
    assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice", "sms"]);
    assert.equal(d.fake.messages[2]!.form.get("Body"), blocked);
    assertNothingPrivateSent(received);
  });
});

Deno.test("auth0 custom phone provider: retry() only for a failure that may pass and sent nothing", async () => {
  const handler = await customProvider();
  await withRelay(TWILIO_DOWN, { OTP_CHANNELS: "sms" }, async ({ secrets }) => {
    const { api, calls } = notificationApi();
    await handler(providerEvent(secrets), api);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]![0], "retry");
    assert.match(calls[0]![1], /provider_unavailable/);
    assertLoggable(calls[0]![1]);
  });
  await withRelay({}, { OTP_BLOCKED_COUNTRIES: "US" }, async ({ d, secrets }) => {
    const { api, calls } = notificationApi();
    await handler(providerEvent(secrets), api);
    // Our own refusal: retrying would be refused again.
    assert.deepEqual(calls.map(([call]) => call), ["drop"]);
    assert.match(calls[0]![1], /country_not_allowed/);
    // Bad secrets: retrying fails the same way.
    await handler(providerEvent({ OTP_RELAY_URL: secrets.OTP_RELAY_URL! }), api);
    assert.deepEqual(calls.map(([call]) => call), ["drop", "drop"]);
    assert.match(calls[1]![1], /OTP_RELAY_SECRET/);
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("auth0 custom phone provider: otp-relay unreachable → one more try, then retry()", async () => {
  const handler = await customProvider();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  const { api, calls } = notificationApi();
  await handler(
    providerEvent({
      OTP_RELAY_URL: `http://127.0.0.1:${closedPort}/send-sms/auth0`,
      OTP_RELAY_SECRET: SECRET,
    }),
    api,
  );
  assert.deepEqual(calls.map(([call]) => call), ["retry"]);
  assert.match(calls[0]![1], /could not be reached/);
});

Deno.test("auth0 legacy Hook: delivered through cb(), failures through cb(err)", async () => {
  const hook = await legacyHook();
  await withRelay({}, {}, async ({ d, secrets, received }) => {
    assert.equal(await runHook(hook, PHONE, `Code ${CODE}`, hookContext(secrets)), undefined);
    assert.equal(
      await runHook(hook, PHONE, `Code ${CODE}`, hookContext(secrets, "voice")),
      undefined,
    );
    assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice"]);
    assertNothingPrivateSent(received);
    const err = await runHook(hook, "+1 12", `Code ${CODE}`, hookContext(secrets));
    assert.ok(err instanceof Error);
    assert.match(err.message, /invalid_number/);
    const noSecrets = await runHook(hook, PHONE, "x", { ...hookContext(secrets), webtask: {} });
    assert.match(noSecrets?.message ?? "", /OTP_RELAY_URL/);
  });
  await withRelay(TWILIO_DOWN, { OTP_CHANNELS: "sms" }, async ({ secrets }) => {
    const err = await runHook(hook, PHONE, `Code ${CODE}`, hookContext(secrets));
    assert.match(err?.message ?? "", /provider_unavailable/);
    assertLoggable(err!.message);
  });
});

Deno.test("auth0 relay: an answer lost by the gateway is retried with the same id, sent once", async () => {
  let lost = 0;
  const loseFirstAnswer = async (r: Request, app: (r: Request) => Promise<Response>) => {
    const res = await app(r);
    if (lost++ > 0) return res;
    await res.body?.cancel();
    return new Response("upstream error", { status: 502 });
  };
  for (const file of FILES) {
    lost = 0;
    await withRelay({}, {}, async ({ d, secrets, received }) => {
      if (file === "legacy-hook.js") {
        assert.equal(
          await runHook(await legacyHook(), PHONE, "x", hookContext(secrets)),
          undefined,
        );
      } else if (file === "send-phone-message.js") {
        await (await actions())(actionsEvent(secrets), {});
      } else {
        const { api, calls } = notificationApi();
        await (await customProvider())(providerEvent(secrets), api);
        assert.deepEqual(calls, []);
      }
      assert.equal(received.length, 2, file);
      assert.equal(received[0]!.id, received[1]!.id, "one webhook-id for both tries");
      assert.equal(d.fake.messages.length, 1, `${file}: the code was sent once`);
    }, loseFirstAnswer);
  }
});

Deno.test("auth0 relay: no answer within OTP_RELAY_TIMEOUT_MS fails, never retried by Auth0", async () => {
  // Answers only after the relay has given up (or when it hangs up).
  const hang = (r: Request) =>
    new Promise<Response>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(new Response(null, { status: 504 }));
      };
      const timer = setTimeout(done, 1500);
      r.signal.addEventListener("abort", done);
    });
  await withRelay({}, {}, async ({ secrets }) => {
    const slow = { ...secrets, OTP_RELAY_TIMEOUT_MS: "1000" };
    const started = performance.now();
    await assert.rejects(
      (await actions())(actionsEvent(slow), {}),
      /did not answer within 1000 ms/,
    );
    assert.ok(performance.now() - started < 2000);
    const { api, calls } = notificationApi();
    await (await customProvider())(providerEvent(slow), api);
    assert.deepEqual(calls.map(([call]) => call), ["drop"]);
    const err = await runHook(await legacyHook(), PHONE, "x", hookContext(slow));
    assert.match(err?.message ?? "", /did not answer within 1000 ms/);
  }, hang);
});

Deno.test("auth0 relay: the client block is the same in every shipped file", async () => {
  const blocks = await Promise.all(FILES.map(async (file) => {
    const source = await Deno.readTextFile(
      new URL(`../../integrations/auth0/${file}`, import.meta.url),
    );
    const start = source.indexOf("// ---- otp-relay client");
    const end = source.indexOf("// ---- end of the otp-relay client ----");
    assert.ok(start > 0 && end > start, `${file} has the client block`);
    return source.slice(start, end);
  }));
  assert.equal(blocks[1], blocks[0]);
  assert.equal(blocks[2], blocks[0]);
});

Deno.test("auth0 relay: the platform's 5xx after otp-relay ran is never retried by Auth0", async () => {
  // Every answer is lost in front of otp-relay, which did run: the relay tries once more with the
  // same id (sent once), then reports, and Auth0 must not run it again (a new request).
  const alwaysLost = async (r: Request, app: (r: Request) => Promise<Response>) => {
    await (await app(r)).body?.cancel();
    return new Response("upstream error", { status: 503 });
  };
  await withRelay({}, {}, async ({ d, secrets, received }) => {
    const { api, calls } = notificationApi();
    await (await customProvider())(providerEvent(secrets), api);
    assert.deepEqual(calls.map(([call]) => call), ["drop"]);
    assert.match(calls[0]![1], /answered HTTP 503/);
    assert.equal(received.length, 2);
    assert.equal(d.fake.messages.length, 1, "sent once");
  }, alwaysLost);
});

Deno.test("auth0 relay: turned away by the platform (429) is retried by Auth0", async () => {
  const turnedAway = () => Promise.resolve(new Response("slow down", { status: 429 }));
  await withRelay({}, {}, async ({ d, secrets }) => {
    const { api, calls } = notificationApi();
    await (await customProvider())(providerEvent(secrets), api);
    assert.deepEqual(calls.map(([call]) => call), ["retry"]);
    assert.equal(d.fake.messages.length, 0);
  }, turnedAway);
});

Deno.test("auth0 relay: events without their fields fail with a message naming them", async () => {
  await assert.rejects((await actions())({ secrets: {} }, {}), /no message_options/);
  const { api, calls } = notificationApi();
  await (await customProvider())({ secrets: {} }, api);
  assert.deepEqual(calls.map(([call]) => call), ["drop"]);
  assert.match(calls[0]![1], /no notification/);
  const err = await runHook(await legacyHook(), PHONE, "x", undefined);
  assert.match(err?.message ?? "", /without its context/);
});

Deno.test("auth0 relay: each file parses as the JavaScript of its oldest runtime", async () => {
  // Hooks run Node 12 (ES2019: no optional chaining, no ??); Actions Node 18 (ES2022).
  const oldest = {
    "legacy-hook.js": 2019,
    "send-phone-message.js": 2022,
    "custom-phone-provider.js": 2022,
  } as const;
  for (const file of FILES) {
    const source = await Deno.readTextFile(
      new URL(`../../integrations/auth0/${file}`, import.meta.url),
    );
    parse(source, { ecmaVersion: oldest[file], sourceType: "script" });
  }
  // The check bites: newer syntax is refused at 2019.
  assert.throws(() => parse("a?.b", { ecmaVersion: 2019 }));
});

Deno.test("issue 14 #8: the shipped Auth0 code refuses a plain http OTP_RELAY_URL except to localhost, in every file", async () => {
  const act = await actions();
  const provider = await customProvider();
  const hook = await legacyHook();
  await withRelay({}, {}, async ({ d, secrets }) => {
    for (
      const url of [
        "http://project.supabase.co/functions/v1/send-sms/auth0",
        "http://10.0.0.5/send-sms/auth0",
        "ftp://project.supabase.co/send-sms/auth0",
        "not a url",
      ]
    ) {
      const bad = { ...secrets, OTP_RELAY_URL: url };
      await assert.rejects(act(actionsEvent(bad), {}), /https:\/\/ \/send-sms\/auth0 URL/, url);
      const { api, calls } = notificationApi();
      await provider(providerEvent(bad), api);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]![0], "drop", "a setting error is never retried");
      assert.match(calls[0]![1], /https:\/\//, url);
      const err = await runHook(hook, PHONE, `Code ${CODE}`, hookContext(bad));
      assert.match(err?.message ?? "", /plain http only for localhost/, url);
    }
    assert.equal(d.fake.messages.length, 0, "nothing was sent anywhere");
    // The local test server (plain http on 127.0.0.1) is still allowed: it delivers.
    assert.match(secrets.OTP_RELAY_URL!, /^http:\/\/127\.0\.0\.1:/);
    await act(actionsEvent(secrets), {});
    assert.equal(d.fake.messages.length, 1);
  });
});
