/**
 * `deno task sign`: prints a `curl` command with a request as each platform sends it, for the
 * local server. Pipe it to `sh` to send it. `deno task sign --help` lists the options.
 *
 * - `supabase` (default): signed as Supabase Auth signs it, with SEND_SMS_HOOK_SECRETS.
 * - `okta`: Okta's telephony inline hook, with the OKTA_HOOK_AUTH_SECRET header.
 * - `auth0`: signed as the shipped Auth0 relay signs it, with AUTH0_HOOK_SECRETS; `--shape`
 *   picks the Actions event (default), the Custom Phone Provider (`provider`, or `notice` for a
 *   message without a code) or the legacy Hook.
 *
 * Each secret defaults to its development value in `deno task start`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";
import {
  DEV_AUTH0_SECRET,
  DEV_HOOK_SECRET,
  DEV_OKTA_SECRET,
  withDevDefaults,
} from "./_dev-defaults.ts";

export const USAGE = `Usage: deno task sign [options] | sh

Prints a curl command that sends one request to the local function exactly as the identity
platform would sign it. Print a fresh one for each try: signatures are valid for 5 minutes.

Options:
  --door supabase|okta|auth0   which caller to imitate (default supabase)
  --shape action|provider|notice|hook
                               Auth0 only: the Actions event (default), the Custom Phone
                               Provider, a notice without a code, or the legacy Hook
  --phone <number>             the recipient, digits with country code (e.g. 447400123456).
                               Default: a fictional US number (+1 NXX 555-01XX), a new one each
                               time, so repeated tries trip no per-number or per-block limit.
                               Required unless the target runs the console provider.
  --otp <digits>               the code (default 123456)
  --channel sms|whatsapp|voice which channel to ask for (default: none). Okta and Auth0 send it
                               in the request; Supabase Auth never sends a channel, so on the
                               Supabase door it is set as app_metadata.<OTP_CHANNEL_METADATA_KEY>
                               (otp_channel), the way an app would choose it.
  --locale <tag>               the user's language (e.g. pt-BR): user_metadata.locale on the
                               Supabase door, the caller's locale on Okta and Auth0
  --url <url>                  where to send it (default http://127.0.0.1:$PORT/send-sms plus the
                               door's path; PORT defaults to 8000, as for deno task start)
  -h, --help                   this text

Secrets come from SEND_SMS_HOOK_SECRETS, OKTA_HOOK_AUTH_SECRET (header OKTA_HOOK_AUTH_HEADER) and
AUTH0_HOOK_SECRETS, else the development secrets deno task start uses with the console provider.`;

/** What a run prints: the command (stdout), notes (stderr), and the exit code. */
export interface SignResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * US area codes in service (every state), so that a fictional number is a valid US number: the
 * function refuses numbers of no country, and the per-block limit counts each area code apart.
 */
export const AREA_CODES: readonly number[] = [
  201,
  202,
  203,
  205,
  206,
  207,
  208,
  209,
  210,
  212,
  213,
  214,
  215,
  216,
  217,
  218,
  219,
  224,
  225,
  228,
  229,
  231,
  234,
  239,
  240,
  248,
  251,
  252,
  253,
  254,
  256,
  260,
  262,
  267,
  269,
  270,
  276,
  281,
  301,
  302,
  303,
  304,
  305,
  307,
  308,
  309,
  310,
  312,
  313,
  314,
  315,
  316,
  317,
  318,
  319,
  320,
  321,
  323,
  330,
  334,
  336,
  337,
  339,
  347,
  351,
  352,
  360,
  361,
  385,
  386,
  401,
  402,
  404,
  405,
  406,
  407,
  408,
  409,
  410,
  412,
  413,
  414,
  415,
  417,
  419,
  423,
  424,
  425,
  430,
  432,
  434,
  435,
  440,
  443,
  458,
  469,
  470,
  475,
  478,
  479,
  480,
  484,
  501,
  502,
  503,
  504,
  505,
  507,
  508,
  509,
  510,
  512,
  513,
  515,
  516,
  517,
  518,
  520,
  530,
  540,
  541,
  551,
  559,
  561,
  562,
  563,
  567,
  570,
  571,
  573,
  574,
  575,
  580,
  585,
  586,
  601,
  602,
  603,
  605,
  606,
  607,
  608,
  609,
  610,
  612,
  614,
  615,
  616,
  617,
  618,
  619,
  620,
  623,
  626,
  630,
  631,
  636,
  641,
  646,
  650,
  651,
  660,
  661,
  662,
  678,
  682,
  701,
  702,
  703,
  704,
  706,
  707,
  708,
  712,
  713,
  714,
  715,
  716,
  717,
  718,
  719,
  720,
  724,
  727,
  731,
  732,
  734,
  740,
  754,
  757,
  760,
  763,
  765,
  770,
  772,
  773,
  774,
  775,
  781,
  785,
  786,
  801,
  802,
  803,
  804,
  805,
  806,
  808,
  810,
  812,
  813,
  814,
  815,
  816,
  817,
  818,
  828,
  830,
  831,
  832,
  843,
  845,
  847,
  848,
  850,
  856,
  857,
  858,
  859,
  860,
  862,
  863,
  864,
  865,
  870,
  872,
  878,
  901,
  903,
  904,
  906,
  907,
  908,
  909,
  910,
  912,
  913,
  914,
  915,
  916,
  917,
  918,
  919,
  920,
  925,
  928,
  931,
  936,
  937,
  940,
  941,
  947,
  949,
  951,
  952,
  954,
  956,
  970,
  971,
  972,
  973,
  978,
  979,
  980,
  985,
  989,
];

/** A fictional US number: +1, an area code, then 555-0100 to 555-0199 (reserved for fiction). */
export function fictionalNumber(random: () => number = Math.random): string {
  const area = AREA_CODES[Math.floor(random() * AREA_CODES.length)]!;
  return `1${area}5550${100 + Math.floor(random() * 100)}`;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Builds the command for `args`; `env` is the environment (secrets, PORT, the provider). */
export function sign(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  random: () => number = Math.random,
): SignResult {
  const fail = (message: string): SignResult => ({
    code: 2,
    stdout: "",
    stderr: `deno task sign: ${message}\n\n${USAGE}\n`,
  });
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      options: {
        door: { type: "string" },
        shape: { type: "string" },
        channel: { type: "string" },
        phone: { type: "string" },
        otp: { type: "string" },
        locale: { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) return { code: 0, stdout: `${USAGE}\n`, stderr: "" };

  const door = values.door ?? "supabase";
  const shape = values.shape ?? "action";
  const channel = values.channel;
  const otp = values.otp ?? "123456";
  const locale = values.locale;
  if (!["supabase", "okta", "auth0"].includes(door)) {
    return fail("--door must be supabase, okta or auth0");
  }
  const channels = door === "supabase" ? ["sms", "whatsapp", "voice"] : ["sms", "voice"];
  if (channel !== undefined && !channels.includes(channel)) {
    return fail(`--channel must be ${channels.join(", ")} on the ${door} door`);
  }
  if (!/^\d{4,10}$/.test(otp)) return fail("--otp must be 4 to 10 digits");
  if (locale !== undefined && !/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/.test(locale)) {
    return fail("--locale must be a language tag such as pt-BR");
  }

  const path = { supabase: "", okta: "/okta", auth0: "/auth0" }[door]!;
  const url = values.url ?? `http://127.0.0.1:${env.PORT?.trim() || "8000"}/send-sms${path}`;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return fail("--url must be a URL such as http://127.0.0.1:8000/send-sms");
  }
  // Without --phone, only a local console server: anything else would text a real stranger.
  const console = withDevDefaults(env).env;
  const onConsole = (console.OTP_PROVIDERS ?? console.OTP_PROVIDER ?? "").trim() === "console";
  if (values.phone === undefined && !(onConsole && LOOPBACK.has(host))) {
    return fail(
      "--phone is required: the target is not a local server on the console provider, so a " +
        "made-up number would be texted for real",
    );
  }
  const phone = (values.phone ?? fictionalNumber(random)).replace(/^\+/, "");
  if (!/^\d{6,15}$/.test(phone)) return fail("--phone must be 6 to 15 digits, country code first");

  const signed = (secrets: string, body: string): Record<string, string> =>
    signWebhook({
      secrets: secrets.split("|"),
      id: `msg_${crypto.randomUUID().replaceAll("-", "")}`,
      timestamp: Math.floor(Date.now() / 1000),
      body,
    });
  const secret = (name: string, fallback: string) => env[name]?.trim() || fallback;
  const notes: string[] = [];

  let headers: Record<string, string>;
  let body: string;
  switch (door) {
    case "supabase": {
      const key = env.OTP_CHANNEL_METADATA_KEY?.trim() || "otp_channel";
      const appMetadata = channel ? { [key]: channel } : {};
      if (channel) {
        notes.push(
          `# channel ${channel}: set as app_metadata.${key}, since Supabase Auth never sends one`,
        );
      }
      body = JSON.stringify({
        metadata: {
          uuid: crypto.randomUUID(),
          time: new Date().toISOString(),
          name: "send-sms",
          ip_address: "127.0.0.1",
        },
        user: {
          id: crypto.randomUUID(),
          phone,
          user_metadata: locale ? { locale } : {},
          app_metadata: appMetadata,
        },
        sms: { otp, phone },
      });
      headers = signed(secret("SEND_SMS_HOOK_SECRETS", DEV_HOOK_SECRET), body);
      break;
    }
    case "okta":
      body = JSON.stringify({
        eventId: crypto.randomUUID(),
        eventTime: new Date().toISOString(),
        eventType: "com.okta.telephony.provider",
        eventTypeVersion: "1.0",
        contentType: "application/json",
        requestType: "com.okta.user.telephony.mfa-verification",
        data: {
          context: { request: { ipAddress: "127.0.0.1" } },
          messageProfile: {
            msgTemplate: `Your code is ${otp}`,
            phoneNumber: `+${phone}`,
            deliveryChannel: channel === "voice" ? "CALL" : "SMS",
            otpCode: otp,
            locale: locale ?? "EN-US",
          },
        },
      });
      headers = {
        [secret("OKTA_HOOK_AUTH_HEADER", "Authorization")]: secret(
          "OKTA_HOOK_AUTH_SECRET",
          DEV_OKTA_SECRET,
        ),
      };
      break;
    default: {
      const shaped = auth0Body(shape, `+${phone}`, otp, channel ?? "sms", locale ?? "en_US");
      if (!shaped) return fail("--shape must be action, provider, notice or hook");
      body = JSON.stringify(shaped);
      headers = signed(secret("AUTH0_HOOK_SECRETS", DEV_AUTH0_SECRET), body);
    }
  }
  if (values.phone === undefined) notes.push(`# to +${phone}, a fictional number`);

  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const lines = [
    `curl -sS -i -X POST ${quote(url)}`,
    `  -H 'Content-Type: application/json'`,
    ...Object.entries(headers).map(([k, v]) => `  -H ${quote(`${k}: ${v}`)}`),
    `  --data-raw ${quote(body)}`,
  ];
  return {
    code: 0,
    stdout: `${lines.join(" \\\n")}\n`,
    stderr: notes.map((n) => `${n}\n`).join(""),
  };
}

/** The Auth0 relay's body for each shape; undefined for an unknown shape. */
function auth0Body(
  shape: string,
  recipient: string,
  otp: string,
  channel: string,
  locale: string,
): unknown {
  const notification = {
    recipient,
    as_text: `Your verification code is ${otp}`,
    as_voice: `Your verification code is ${[...otp].join(". ")}.`,
    code: otp,
    delivery_method: channel === "voice" ? "voice" : "text",
    locale,
    message_type: "otp_verify",
  };
  switch (shape) {
    case "action":
      return {
        message_options: {
          recipient,
          text: notification.as_text,
          code: otp,
          message_type: channel,
          action: "second-factor-authentication",
        },
        request: { ip: "127.0.0.1", language: locale.replace("_", "-") },
      };
    case "provider":
      return { notification, request: { ip: "127.0.0.1" } };
    case "notice":
      return {
        notification: {
          ...notification,
          code: undefined,
          message_type: "blocked_account",
          as_text: "Your account has been blocked after too many attempts.",
          as_voice: "Your account has been blocked after too many attempts.",
        },
      };
    case "hook":
      return {
        recipient,
        text: notification.as_text,
        context: {
          message_type: channel,
          action: "authentication",
          code: otp,
          ip: "127.0.0.1",
          language: locale.replace("_", "-"),
        },
      };
    default:
      return undefined;
  }
}

if (import.meta.main) {
  const result = sign(Deno.args, Deno.env.toObject());
  if (result.stderr) await Deno.stderr.write(new TextEncoder().encode(result.stderr));
  if (result.stdout) await Deno.stdout.write(new TextEncoder().encode(result.stdout));
  Deno.exit(result.code);
}
