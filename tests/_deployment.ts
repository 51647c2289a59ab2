/**
 * A deployed function in a test: the real bootstrap from environment variables, the real twilio
 * SDK, and the local fake of Twilio's REST API in place of Twilio.
 */
import assert from "node:assert/strict";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { captureLogs, signedInit, TEST_SECRET } from "./_helpers.ts";
import { type FakeTwilio, type FakeTwilioOptions, startFakeTwilio } from "./fakes/twilio-api.ts";

/** Senders of every channel, for tests that need them all. */
export const ALL_CHANNELS_ENV: Readonly<Record<string, string>> = {
  TWILIO_MESSAGING_SERVICE_SID: "MG" + "b".repeat(32),
  TWILIO_WHATSAPP_FROM: "+15005550006",
  TWILIO_WHATSAPP_CONTENT_SID: "HX" + "c".repeat(32),
  TWILIO_VOICE_FROM: "+15005550007",
};

/** What a test gets from {@linkcode withDeployment}. */
export interface Deployment {
  /** Posts a payload signed now, as Auth does. */
  post(body: Record<string, unknown>): Promise<Response>;
  fake: FakeTwilio;
  /** Captured log lines. */
  logs: string[];
  /** Any other request to the app. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** The app's fetch handler, to serve it on a port (`Deno.serve`). */
  handler(request: Request): Response | Promise<Response>;
}

/** Runs `fn` against a deployment configured by `env` (on top of Twilio SMS settings). */
export async function withDeployment(
  fakeOptions: FakeTwilioOptions,
  env: Record<string, string>,
  fn: (deployment: Deployment) => Promise<void>,
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
        signedInit(body, { timestamp: Math.floor(Date.now() / 1000) }),
      ));
    const request = (path: string, init?: RequestInit) =>
      Promise.resolve(boot.app.request(path, init));
    try {
      await fn({ post, fake, logs: logs.lines, request, handler: (r) => boot.app.fetch(r) });
    } finally {
      await boot.close();
    }
  } finally {
    await fake.close();
  }
}
