/**
 * `deno task sign`: prints a `curl` command with a request signed exactly as Supabase Auth signs
 * it, for the local server. Pipe it to `sh` to send it.
 *
 *   deno task sign [--phone 15551234567] [--otp 123456] [--url http://127.0.0.1:8000/send-sms]
 *
 * Signs with SEND_SMS_HOOK_SECRETS when set, else with the development secret of `deno task start`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { signWebhook } from "../supabase/functions/_shared/webhook.ts";
import { DEV_HOOK_SECRET } from "./_dev-defaults.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    phone: { type: "string", default: "15555550123" },
    otp: { type: "string", default: "123456" },
    url: {
      type: "string",
      default: `http://127.0.0.1:${Deno.env.get("PORT") ?? "8000"}/send-sms`,
    },
  },
});

const secrets = (Deno.env.get("SEND_SMS_HOOK_SECRETS") || DEV_HOOK_SECRET).split("|");
const body = JSON.stringify({
  metadata: {
    uuid: crypto.randomUUID(),
    time: new Date().toISOString(),
    name: "send-sms",
    ip_address: "127.0.0.1",
  },
  user: { id: crypto.randomUUID(), phone: values.phone, user_metadata: {}, app_metadata: {} },
  sms: { otp: values.otp, phone: values.phone },
});
const headers = signWebhook({
  secrets,
  id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
  timestamp: Math.floor(Date.now() / 1000),
  body,
});

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const lines = [
  `curl -sS -i -X POST ${quote(values.url)}`,
  `  -H 'Content-Type: application/json'`,
  ...Object.entries(headers).map(([k, v]) => `  -H ${quote(`${k}: ${v}`)}`),
  `  --data-raw ${quote(body)}`,
];
console.log(lines.join(" \\\n"));
