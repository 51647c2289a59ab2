// Delivery reports of Vonage, Plivo and Telnyx through the deployed wiring: requested only with
// OTP_PUBLIC_URL (and the key to check them), accepted only when signed over the body, recorded
// on the delivery in one status vocabulary, and a STOP among them honoured across providers.
import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import {
  captureLogs,
  randomMobile,
  signedInit,
  supabasePayload,
  TEST_SECRET,
} from "../_helpers.ts";
import { closeAtTestEnd, dbTest, testDatabase } from "../_postgres.ts";
import { plivoReportFields, signedPlivoReport, startFakePlivo } from "../fakes/plivo-api.ts";
import {
  signedTelnyxReport,
  startFakeTelnyx,
  telnyxKeyPair,
  telnyxMessageEvent,
} from "../fakes/telnyx-api.ts";
import { signedVonageReport, startFakeVonage } from "../fakes/vonage-api.ts";

const PUBLIC_URL = "https://project-ref.supabase.co/functions/v1/send-sms";
const VONAGE_SIG_SECRET = "vonage signature secret for tests";

/** A deployment on PostgreSQL with the three fetch providers, each on its fake. */
async function deployment(env: Record<string, string> = {}) {
  const db = await testDatabase();
  const vonage = startFakeVonage();
  const plivo = startFakePlivo();
  const telnyx = startFakeTelnyx();
  const keys = await telnyxKeyPair();
  const logs = captureLogs();
  const boot = appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    DATABASE_URL: db.url,
    OTP_PUBLIC_URL: PUBLIC_URL,
    OTP_PROVIDERS: "vonage,plivo,telnyx",
    VONAGE_API_KEY: vonage.apiKey,
    VONAGE_API_SECRET: vonage.apiSecret,
    VONAGE_SMS_FROM: "MyApp",
    VONAGE_API_BASE_URL: vonage.baseUrl,
    VONAGE_SIGNATURE_SECRET: VONAGE_SIG_SECRET,
    PLIVO_AUTH_ID: plivo.authId,
    PLIVO_AUTH_TOKEN: plivo.authToken,
    PLIVO_SMS_FROM: "+14155550100",
    PLIVO_API_BASE_URL: plivo.baseUrl,
    TELNYX_API_KEY: telnyx.apiKey,
    TELNYX_SMS_FROM: "+14155550111",
    TELNYX_API_BASE_URL: telnyx.baseUrl,
    TELNYX_PUBLIC_KEY: keys.publicKey,
    ...env,
  }, { write: logs.write });
  assert.ok("config" in boot, "config" in boot ? "" : boot.error.message);
  closeAtTestEnd(boot);
  const post = async (phone: string) => {
    const body = supabasePayload({ phone });
    const res = await boot.app.request(
      "/send-sms",
      signedInit(body, { timestamp: Math.floor(Date.now() / 1000) }),
    );
    return await res.text();
  };
  /** Sends a request the way the provider would, to the app's own route. */
  const report = (request: Request) => {
    const url = new URL(request.url);
    return Promise.resolve(
      boot.app.request(url.pathname.replace(/^\/functions\/v1/, "") + url.search, request),
    );
  };
  const close = async () => {
    await vonage.close();
    await plivo.close();
    await telnyx.close();
  };
  return { db, vonage, plivo, telnyx, keys, logs: logs.lines, post, report, close, boot };
}

async function statusOf(
  db: Awaited<ReturnType<typeof testDatabase>>,
  provider: string,
  id: string,
) {
  const sql = db.client();
  try {
    const [row] = await sql`select delivery_status, delivery_error_code from otp_relay.deliveries
      where provider = ${provider} and provider_id = ${id}`;
    return row ? [row.delivery_status, row.delivery_error_code] : undefined;
  } finally {
    await sql.end();
  }
}

dbTest(
  "reports: each provider's signed report is recorded in one vocabulary; forged ones get 403",
  async () => {
    const d = await deployment();
    try {
      // Vonage (first in the order) delivers; it was asked to report to its route.
      assert.equal(await d.post(randomMobile()), "{}");
      const v = d.vonage.accepted.at(-1)!;
      assert.equal(v.callback, `${PUBLIC_URL}/vonage/status`);
      const vonageReport = (status: string, errCode = "0", secret = VONAGE_SIG_SECRET) =>
        signedVonageReport({
          secret,
          url: `${PUBLIC_URL}/vonage/status`,
          messageId: v.id,
          msisdn: v.to,
          status,
          errCode,
          format: "form",
        });
      assert.equal(
        (await d.report(await vonageReport("failed", "6", "another secret"))).status,
        403,
      );
      assert.equal(await statusOf(d.db, "vonage", v.id).then((s) => s?.[0]), null);
      const ok = await d.report(await vonageReport("expired", "5"));
      assert.equal(ok.status, 200);
      assert.deepEqual(await statusOf(d.db, "vonage", v.id), ["undelivered", 5]);

      // Plivo: V3 signatures over the body; a V2-only report is refused.
      const plivoOnly = { OTP_PROVIDER_RULES: "*=plivo" };
      const p = await deployment(plivoOnly);
      try {
        assert.equal(await p.post(randomMobile()), "{}");
        const m = p.plivo.accepted.at(-1)!;
        assert.equal(m.callback, `${PUBLIC_URL}/plivo/status`);
        const fields = plivoReportFields({ messageUuid: m.id, to: m.to, status: "delivered" });
        const url = `${PUBLIC_URL}/plivo/status`;
        const v2 = await signedPlivoReport({
          authToken: p.plivo.authToken,
          url,
          fields,
          signatures: "v2",
        });
        assert.equal((await p.report(v2)).status, 403);
        const v3 = await signedPlivoReport({ authToken: p.plivo.authToken, url, fields });
        assert.equal((await p.report(v3)).status, 200);
        assert.deepEqual(await statusOf(p.db, "plivo", m.id), ["delivered", null]);
      } finally {
        await p.close();
      }

      // Telnyx: Ed25519 over timestamp|body.
      const t = await deployment({ OTP_PROVIDER_RULES: "*=telnyx" });
      try {
        assert.equal(await t.post(randomMobile()), "{}");
        const m = t.telnyx.accepted.at(-1)!;
        const url = `${PUBLIC_URL}/telnyx/status`;
        const event = telnyxMessageEvent({
          id: m.id,
          to: `+${m.to.replace(/^\+/, "")}`,
          status: "delivered",
          url,
        });
        const forged = await signedTelnyxReport({
          privateKey: d.keys.privateKey,
          url,
          body: event,
        });
        assert.equal((await t.report(forged)).status, 403, "signed with another account's key");
        const signed = await signedTelnyxReport({
          privateKey: t.keys.privateKey,
          url,
          body: event,
        });
        assert.equal((await t.report(signed)).status, 200);
        assert.deepEqual(await statusOf(t.db, "telnyx", m.id), ["delivered", null]);
      } finally {
        await t.close();
      }
      assert.ok(d.logs.some((l) => l.includes('"event":"provider_status_forbidden"')));
    } finally {
      await d.close();
    }
  },
);

dbTest(
  "reports: a STOP in a Vonage report keeps that number's SMS on Vonage, whatever the order",
  async () => {
    const d = await deployment();
    try {
      const phone = randomMobile();
      assert.equal(await d.post(phone), "{}");
      const v = d.vonage.accepted.at(-1)!;
      const stop = await signedVonageReport({
        secret: VONAGE_SIG_SECRET,
        url: `${PUBLIC_URL}/vonage/status`,
        messageId: v.id,
        msisdn: v.to,
        status: "failed",
        errCode: "9",
        format: "json",
      });
      assert.equal((await d.report(stop)).status, 200);
      assert.ok(d.logs.some((l) => l.includes('"optOut":"recorded"')));

      // Now Plivo comes first for every number, but this one is opted out at Vonage.
      const reordered = await deployment({ OTP_PROVIDERS: "plivo,vonage,telnyx" });
      try {
        // Vonage accepts sends to an opted-out number (and reports the STOP later), so its
        // acceptance clears nothing: a resend goes through Vonage again (found in review).
        assert.equal(await reordered.post(phone), "{}");
        assert.equal(await reordered.post(phone), "{}");
        assert.equal(reordered.plivo.accepted.length, 0, "Plivo never got this number's SMS");
        assert.equal(reordered.vonage.accepted.length, 2);
        assert.equal(await reordered.post(randomMobile()), "{}");
        assert.equal(reordered.plivo.accepted.length, 1, "other numbers follow the order");

        // A signed 'delivered' from Vonage proves the user replied START: the order applies again.
        const last = reordered.vonage.accepted.at(-2)!;
        const delivered = await signedVonageReport({
          secret: VONAGE_SIG_SECRET,
          url: `${PUBLIC_URL}/vonage/status`,
          messageId: last.id,
          msisdn: last.to,
          status: "delivered",
          format: "form",
        });
        assert.equal((await reordered.report(delivered)).status, 200);
        assert.equal(await reordered.post(phone), "{}");
        assert.equal(reordered.plivo.accepted.length, 2, "cleared: Plivo first again");
      } finally {
        await reordered.close();
      }
    } finally {
      await d.close();
    }
  },
);

dbTest(
  "reports: without OTP_PUBLIC_URL nothing is requested and the routes don't exist",
  async () => {
    const d = await deployment({ OTP_PUBLIC_URL: "" });
    try {
      assert.equal(await d.post(randomMobile()), "{}");
      assert.equal(d.vonage.accepted.at(-1)!.callback, undefined);
      for (const provider of ["vonage", "plivo", "telnyx"]) {
        const res = await d.boot.app.request(`/send-sms/${provider}/status`, {
          method: "POST",
          body: "x",
        });
        assert.equal(res.status, 404, provider);
        await res.body?.cancel();
      }
    } finally {
      await d.close();
    }
  },
);

Deno.test("reports: a STOP that could not be written is answered 503, so the provider sends it again", async () => {
  const { createProviderStatusDoor } = await import(
    "../../supabase/functions/_shared/doors/provider-status.ts"
  );
  const { createLogger } = await import("../../supabase/functions/_shared/log.ts");
  const door = (write: () => Promise<void>) =>
    createProviderStatusDoor({
      provider: "telnyx",
      callbackUrl: "https://x/telnyx/status",
      read: () =>
        Promise.resolve({
          ok: true,
          reports: [{
            providerId: "m1",
            status: "undelivered",
            optedOut: true,
            to: "+14155550123",
          }],
        }),
      statusLog: { recordStatus: () => Promise.resolve(true) },
      optOuts: { find: () => Promise.resolve([]), record: write, clear: write },
      log: createLogger({ level: "error", write: () => {} }),
    });
  const post = (write: () => Promise<void>) =>
    Promise.resolve(door(write).request("/telnyx/status", { method: "POST", body: "{}" }));
  const failed = await post(() => Promise.reject(new Error("database down")));
  assert.equal(failed.status, 503);
  await failed.body?.cancel();
  // The same report, written: 200.
  assert.equal((await post(() => Promise.resolve())).status, 200);
});
