// The whole path as deployed: environment → app → Supabase door → real twilio SDK → local fake of
// Twilio's REST API.
import assert from "node:assert/strict";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { captureLogs, signedInit, supabasePayload, TEST_SECRET } from "./_helpers.ts";
import { type FakeTwilioOptions, startFakeTwilio, twilioError } from "./fakes/twilio-api.ts";

async function withDeployment(
  fakeOptions: FakeTwilioOptions,
  env: Record<string, string>,
  fn: (
    post: (body: Record<string, unknown>) => Promise<Response>,
    fake: ReturnType<typeof startFakeTwilio>,
    logs: string[],
  ) => Promise<void>,
): Promise<void> {
  const fake = startFakeTwilio(fakeOptions);
  const logs = captureLogs();
  try {
    const boot = appFromEnv({
      SB_REGION: "eu-west-1",
      SEND_SMS_HOOK_SECRETS: TEST_SECRET,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_MESSAGING_SERVICE_SID: "MG" + "b".repeat(32),
      TWILIO_API_BASE_URL: fake.baseUrl,
      ...env,
    }, { write: logs.write });
    assert.ok("config" in boot, "configuration is valid");
    const post = (body: Record<string, unknown>) =>
      Promise.resolve(boot.app.request(
        "/send-sms",
        signedInit(body, {
          timestamp: Math.floor(Date.now() / 1000),
        }),
      ));
    await fn(post, fake, logs.lines);
  } finally {
    await fake.close();
  }
}

Deno.test("e2e: a signed hook reaches Twilio and Auth gets {}", async () => {
  await withDeployment({}, {}, async (post, fake, logs) => {
    const res = await post(supabasePayload({ phone: "447400123456", otp: "482913" }));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "{}");
    assert.equal(fake.messages.length, 1);
    assert.equal(fake.messages[0]!.form.get("To"), "+447400123456");
    assert.match(fake.messages[0]!.form.get("Body") ?? "", /482913/);
    const delivered = logs.find((l) => l.includes(`"delivered"`));
    assert.ok(delivered);
    assert.match(delivered, /"id":"SM[0-9a-f]{32}"/);
    assert.ok(!logs.join("").includes("482913"));
  });
});

Deno.test("e2e: Twilio 21211 reaches the user as http_code 400", async () => {
  await withDeployment(
    { respond: () => twilioError(400, 21211, "Invalid 'To' Phone Number") },
    {},
    async (post) => {
      const body = await (await post(supabasePayload())).json();
      assert.equal(body.error.http_code, 400);
      assert.match(body.error.message, /not valid/);
    },
  );
});

Deno.test("e2e: Twilio 20003 is a generic 500 for the user and a loud log for the owner", async () => {
  await withDeployment({}, { TWILIO_AUTH_TOKEN: "e".repeat(32) }, async (post, _fake, logs) => {
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
  await withDeployment({ respond: () => "hang" }, {}, async (post) => {
    const started = performance.now();
    const res = await post(supabasePayload());
    const elapsed = performance.now() - started;
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.error.http_code, 500);
    assert.ok(elapsed < 4500, `answered after ${elapsed} ms`);
  });
});
