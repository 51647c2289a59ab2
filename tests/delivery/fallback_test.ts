// Fallback between channels through the real twilio SDK against the local fake Twilio API.
import assert from "node:assert/strict";
import { ALL_CHANNELS_ENV, withDeployment } from "../_deployment.ts";
import { supabasePayload } from "../_helpers.ts";
import { channelOf, type ReceivedMessage, twilioError } from "../fakes/twilio-api.ts";

const US_MOBILE = "16502530000";
const BR_MOBILE = "5511987654321";
const GB_LANDLINE = "442079460000";

/** Fails the given channels with a Twilio error; the others behave like Twilio. */
function failing(
  errors: Partial<Record<"sms" | "whatsapp" | "voice", Response | "hang">>,
) {
  return (m: ReceivedMessage) => {
    const answer = errors[channelOf(m)];
    return answer instanceof Response ? answer.clone() : answer;
  };
}

/** The delivery's log line, parsed. */
function deliveryLine(logs: string[]): Record<string, unknown> {
  const line = logs.find((l) =>
    l.includes(`"event":"delivered"`) || l.includes(`"event":"delivery_failed"`)
  );
  assert.ok(line, "one line per delivery");
  return JSON.parse(line);
}

Deno.test("fallback: SMS 21614 (not a mobile) → voice call", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(400, 21614, "'To' number is not a valid mobile number"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake, logs }) => {
      const res = await post(supabasePayload({ phone: US_MOBILE, otp: "135790" }));
      assert.equal(await res.text(), "{}");
      assert.deepEqual(fake.messages.map(channelOf), ["sms", "voice"]);
      const call = fake.messages[1]!.form;
      assert.equal(call.get("To"), "+16502530000");
      assert.equal(call.get("From"), ALL_CHANNELS_ENV.TWILIO_VOICE_FROM);
      assert.ok(call.get("Twiml")!.includes(">1</Say>"));
      const line = deliveryLine(logs);
      assert.equal(line.channel, "voice");
      assert.match(String(line.id), /^CA[0-9a-f]{32}$/);
      const attempts = line.attempts as Record<string, unknown>[];
      assert.deepEqual(attempts.map((a) => [a.channel, a.ok, a.reason, a.providerCode]), [
        ["sms", false, "unreachable_number", 21614],
        ["voice", true, undefined, undefined],
      ]);
      assert.ok(!logs.join("\n").includes("135790"), "no code in logs");
      assert.ok(!logs.join("\n").includes(US_MOBILE), "no full number in logs");
    },
  );
});

Deno.test("fallback: WhatsApp refused (63007) → SMS", async () => {
  await withDeployment(
    { respond: failing({ whatsapp: twilioError(400, 63007, "Channel not found") }) },
    { ...ALL_CHANNELS_ENV, OTP_CHANNEL_RULES: "BR=whatsapp,sms" },
    async ({ post, fake }) => {
      const res = await post(supabasePayload({ phone: BR_MOBILE, otp: "246802" }));
      assert.equal(await res.text(), "{}");
      assert.deepEqual(fake.messages.map(channelOf), ["whatsapp", "sms"]);
      const wa = fake.messages[0]!.form;
      assert.equal(wa.get("To"), "whatsapp:+5511987654321");
      assert.equal(wa.get("From"), "whatsapp:+15005550006");
      assert.equal(wa.get("ContentSid"), ALL_CHANNELS_ENV.TWILIO_WHATSAPP_CONTENT_SID);
      assert.deepEqual(JSON.parse(wa.get("ContentVariables")!), { "1": "246802" });
      assert.equal(wa.has("Body"), false, "a free-form body fails outside a session");
      assert.match(fake.messages[1]!.form.get("Body")!, /246802/);
    },
  );
});

Deno.test("fallback: SMS hangs → voice succeeds, and Auth is answered inside the deadline", async () => {
  await withDeployment(
    { respond: failing({ sms: "hang" }) },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake, logs }) => {
      const started = performance.now();
      const res = await post(supabasePayload({ phone: US_MOBILE }));
      const elapsed = performance.now() - started;
      assert.equal(await res.text(), "{}");
      assert.ok(elapsed < 4000, `answered after ${elapsed} ms`);
      assert.ok(elapsed >= 1400, "the SMS attempt had its full 1500 ms");
      assert.deepEqual(fake.messages.map(channelOf), ["sms", "voice"]);
      const attempts = deliveryLine(logs).attempts as Record<string, unknown>[];
      assert.deepEqual(attempts.map((a) => [a.channel, a.reason]), [
        ["sms", "timeout"],
        ["voice", undefined],
      ]);
    },
  );
});

Deno.test("fallback: every channel fails → the error object, 500", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(500, 20500, "Internal Server Error"),
        whatsapp: twilioError(503, 20503, "Service Unavailable"),
        voice: twilioError(500, 20500, "Internal Server Error"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "whatsapp,sms,voice" },
    async ({ post, fake }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 500);
      assert.deepEqual(fake.messages.map(channelOf), ["whatsapp", "sms", "voice"]);
    },
  );
});

Deno.test("fallback: 21211 (invalid number) stops without trying other channels", async () => {
  await withDeployment(
    { respond: failing({ sms: twilioError(400, 21211, "Invalid 'To' Phone Number") }) },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,whatsapp,voice" },
    async ({ post, fake }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 400);
      assert.deepEqual(fake.messages.map(channelOf), ["sms"]);
    },
  );
});

Deno.test("fallback: rate limited on every channel → 429", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(429, 20429, "Too Many Requests"),
        voice: twilioError(429, 20429, "Too Many Requests"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 429);
      assert.equal(fake.messages.length, 2);
    },
  );
});

Deno.test("fallback: rate limited on one channel, down on the other → 500", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(429, 20429, "Too Many Requests"),
        voice: twilioError(503, 20503, "Service Unavailable"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 500);
    },
  );
});

Deno.test("fallback: opted out of SMS (21610) → voice", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake }) => {
      assert.equal(await (await post(supabasePayload({ phone: US_MOBILE }))).text(), "{}");
      assert.deepEqual(fake.messages.map(channelOf), ["sms", "voice"]);
    },
  );
});

Deno.test("fallback: opted out with no other channel → the user is told why (400)", async () => {
  await withDeployment(
    {
      respond: failing({
        sms: twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
      }),
    },
    {},
    async ({ post }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 400);
      assert.match(body.error.message, /opted out/);
    },
  );
});

Deno.test("fallback: wrong credentials (20003) stop every Twilio channel, loudly", async () => {
  await withDeployment(
    {},
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice", TWILIO_AUTH_TOKEN: "0".repeat(32) },
    async ({ post, fake, logs }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 500);
      // The fake refuses before recording, so nothing was recorded; one request was made.
      assert.equal(fake.messages.length, 0);
      const attempts = deliveryLine(logs).attempts as Record<string, unknown>[];
      assert.equal(attempts.length, 1, "the same credentials would fail for voice too");
      assert.ok(logs.some((l) => l.includes(`"provider_credentials_rejected"`)));
    },
  );
});

Deno.test("fallback: a landline gets a call, never an SMS", async () => {
  await withDeployment(
    {},
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake }) => {
      assert.equal(await (await post(supabasePayload({ phone: GB_LANDLINE }))).text(), "{}");
      assert.deepEqual(fake.messages.map(channelOf), ["voice"]);
      // The UK voice reads it.
      assert.ok(fake.messages[0]!.form.get("Twiml")!.includes(`voice="Polly.Amy"`));
    },
  );
});

Deno.test("fallback: a landline with no voice configured → 400, nothing sent", async () => {
  await withDeployment({}, {}, async ({ post, fake }) => {
    const body = await (await post(supabasePayload({ phone: GB_LANDLINE }))).json();
    assert.equal(body.error.http_code, 400);
    assert.match(body.error.message, /can't receive text messages/);
    assert.equal(fake.messages.length, 0);
  });
});

Deno.test("fallback: the user's language from user_metadata reaches the call", async () => {
  await withDeployment(
    {},
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "voice" },
    async ({ post, fake }) => {
      const res = await post(
        supabasePayload({ phone: US_MOBILE, userMetadata: { locale: "pt_BR" } }),
      );
      assert.equal(await res.text(), "{}");
      const twiml = fake.messages[0]!.form.get("Twiml")!;
      assert.ok(twiml.includes(`language="pt-BR" voice="Polly.Camila"`));
      assert.ok(twiml.includes("Seu código de verificação é"));
    },
  );
});

Deno.test("fallback: app_metadata puts WhatsApp first for one user", async () => {
  await withDeployment({}, ALL_CHANNELS_ENV, async ({ post, fake }) => {
    const payload = supabasePayload({ phone: US_MOBILE });
    (payload.user as Record<string, unknown>).app_metadata = { otp_channel: "whatsapp" };
    assert.equal(await (await post(payload)).text(), "{}");
    assert.deepEqual(fake.messages.map(channelOf), ["whatsapp"]);
  });
});

Deno.test("fallback: WhatsApp 404/20404 is that channel's problem: SMS is still tried", async () => {
  await withDeployment(
    {
      respond: failing({
        whatsapp: twilioError(404, 20404, "The requested resource was not found"),
      }),
    },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "whatsapp,sms" },
    async ({ post, fake }) => {
      assert.equal(await (await post(supabasePayload({ phone: US_MOBILE }))).text(), "{}");
      assert.deepEqual(fake.messages.map(channelOf), ["whatsapp", "sms"]);
    },
  );
});

Deno.test("fallback: a 201 without a SID is not success, and no second channel is tried", async () => {
  await withDeployment(
    { respond: failing({ sms: Response.json({ status: "queued" }, { status: 201 }) }) },
    { ...ALL_CHANNELS_ENV, OTP_CHANNELS: "sms,voice" },
    async ({ post, fake }) => {
      const body = await (await post(supabasePayload({ phone: US_MOBILE }))).json();
      assert.equal(body.error.http_code, 500);
      assert.deepEqual(fake.messages.map(channelOf), ["sms"], "the SMS may be queued: no call");
    },
  );
});
