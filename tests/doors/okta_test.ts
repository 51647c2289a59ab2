// The Okta telephony inline hook, end to end: seed sample → door → real twilio SDK → fake Twilio.
import assert from "node:assert/strict";
import { ALL_CHANNELS_ENV, type Deployment, withDeployment } from "../_deployment.ts";
import { channelOf, twilioError } from "../fakes/twilio-api.ts";

const SECRET = "okta-shared-secret-0123456789";
const OKTA_ENV = { ...ALL_CHANNELS_ENV, OKTA_HOOK_AUTH_SECRET: SECRET };

/** The request of Okta's documentation (seeds/okta-telephony-inline-hook.md). */
function seedSample(
  overrides: { phoneNumber?: string; deliveryChannel?: string; locale?: string; eventId?: string } =
    {},
) {
  return {
    eventId: overrides.eventId ?? crypto.randomUUID(),
    eventTime: "2022-01-28T21:43:40.000Z",
    eventType: "com.okta.telephony.provider",
    eventTypeVersion: "1.0",
    contentType: "application/json",
    cloudEventVersion: "0.1",
    source: "https://example.okta.com/api/v1/inlineHooks/calz6lVQA77AwFeEe0g3",
    requestType: "com.okta.user.telephony.pre-enrollment",
    data: {
      context: {
        request: {
          id: "reqRgSk8IBBRhuo0YdlEDTmUw",
          method: "POST",
          url: {
            value: "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview",
          },
          ipAddress: "127.0.0.1",
        },
      },
      userProfile: {
        firstName: "test",
        lastName: "user",
        login: "test.user@okta.com",
        userId: "00uyxxSknGtK8022w0g3",
      },
      messageProfile: {
        msgTemplate: "(HOOK)Your code is 11111",
        phoneNumber: overrides.phoneNumber ?? "16502530000",
        otpExpires: "2022-01-28T21:48:34.321Z",
        deliveryChannel: overrides.deliveryChannel ?? "SMS",
        otpCode: "11111",
        locale: overrides.locale ?? "EN-US",
      },
    },
  };
}

function okta(
  d: Deployment,
  body: unknown,
  headers: Record<string, string> = { authorization: SECRET },
) {
  return d.request("/send-sms/okta", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Asserts Okta's command answer and returns its one value. */
async function commandValue(res: Response) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = await res.json();
  assert.equal(body.commands.length, 1);
  assert.equal(body.commands[0].type, "com.okta.telephony.action");
  return body.commands[0].value[0] as {
    status: string;
    provider: string;
    transactionId: string;
    transactionMetadata: string;
  };
}

Deno.test("okta: the seed sample (SMS, number without +) is delivered and answered SUCCESSFUL", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const value = await commandValue(await okta(d, seedSample()));
    assert.equal(value.status, "SUCCESSFUL");
    assert.equal(value.provider, "twilio");
    assert.match(value.transactionId, /^SM[0-9a-f]{32}$/);
    assert.match(value.transactionMetadata, /channel=sms; attempts=1; duration=\d+ms/);
    assert.equal(d.fake.messages.length, 1);
    assert.equal(d.fake.messages[0]!.form.get("To"), "+16502530000");
    // Our words by default, not Okta's msgTemplate.
    assert.doesNotMatch(d.fake.messages[0]!.form.get("Body")!, /\(HOOK\)/);
    assert.match(d.fake.messages[0]!.form.get("Body")!, /11111/);
    const all = d.logs.join("\n");
    assert.ok(!all.includes("11111") && !all.includes("16502530000"), "no code or number logged");
  });
});

Deno.test("okta: deliveryChannel in every casing: sms is SMS, anything else a call", async () => {
  const cases: [string, "sms" | "voice"][] = [
    ["SMS", "sms"],
    ["sms", "sms"],
    ["Sms", "sms"],
    ["CALL", "voice"],
    ["Voice", "voice"],
    ["voice call", "voice"],
    ["call", "voice"],
  ];
  for (const [deliveryChannel, expected] of cases) {
    await withDeployment({}, OKTA_ENV, async (d) => {
      const value = await commandValue(await okta(d, seedSample({ deliveryChannel })));
      assert.equal(value.status, "SUCCESSFUL", deliveryChannel);
      assert.deepEqual(d.fake.messages.map(channelOf), [expected], deliveryChannel);
      if (expected === "voice") assert.match(value.transactionId, /^CA[0-9a-f]{32}$/);
    });
  }
});

Deno.test("okta: the verbatim seed number (+98 76543210 is impossible) gets the error object", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const res = await okta(d, seedSample({ phoneNumber: "9876543210" }));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.match(body.error.errorSummary, /not valid/);
    assert.deepEqual(Object.keys(body.error.errorCauses[0]).sort(), [
      "errorSummary",
      "location",
      "reason",
    ]);
    assert.equal(body.error.errorCauses[0].reason, "invalid_number");
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("okta: a missing or wrong auth header is 401 and sends nothing", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "wrong" },
      { authorization: `${SECRET}x` },
      { "x-other": SECRET },
    ];
    for (const headers of attempts) {
      const res = await okta(d, seedSample(), headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
    }
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("okta: a custom header name (OKTA_HOOK_AUTH_HEADER)", async () => {
  await withDeployment({}, { ...OKTA_ENV, OKTA_HOOK_AUTH_HEADER: "X-Okta-Secret" }, async (d) => {
    assert.equal((await okta(d, seedSample())).status, 401, "Authorization is not it any more");
    const value = await commandValue(await okta(d, seedSample(), { "x-okta-secret": SECRET }));
    assert.equal(value.status, "SUCCESSFUL");
  });
});

Deno.test("okta: Okta's retry (same eventId) sends once", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const sample = seedSample();
    const first = await commandValue(await okta(d, sample));
    const retry = await commandValue(await okta(d, sample));
    assert.equal(first.status, "SUCCESSFUL");
    assert.deepEqual([retry.status, retry.transactionId], [first.status, first.transactionId]);
    assert.equal(d.fake.messages.length, 1);
  });
});

Deno.test("okta: a provider failure is a FAILED command with the reason", async () => {
  await withDeployment(
    { respond: () => twilioError(500, 20500, "Internal Server Error") },
    { ...OKTA_ENV, OTP_CHANNELS: "sms" },
    async (d) => {
      const value = await commandValue(await okta(d, seedSample()));
      assert.equal(value.status, "FAILED");
      assert.equal(value.provider, "twilio");
      assert.match(value.transactionMetadata, /reason=provider_unavailable/);
    },
  );
});

Deno.test("issue 14 (Okta refusals): a blocked country or a limit is PENDING, so Okta sends no code in our place", async () => {
  // Okta's reference: an error object makes Okta send the OTP through its own telephony, and a
  // failed delivery goes to its fallback provider. A refusal must hold: PENDING, nothing sent.
  await withDeployment({}, { ...OKTA_ENV, OTP_BLOCKED_COUNTRIES: "US" }, async (d) => {
    const value = await commandValue(await okta(d, seedSample()));
    assert.equal(value.status, "PENDING");
    assert.equal(value.provider, "otp-relay");
    assert.equal(value.transactionMetadata, "refused=country_not_allowed");
    assert.equal(d.fake.messages.length, 0);
  });
  await withDeployment({}, { ...OKTA_ENV, OTP_LIMIT_PER_NUMBER: "1/1h" }, async (d) => {
    assert.equal((await commandValue(await okta(d, seedSample()))).status, "SUCCESSFUL");
    const again = { ...seedSample(), eventId: crypto.randomUUID() };
    const value = await commandValue(await okta(d, again));
    assert.equal(value.status, "PENDING");
    assert.equal(value.transactionMetadata, "refused=limit_number");
    assert.equal(d.fake.messages.length, 1);
  });
});

Deno.test("okta: invalid payloads are answered with the error object, never a 5xx", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const broken = seedSample();
    (broken.data.messageProfile as Record<string, unknown>).otpCode = "12";
    for (
      const body of [
        "not json",
        "{}",
        JSON.stringify({ ...seedSample(), eventType: "other" }),
        JSON.stringify(broken),
      ]
    ) {
      const res = await okta(d, body);
      assert.equal(res.status, 200);
      const json = await res.json();
      assert.equal(json.error.errorCauses[0].reason, "invalid_payload", body.slice(0, 40));
    }
    assert.equal(d.fake.messages.length, 0);
  });
});

Deno.test("okta: Twilio hanging → the answer comes inside Okta's 2.5 s budget", async () => {
  await withDeployment(
    { respond: () => "hang" },
    { ...OKTA_ENV, OTP_CHANNELS: "sms" },
    async (d) => {
      const started = performance.now();
      const value = await commandValue(await okta(d, seedSample()));
      const elapsed = performance.now() - started;
      // The SMS may have left: PENDING ("couldn't confirm"), not FAILED, which could make Okta
      // send a second code through its own telephony.
      assert.equal(value.status, "PENDING");
      assert.match(value.transactionMetadata, /reason=timeout/);
      assert.ok(elapsed < 2500, `answered after ${elapsed} ms`);
    },
  );
});

Deno.test("okta: the locale picks the words (FR → French call)", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    await commandValue(await okta(d, seedSample({ deliveryChannel: "CALL", locale: "FR" })));
    assert.match(d.fake.messages[0]!.form.get("Twiml")!, /Votre code de vérification/);
  });
});

Deno.test("okta: OTP_USE_CALLER_TEXT=true sends Okta's msgTemplate", async () => {
  await withDeployment({}, { ...OKTA_ENV, OTP_USE_CALLER_TEXT: "true" }, async (d) => {
    await commandValue(await okta(d, seedSample()));
    assert.equal(d.fake.messages[0]!.form.get("Body"), "(HOOK)Your code is 11111");
  });
});

Deno.test("okta: without OKTA_HOOK_AUTH_SECRET the door does not exist", async () => {
  await withDeployment({}, {}, async (d) => {
    assert.equal((await okta(d, seedSample())).status, 404);
  });
});

Deno.test("okta: an Okta-only deployment (no Supabase secret) closes the Supabase door", async () => {
  const health = { OTP_HEALTH_TOKEN: "okta-test-health-token-0123456789abcdef" };
  await withDeployment({}, { ...OKTA_ENV, ...health, SEND_SMS_HOOK_SECRETS: "" }, async (d) => {
    assert.equal((await commandValue(await okta(d, seedSample()))).status, "SUCCESSFUL");
    assert.equal((await d.post({ user: {}, sms: { otp: "123456" } })).status, 404);
    const details = await (await d.request("/send-sms/health", {
      headers: { authorization: `Bearer ${health.OTP_HEALTH_TOKEN}` },
    })).json();
    assert.deepEqual(details.doors, ["okta"]);
  });
});

Deno.test("okta: SMS hanging with sms,voice → the call goes out, SUCCESSFUL inside 2.5 s", async () => {
  await withDeployment(
    { respond: (m) => channelOf(m) === "sms" ? "hang" : undefined },
    { ...OKTA_ENV, OTP_CHANNELS: "sms,voice" },
    async (d) => {
      const started = performance.now();
      const value = await commandValue(await okta(d, seedSample()));
      assert.ok(performance.now() - started < 2500);
      assert.equal(value.status, "SUCCESSFUL");
      assert.match(value.transactionMetadata, /channel=voice; attempts=2/);
      assert.deepEqual(d.fake.messages.map(channelOf), ["sms", "voice"]);
    },
  );
});

Deno.test("okta: two copies of one eventId at once send once and answer alike", async () => {
  await withDeployment(
    { respond: () => new Promise((r) => setTimeout(() => r(undefined), 300)) },
    OKTA_ENV,
    async (d) => {
      const sample = seedSample();
      const [a, b] = await Promise.all([okta(d, sample), okta(d, sample)]);
      const [first, second] = [await commandValue(a), await commandValue(b)];
      assert.equal(first.status, "SUCCESSFUL");
      assert.deepEqual(second, first);
      assert.equal(d.fake.messages.length, 1);
    },
  );
});

Deno.test("okta: a retried eventId replays the first answer word for word (duration regression)", async () => {
  await withDeployment(
    { respond: () => new Promise((r) => setTimeout(() => r(undefined), 20)) },
    OKTA_ENV,
    async (d) => {
      const sample = seedSample();
      const first = await commandValue(await okta(d, sample));
      await new Promise((r) => setTimeout(r, 30));
      const second = await commandValue(await okta(d, sample));
      assert.equal(first.status, "SUCCESSFUL");
      assert.match(first.transactionMetadata, /duration=\d+ms/);
      assert.deepEqual(second, first);
      assert.equal(d.fake.messages.length, 1);
    },
  );
});

Deno.test("okta: the secret never appears in logs or answers; requestType is on the delivery line", async () => {
  await withDeployment({}, OKTA_ENV, async (d) => {
    const answers = [
      await (await okta(d, seedSample())).text(),
      await (await okta(d, seedSample(), { authorization: "wrong" })).text(),
      await (await okta(d, "{}")).text(),
    ].join("\n");
    const all = answers + d.logs.join("\n");
    assert.ok(!all.includes(SECRET), "secret leaked");
    const delivered = d.logs.find((l) => l.includes('"delivered"'))!;
    assert.match(delivered, /"requestType":"com\.okta\.user\.telephony\.pre-enrollment"/);
  });
});

Deno.test("okta: fields a delivery can do without never cost the code", async () => {
  await withDeployment({}, { ...OKTA_ENV, OTP_USE_CALLER_TEXT: "true" }, async (d) => {
    const sample = seedSample();
    const profile = sample.data.messageProfile as Record<string, unknown>;
    profile.locale = 42;
    profile.msgTemplate = "x".repeat(5000); // too long to send as it is: our words instead
    (sample.data as Record<string, unknown>).context = "not an object";
    assert.equal((await commandValue(await okta(d, sample))).status, "SUCCESSFUL");
    assert.match(d.fake.messages[0]!.form.get("Body")!, /11111/);
    assert.ok(!d.fake.messages[0]!.form.get("Body")!.includes("xxxx"));
  });
});
