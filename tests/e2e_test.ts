// The whole path as deployed: environment → app → Supabase door → real twilio SDK → local fake of
// Twilio's REST API.
import assert from "node:assert/strict";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { withDeployment } from "./_deployment.ts";
import { HEALTH_AUTH, HEALTH_TOKEN, supabasePayload, TEST_SECRET } from "./_helpers.ts";
import { twilioError } from "./fakes/twilio-api.ts";

Deno.test("e2e: a signed hook reaches Twilio and Auth gets {}", async () => {
  await withDeployment({}, {}, async ({ post, fake, logs }) => {
    const res = await post(supabasePayload({ phone: "447400123456", otp: "482913" }));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "{}");
    assert.equal(fake.messages.length, 1);
    assert.equal(fake.messages[0]!.form.get("To"), "+447400123456");
    assert.match(fake.messages[0]!.form.get("Body") ?? "", /482913/);
    const delivered = logs.find((l) => l.includes(`"delivered"`));
    assert.ok(delivered);
    assert.match(delivered, /"id":"SM[0-9a-f]{32}"/);
    // Every SMS's language, encoding and segment count are logged.
    const [attempt] = JSON.parse(delivered).attempts;
    assert.deepEqual(
      [attempt.language, attempt.template, attempt.encoding, attempt.segments],
      ["en", "built-in", "GSM-7", 1],
    );
    assert.ok(!logs.join("").includes("482913"));
  });
});

Deno.test("e2e: Twilio 21211 reaches the user as http_code 400", async () => {
  await withDeployment(
    { respond: () => twilioError(400, 21211, "Invalid 'To' Phone Number") },
    {},
    async ({ post }) => {
      const body = await (await post(supabasePayload())).json();
      assert.equal(body.error.http_code, 400);
      assert.match(body.error.message, /not valid/);
    },
  );
});

Deno.test("e2e: Twilio 20003 is a generic 500 for the user and a loud log for the owner", async () => {
  await withDeployment({}, { TWILIO_AUTH_TOKEN: "e".repeat(32) }, async ({ post, logs }) => {
    const body = await (await post(supabasePayload())).json();
    assert.equal(body.error.http_code, 500);
    assert.doesNotMatch(body.error.message, /twilio|20003|auth/i);
    const line = logs.find((l) => l.includes(`"delivery_failed"`));
    assert.ok(line);
    assert.match(line, /"level":"error"/);
    assert.match(line, /"reason":"provider_config"/);
  });
});

Deno.test("e2e: Twilio hanging: the answer comes within the 4.5 s budget, as a failure", async () => {
  await withDeployment({ respond: () => "hang" }, {}, async ({ post }) => {
    const started = performance.now();
    const res = await post(supabasePayload());
    const elapsed = performance.now() - started;
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.error.http_code, 500);
    assert.ok(elapsed < 4500, `answered after ${elapsed} ms`);
  });
});

Deno.test("e2e: health lists exactly the channels whose settings are present", async () => {
  const token = "a".repeat(32);
  const boot = appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    TWILIO_ACCOUNT_SID: "AC" + "1".repeat(32),
    TWILIO_AUTH_TOKEN: token,
    TWILIO_SMS_FROM: "+15005550006",
    TWILIO_VOICE_FROM: "+15005550007",
    OTP_HEALTH_TOKEN: HEALTH_TOKEN,
  }, { write: () => {} });
  const body = await (await boot.app.request("/send-sms/health", { headers: HEALTH_AUTH }))
    .json();
  assert.deepEqual(body.channels, { sms: true, whatsapp: false, voice: true });
  assert.equal(body.provider, "twilio");
  assert.ok(!JSON.stringify(body).includes(token));
});
