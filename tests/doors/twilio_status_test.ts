// Twilio status callbacks: signed with X-Twilio-Signature, recorded on the delivery log.
import assert from "node:assert/strict";
import twilio from "twilio";
import { ALL_CHANNELS_ENV, type Deployment, withDeployment } from "../_deployment.ts";
import { randomMobile, supabasePayload } from "../_helpers.ts";
import { dbTest, testDatabase } from "../_postgres.ts";
import { channelOf, FAKE_AUTH_TOKEN } from "../fakes/twilio-api.ts";

const PUBLIC_URL = "https://project-ref.supabase.co/functions/v1/send-sms";
const CALLBACK_URL = `${PUBLIC_URL}/twilio/status`;

/** Posts a status callback signed as Twilio signs it (or with `signature` when given). */
function callback(d: Deployment, params: Record<string, string>, signature?: string | null) {
  const sig = signature === undefined
    ? twilio.getExpectedTwilioSignature(FAKE_AUTH_TOKEN, CALLBACK_URL, params)
    : signature;
  return d.request("/send-sms/twilio/status", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(sig === null ? {} : { "x-twilio-signature": sig }),
    },
    body: new URLSearchParams(params).toString(),
  });
}

async function row(sid: string) {
  const sql = (await testDatabase()).client();
  try {
    const [r] = await sql`select delivery_status, delivery_error_code, channel
      from otp_relay.deliveries where provider_id = ${sid}`;
    return r;
  } finally {
    await sql.end();
  }
}

/** Delivers one code and returns the SID Twilio (the fake) gave it. */
async function deliverOne(d: Deployment): Promise<string> {
  assert.equal(await (await d.post(supabasePayload({ phone: randomMobile() }))).text(), "{}");
  const line = d.logs.findLast((l) => l.includes(`"event":"delivered"`));
  assert.ok(line);
  return JSON.parse(line).id;
}

dbTest("status callback: a signed 'undelivered 30007' is recorded on the delivery", async () => {
  const db = await testDatabase();
  await withDeployment({}, { DATABASE_URL: db.url, OTP_PUBLIC_URL: PUBLIC_URL }, async (d) => {
    const sid = await deliverOne(d);
    assert.equal(d.fake.messages[0]!.form.get("StatusCallback"), CALLBACK_URL);
    const params = {
      AccountSid: d.fake.accountSid,
      MessageSid: sid,
      MessageStatus: "undelivered",
      ErrorCode: "30007",
      To: "+447400000000",
    };
    const res = await callback(d, params);
    assert.equal(res.status, 204);
    assert.deepEqual({ ...await row(sid) }, {
      delivery_status: "undelivered",
      delivery_error_code: 30007,
      channel: "sms",
    });
    assert.ok(
      d.logs.some((l) => l.includes(`"delivery_status"`) && l.includes(`"errorCode":30007`)),
    );
    // A late 'sent' never overwrites the final status.
    assert.equal(
      (await callback(d, { ...params, MessageStatus: "sent", ErrorCode: "" })).status,
      204,
    );
    assert.equal((await row(sid))!.delivery_status, "undelivered");
  });
});

dbTest("status callback: bad, missing or wrong-URL signatures are refused with 403", async () => {
  const db = await testDatabase();
  await withDeployment({}, { DATABASE_URL: db.url, OTP_PUBLIC_URL: PUBLIC_URL }, async (d) => {
    const sid = await deliverOne(d);
    const params = { MessageSid: sid, MessageStatus: "delivered" };
    const forged = [
      twilio.getExpectedTwilioSignature("0".repeat(32), CALLBACK_URL, params), // wrong token
      twilio.getExpectedTwilioSignature(FAKE_AUTH_TOKEN, "https://evil.test/x", params), // URL
      "bm90IGEgc2lnbmF0dXJl",
      null, // no header at all
    ];
    for (const signature of forged) {
      const res = await callback(d, params, signature);
      assert.equal(res.status, 403, String(signature));
    }
    // Tampered parameters under a valid signature.
    const signed = twilio.getExpectedTwilioSignature(FAKE_AUTH_TOKEN, CALLBACK_URL, params);
    assert.equal((await callback(d, { ...params, MessageStatus: "failed" }, signed)).status, 403);
    assert.equal((await row(sid))!.delivery_status, null, "nothing recorded");
  });
});

dbTest("status callback: a call's completion is recorded too", async () => {
  const db = await testDatabase();
  await withDeployment(
    {},
    {
      ...ALL_CHANNELS_ENV,
      OTP_CHANNELS: "voice",
      DATABASE_URL: db.url,
      OTP_PUBLIC_URL: PUBLIC_URL,
    },
    async (d) => {
      const sid = await deliverOne(d);
      assert.equal(channelOf(d.fake.messages[0]!), "voice");
      assert.equal(d.fake.messages[0]!.form.get("StatusCallback"), CALLBACK_URL);
      const res = await callback(d, { CallSid: sid, CallStatus: "completed" });
      assert.equal(res.status, 204);
      assert.equal((await row(sid))!.delivery_status, "completed");
    },
  );
});

dbTest("status callback: a signed request that is not a status is a 400", async () => {
  await withDeployment({}, { OTP_PUBLIC_URL: PUBLIC_URL }, async (d) => {
    assert.equal((await callback(d, { Foo: "bar" })).status, 400);
    assert.equal((await callback(d, { MessageSid: "SMnope", MessageStatus: "sent" })).status, 400);
  });
});

dbTest(
  "status callback: without OTP_PUBLIC_URL no StatusCallback is sent and the route is absent",
  async () => {
    await withDeployment({}, {}, async (d) => {
      await deliverOne(d);
      assert.equal(d.fake.messages[0]!.form.has("StatusCallback"), false);
      assert.equal(
        (await callback(d, { MessageSid: "SM" + "0".repeat(32), MessageStatus: "sent" })).status,
        404,
      );
    });
  },
);

dbTest(
  "status callback: a signed 21610 (the recipient replied STOP) records an opt-out at Twilio",
  async () => {
    const { createKeyedHash } = await import("../../supabase/functions/_shared/delivery/limits.ts");
    const db = await testDatabase();
    const phone = `+${randomMobile()}`;
    await withDeployment({}, { DATABASE_URL: db.url, OTP_PUBLIC_URL: PUBLIC_URL }, async (d) => {
      const sid = await deliverOne(d);
      const params = {
        AccountSid: d.fake.accountSid,
        MessageSid: sid,
        MessageStatus: "undelivered",
        ErrorCode: "21610",
        To: phone,
      };
      assert.equal((await callback(d, params)).status, 204);
      // Unsigned, it records nothing.
      assert.equal((await callback(d, { ...params, To: "+447400999999" }, null)).status, 403);
    });
    const sql = db.client();
    try {
      const [setting] = await sql`select value from otp_relay.settings where name = 'hash_key'`;
      const hash = createKeyedHash(setting!.value);
      const rows = await sql`select provider, source from otp_relay.opt_outs
      where to_hash = ${await hash(`number:${phone}`)}`;
      assert.deepEqual(rows.map((r) => [r.provider, r.source]), [["twilio", "report"]]);
      const none = await sql`select 1 from otp_relay.opt_outs
      where to_hash = ${await hash("number:+447400999999")}`;
      assert.equal(none.length, 0);
    } finally {
      await sql.end();
    }
  },
);
