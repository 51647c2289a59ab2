// The Auth0 door, end to end: each of Auth0's three shapes, signed as the shipped relay signs
// them → door → real twilio SDK → fake Twilio.
import assert from "node:assert/strict";
import { ALL_CHANNELS_ENV, type Deployment, withDeployment } from "../_deployment.ts";
import { signedInit, TEST_SECRET } from "../_helpers.ts";
import { channelOf, twilioError } from "../fakes/twilio-api.ts";

const AUTH0_SECRET = "whsec_" + btoa("auth0 relay secret for the tests");
const AUTH0_ENV = { ...ALL_CHANNELS_ENV, AUTH0_HOOK_SECRETS: AUTH0_SECRET };
const PHONE = "+14155550123";

/** The Actions send-phone-message event, as the relay forwards it. */
function actionEvent(options: { type?: string; text?: string; language?: string } = {}) {
  return {
    message_options: {
      action: "second-factor-authentication",
      code: "482913",
      message_type: options.type ?? "sms",
      recipient: PHONE,
      text: options.text ?? "Your verification code is: 482913",
    },
    request: { ip: "203.0.113.9", language: options.language ?? "en" },
    tenant: { id: "acme" },
  };
}

/** The Custom Phone Provider event, as the relay forwards it. */
function providerEvent(notification: Record<string, unknown> = {}) {
  return {
    notification: {
      recipient: PHONE,
      as_text: "Your verification code is 482913",
      as_voice: "Your verification code is 4. 8. 2. 9. 1. 3.",
      code: "482913",
      delivery_method: "text",
      locale: "en_US",
      message_type: "otp_verify",
      ...notification,
    },
    request: { ip: "203.0.113.9" },
    tenant: { id: "acme" },
  };
}

/** The legacy Hook's arguments, as the relay forwards them. */
function hookArguments(type = "sms") {
  return {
    recipient: PHONE,
    text: "Your verification code is: 482913",
    context: {
      factor_type: "second",
      message_type: type,
      action: "authentication",
      language: "en",
      code: "482913",
      ip: "203.0.113.9",
      client_id: "abc",
    },
  };
}

function auth0(
  d: Deployment,
  body: string | Record<string, unknown>,
  options: { secret?: string; id?: string } = {},
) {
  return d.request(
    "/send-sms/auth0",
    signedInit(body, {
      secrets: [options.secret ?? AUTH0_SECRET],
      timestamp: Math.floor(Date.now() / 1000),
      ...(options.id ? { id: options.id } : {}),
    }),
  );
}

interface Auth0Error {
  http_code: number;
  message: string;
  reason: string;
  retryable: boolean;
}

/** The answer's `error`, or undefined for `{}`. */
async function answer(res: Response): Promise<Auth0Error | undefined> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  if (Object.keys(body).length === 0) return undefined;
  assert.deepEqual(Object.keys(body), ["error"]);
  return body.error;
}

Deno.test("auth0: an Actions event (SMS) is delivered in our words and answered {}", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    assert.equal(await answer(await auth0(d, actionEvent())), undefined);
    assert.equal(d.fake.messages.length, 1);
    const sms = d.fake.messages[0]!;
    assert.equal(channelOf(sms), "sms");
    assert.equal(sms.form.get("To"), PHONE);
    assert.match(sms.form.get("Body")!, /482913/);
    assert.doesNotMatch(sms.form.get("Body")!, /Your verification code is: /);
    const all = d.logs.join("\n");
    assert.ok(!all.includes("482913") && !all.includes(PHONE), "no code or number logged");
    const delivered = d.logs.find((l) => l.includes('"delivered"'))!;
    assert.match(delivered, /"shape":"action","messageType":"second-factor-authentication"/);
  });
});

Deno.test("auth0: an Actions voice event is a call reading our script", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    assert.equal(
      await answer(await auth0(d, actionEvent({ type: "VOICE", language: "de" }))),
      undefined,
    );
    assert.equal(channelOf(d.fake.messages[0]!), "voice");
    const twiml = d.fake.messages[0]!.form.get("Twiml")!;
    assert.match(twiml, /<Say[^>]*>4<\/Say><Pause length="1"\/><Say[^>]*>8</);
    assert.match(twiml, /language="de-DE"/);
  });
});

Deno.test("auth0: a Custom Phone Provider code takes the locale (fr_FR) and the method", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    assert.equal(await answer(await auth0(d, providerEvent({ locale: "fr_FR" }))), undefined);
    assert.match(d.fake.messages[0]!.form.get("Body")!, /Votre code/);
    assert.equal(
      await answer(await auth0(d, providerEvent({ delivery_method: "voice", code: "771122" }))),
      undefined,
    );
    assert.equal(channelOf(d.fake.messages[1]!), "voice");
    assert.match(d.fake.messages[1]!.form.get("Twiml")!, />7<\/Say>/);
  });
});

Deno.test("auth0: notices without a code are delivered as Auth0 wrote them", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    const blocked = "Your account was blocked after too many attempts & needs a reset.";
    const notice = {
      message_type: "blocked_account",
      code: undefined,
      as_text: blocked,
      as_voice: "Your account was blocked.",
    };
    assert.equal(await answer(await auth0(d, providerEvent(notice))), undefined);
    assert.equal(d.fake.messages[0]!.form.get("Body"), blocked);
    const call = { ...notice, message_type: "password_breach", delivery_method: "voice" };
    assert.equal(await answer(await auth0(d, providerEvent(call))), undefined);
    const twiml = d.fake.messages[1]!.form.get("Twiml")!;
    // Said, a pause, said again; no digits.
    assert.equal(twiml.match(/Your account was blocked\./g)?.length, 2);
    assert.match(twiml, /<Pause length="2"\/>/);
  });
});

Deno.test("auth0: a notice never falls back to WhatsApp (its templates carry a code)", async () => {
  await withDeployment(
    { respond: (m) => channelOf(m) === "sms" ? twilioError(400, 21606, "Bad from") : undefined },
    { ...AUTH0_ENV, OTP_CHANNELS: "sms,whatsapp,voice" },
    async (d) => {
      const notice = { message_type: "change_password", code: undefined, as_voice: "Changed." };
      assert.equal(await answer(await auth0(d, providerEvent(notice))), undefined);
      assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice"]);
    },
  );
});

Deno.test("auth0: the legacy Hook's arguments are delivered", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    assert.equal(await answer(await auth0(d, hookArguments())), undefined);
    assert.equal(await answer(await auth0(d, hookArguments("voice"))), undefined);
    assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice"]);
  });
});

Deno.test("auth0: OTP_USE_CALLER_TEXT=true sends Auth0's own SMS text", async () => {
  await withDeployment({}, { ...AUTH0_ENV, OTP_USE_CALLER_TEXT: "true" }, async (d) => {
    await answer(await auth0(d, actionEvent()));
    await answer(await auth0(d, hookArguments()));
    await answer(await auth0(d, providerEvent()));
    assert.deepEqual(d.fake.messages.map((m) => m.form.get("Body")), [
      "Your verification code is: 482913",
      "Your verification code is: 482913",
      "Your verification code is 482913",
    ]);
  });
});

Deno.test("auth0: a wrong, missing or Supabase signature is 401 and sends nothing", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    const other = "whsec_" + btoa("some other secret entirely!!");
    assert.equal((await auth0(d, actionEvent(), { secret: other })).status, 401);
    // The Supabase door's secret does not open the Auth0 door.
    assert.equal((await auth0(d, actionEvent(), { secret: TEST_SECRET })).status, 401);
    const unsigned = await d.request("/send-sms/auth0", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(actionEvent()),
    });
    assert.equal(unsigned.status, 401);
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("auth0: the relay's retry (same webhook-id) sends once", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    const id = `msg_${crypto.randomUUID()}`;
    assert.equal(await answer(await auth0(d, actionEvent(), { id })), undefined);
    assert.equal(await answer(await auth0(d, actionEvent(), { id })), undefined);
    assert.equal(d.fake.messages.length, 1);
  });
});

Deno.test("auth0: a provider error that sent nothing is retryable", async () => {
  await withDeployment(
    { respond: () => twilioError(500, 20500, "Internal Server Error") },
    { ...AUTH0_ENV, OTP_CHANNELS: "sms" },
    async (d) => {
      const error = await answer(await auth0(d, actionEvent()));
      assert.deepEqual(error, {
        http_code: 500,
        message: "We couldn't send your code. Please try again.",
        reason: "provider_unavailable",
        retryable: true,
      });
    },
  );
});

Deno.test("auth0: a timeout (the message may have left) is not retryable, inside the deadline", async () => {
  await withDeployment(
    { respond: () => "hang" },
    { ...AUTH0_ENV, OTP_CHANNELS: "sms", AUTH0_DEADLINE_MS: "1200" },
    async (d) => {
      const started = performance.now();
      const error = await answer(await auth0(d, actionEvent()));
      assert.ok(performance.now() - started < 1200 + 200);
      assert.equal(error?.reason, "timeout");
      assert.equal(error?.retryable, false);
    },
  );
});

Deno.test("auth0: our refusals (a limit) are not retryable", async () => {
  await withDeployment({}, { ...AUTH0_ENV, OTP_LIMIT_PER_NUMBER: "1/10m" }, async (d) => {
    assert.equal(await answer(await auth0(d, actionEvent())), undefined);
    const error = await answer(await auth0(d, actionEvent()));
    assert.equal(error?.reason, "limit_number");
    assert.equal(error?.http_code, 429);
    assert.equal(error?.retryable, false);
    assert.equal(d.fake.messages.length, 1);
  });
});

Deno.test("auth0: invalid payloads get the error object, not retryable, never a 5xx", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    const bodies: (string | Record<string, unknown>)[] = [
      "not json",
      {},
      "[]",
      { message_options: { ...actionEvent().message_options, message_type: "fax" } },
      { message_options: { ...actionEvent().message_options, code: "12" } },
      // A code message without its code.
      providerEvent({ code: undefined }),
      // A notice by voice without the words to say.
      providerEvent({
        message_type: "blocked_account",
        code: undefined,
        as_voice: undefined,
        delivery_method: "voice",
      }),
      { ...hookArguments(), context: { message_type: "sms" } },
    ];
    for (const body of bodies) {
      const error = await answer(await auth0(d, body));
      assert.equal(error?.reason, "invalid_payload", JSON.stringify(body).slice(0, 60));
      assert.equal(error?.retryable, false);
    }
    const bad = await answer(await auth0(d, { ...hookArguments(), recipient: "+1 12" }));
    assert.equal(bad?.reason, "invalid_number");
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("auth0: without AUTH0_HOOK_SECRETS the door does not exist", async () => {
  await withDeployment({}, {}, async (d) => {
    assert.equal((await auth0(d, actionEvent())).status, 404);
  });
});

Deno.test("auth0: fields a delivery can do without never cost the code", async () => {
  await withDeployment({}, { ...AUTH0_ENV, OTP_USE_CALLER_TEXT: "true" }, async (d) => {
    const action = actionEvent({ text: "" });
    (action.request as Record<string, unknown>).language = "fr-FR,fr;q=0.9,".repeat(40);
    assert.equal(await answer(await auth0(d, action)), undefined);
    // An empty Auth0 text: our words.
    assert.match(d.fake.messages[0]!.form.get("Body")!, /482913/);
    const long = providerEvent({ as_text: "y".repeat(3000), locale: 7 });
    assert.equal(await answer(await auth0(d, long)), undefined);
    assert.doesNotMatch(d.fake.messages[1]!.form.get("Body")!, /yyyy/);
    // A notice whose code is an empty string.
    const notice = providerEvent({ message_type: "password_breach", code: "", as_text: "Reset." });
    assert.equal(await answer(await auth0(d, notice)), undefined);
    assert.equal(d.fake.messages[2]!.form.get("Body"), "Reset.");
    // A notice too long to send as written is refused, not cut.
    const tooLong = providerEvent({
      message_type: "change_password",
      code: "",
      as_text: "z".repeat(2000),
    });
    assert.equal((await answer(await auth0(d, tooLong)))?.reason, "invalid_payload");
  });
});

Deno.test("auth0: the delivery line says which shape and message type", async () => {
  await withDeployment({}, AUTH0_ENV, async (d) => {
    await answer(await auth0(d, providerEvent()));
    const delivered = d.logs.find((l) => l.includes('"delivered"'))!;
    assert.match(delivered, /"shape":"custom_provider","messageType":"otp_verify"/);
  });
});
