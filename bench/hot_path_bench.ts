// Micro-benchmarks of the hook's hot path: `deno bench bench/hot_path_bench.ts`.
import { supabasePayload } from "../supabase/functions/_shared/doors/supabase.ts";
import { parsePhone } from "../supabase/functions/_shared/phone.ts";
import { createWebhookVerifier } from "../supabase/functions/_shared/webhook.ts";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";

const SECRET = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const body = JSON.stringify({
  metadata: { uuid: crypto.randomUUID(), time: new Date().toISOString(), name: "send-sms" },
  user: { id: crypto.randomUUID(), phone: "447400123456", user_metadata: {}, app_metadata: {} },
  sms: { otp: "123456", phone: "447400123456" },
});
const ts = Math.floor(Date.now() / 1000);
const headers = signWebhook({ secrets: [SECRET], id: "msg_1", timestamp: ts, body });
const verifier = createWebhookVerifier({ secrets: [SECRET] });
const h = {
  id: headers["webhook-id"],
  timestamp: headers["webhook-timestamp"],
  signature: headers["webhook-signature"],
};

Deno.bench("verify signature (@noble/hashes HMAC)", async () => {
  if (!(await verifier.verify(h, body)).ok) throw new Error("bad");
});
Deno.bench("JSON.parse + zod payload", () => {
  supabasePayload.parse(JSON.parse(body));
});
Deno.bench("parsePhone (libphonenumber max)", () => {
  parsePhone("447400123456");
});

// Channel policy and message rendering, for a number with a country rule.
import { planChannels } from "../supabase/functions/_shared/delivery/policy.ts";
import { createMessages } from "../supabase/functions/_shared/delivery/messages.ts";

const brazil = parsePhone("+5511987654321")!;
const policy = {
  defaultOrder: ["sms", "voice"] as const,
  rules: [{ countries: ["BR", "IN", "MX"], channels: ["whatsapp", "sms"] as const }],
  metadataKey: "otp_channel",
  userChannels: ["sms", "whatsapp"] as const,
};
const configured = new Set(["sms", "whatsapp", "voice"] as const);
Deno.bench("channel policy (country rule, app_metadata)", () => {
  planChannels({ to: brazil, appMetadata: { otp_channel: "voice" } }, policy, configured);
});
const messages = createMessages({ appName: "Acme", validityMinutes: 10, smsTemplates: {} });
Deno.bench("render SMS (pt-BR, plural, GSM-7 check)", () => {
  messages.sms("482913", ["pt-BR"], "BR");
});
Deno.bench("render voice script", () => {
  messages.voice("482913", ["pt-BR"], "BR");
});

// The whole request in process, against a minimal Hono app answering {} the same way.
import { Hono } from "hono";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";

const minimal = new Hono().basePath("/send-sms");
minimal.post("/", async (c) => {
  await c.req.text();
  return c.json({});
});
// The same settings as the server benchmark: one number for every request, so limits off.
const relay = appFromEnv({
  SEND_SMS_HOOK_SECRETS: SECRET,
  OTP_PROVIDER: "console",
  OTP_LOG_LEVEL: "warn",
  OTP_LIMIT_PER_NUMBER: "off",
  OTP_LIMIT_PER_PREFIX: "off",
}).app;

let n = 0;
function hookRequest(): Request {
  n += 1;
  const text = body.replace(/"uuid":"[^"]+"/, `"uuid":"bench-${n}"`);
  const signed = signWebhook({ secrets: [SECRET], id: `msg_${n}`, timestamp: ts, body: text });
  return new Request("http://localhost/send-sms", {
    method: "POST",
    headers: { "content-type": "application/json", ...signed },
    body: text,
  });
}

Deno.bench("request: minimal Hono app", { group: "request", baseline: true }, async () => {
  await (await minimal.fetch(hookRequest())).text();
});
Deno.bench("request: otp-relay Supabase hook", { group: "request" }, async () => {
  await (await relay.fetch(hookRequest())).text();
});

// The production default: abuse limits on (two keyed hashes and counters per request), each
// request to its own number so none is refused.
const limited = appFromEnv({
  SEND_SMS_HOOK_SECRETS: SECRET,
  OTP_PROVIDER: "console",
  OTP_LOG_LEVEL: "error",
}).app;
/** A UK mobile in a random 1,000-number block, so the block limit never trips either. */
const uniqueMobile = () =>
  `4474${String(Math.floor(Math.random() * 1e5)).padStart(5, "0")}${
    String(n % 1000).padStart(3, "0")
  }`;
Deno.bench("request: otp-relay with the default limits", { group: "request" }, async () => {
  const req = hookRequest();
  const text = (await req.text()).replaceAll("447400123456", uniqueMobile());
  const signed = signWebhook({ secrets: [SECRET], id: `msg_l${n}`, timestamp: ts, body: text });
  const res = await limited.fetch(
    new Request(req.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...signed },
      body: text,
    }),
  );
  await res.text();
});
