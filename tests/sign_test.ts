// `deno task sign`: its options, and requests the function accepts.
import assert from "node:assert/strict";
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { parsePhone } from "../supabase/functions/_shared/phone.ts";
import { withDevDefaults } from "../scripts/_dev-defaults.ts";
import { AREA_CODES, fictionalNumber, sign, USAGE } from "../scripts/sign.ts";

/** The curl command's URL, headers and body. */
function parseCurl(stdout: string) {
  const unquote = (s: string) => s.replaceAll(`'\\''`, "'");
  const url = unquote(/-X POST '([^']*)'/.exec(stdout)![1]!);
  const headers = new Headers();
  for (const m of stdout.matchAll(/-H '((?:[^']|'\\'')*)'/g)) {
    const [k, ...v] = unquote(m[1]!).split(": ");
    headers.set(k!, v.join(": "));
  }
  const body = unquote(/--data-raw '((?:[^']|'\\'')*)'\n?$/.exec(stdout)![1]!);
  return { url, headers, body, json: JSON.parse(body) };
}

/** The app `deno task start` serves (console, development secrets, memory). */
function devApp() {
  const printed: string[] = [];
  const boot = appFromEnv(withDevDefaults({}).env, {
    print: (l) => printed.push(l),
    write: () => {},
  });
  assert.ok("config" in boot);
  return { app: boot.app, printed };
}

async function send(app: ReturnType<typeof devApp>["app"], stdout: string) {
  const { url, headers, body } = parseCurl(stdout);
  return await app.request(new URL(url).pathname, { method: "POST", headers, body });
}

Deno.test("sign --help prints the usage, documents --url and PORT, and exits 0", () => {
  for (const flag of ["--help", "-h"]) {
    const r = sign([flag], {});
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${USAGE}\n`);
  }
  assert.match(USAGE, /--url <url>/);
  assert.match(USAGE, /PORT defaults to 8000/);
  const bad = sign(["--nope"], {});
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--nope'/);
  assert.match(bad.stderr, /Usage:/);
});

Deno.test("sign: PORT and --url choose the target", () => {
  assert.equal(
    parseCurl(sign(["--door", "okta"], { PORT: "9123" }).stdout).url,
    "http://127.0.0.1:9123/send-sms/okta",
  );
  const url = "http://localhost:7000/send-sms/auth0";
  assert.equal(parseCurl(sign(["--door", "auth0", "--url", url], {}).stdout).url, url);
});

Deno.test("sign: without --phone, fictional +1 NXX 555-01XX numbers spread across area codes", async () => {
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const numbers = Array.from({ length: 200 }, () => fictionalNumber(random));
  for (const n of numbers) {
    assert.match(n, /^1[2-9]\d{2}5550(1\d{2})$/);
    const phone = parsePhone(n);
    assert.ok(phone, `${n} parses`);
    assert.equal(phone.country, "US");
  }
  // Every area code on the list is a valid US number with the fictional exchange.
  for (const area of AREA_CODES) {
    for (const line of ["0100", "0199"]) {
      assert.equal(parsePhone(`1${area}555${line}`)?.country, "US", `${area}-555-${line}`);
    }
  }
  const areas = new Set(numbers.map((n) => n.slice(1, 4)));
  assert.ok(areas.size > 100, `spread over ${areas.size} area codes`);
  // Ten tries in a row are all delivered: no per-number (5/15m) or per-block (20/10m) limit trips.
  const { app, printed } = devApp();
  for (let i = 0; i < 10; i++) {
    const r = sign([], {});
    assert.equal(r.code, 0);
    assert.match(r.stderr, /fictional number/);
    const res = await send(app, r.stdout);
    assert.equal(await res.text(), "{}");
  }
  assert.equal(printed.length, 10);
});

Deno.test("sign: --phone is required unless the target is a local console server", () => {
  const withTwilio = { TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32) };
  for (
    const [env, args] of [
      [withTwilio, []],
      [{ OTP_PROVIDERS: "vonage" }, []],
      [{}, ["--url", "https://project.supabase.co/functions/v1/send-sms"]],
    ] as const
  ) {
    const r = sign([...args], env);
    assert.equal(r.code, 2, JSON.stringify([env, args]));
    assert.match(r.stderr, /--phone is required/);
    assert.equal(r.stdout, "");
  }
  assert.equal(sign(["--phone", "447400123456"], withTwilio).code, 0);
});

Deno.test("sign: --channel on the Supabase door sets app_metadata.otp_channel, and says so", async () => {
  const r = sign(["--channel", "voice", "--phone", "447400123456"], {});
  assert.equal(r.code, 0);
  assert.match(r.stderr, /app_metadata\.otp_channel, since Supabase Auth never sends one/);
  const { json } = parseCurl(r.stdout);
  assert.deepEqual(json.user.app_metadata, { otp_channel: "voice" });
  // The function follows it: a call, not an SMS.
  const { app, printed } = devApp();
  assert.equal(await (await send(app, r.stdout)).text(), "{}");
  assert.match(printed.join("\n"), /voice to \+4474/);
  // The owner's metadata key is honoured.
  const keyed = parseCurl(
    sign(["--channel", "whatsapp", "--phone", "447400123456"], { OTP_CHANNEL_METADATA_KEY: "ch" })
      .stdout,
  );
  assert.deepEqual(keyed.json.user.app_metadata, { ch: "whatsapp" });
  assert.equal(sign(["--door", "okta", "--channel", "whatsapp"], {}).code, 2);
});

Deno.test("sign: --locale reaches each door, and the message is in that language", async () => {
  const supabase = parseCurl(sign(["--locale", "pt-BR", "--phone", "5511987654321"], {}).stdout);
  assert.deepEqual(supabase.json.user.user_metadata, { locale: "pt-BR" });
  const okta = parseCurl(sign(["--door", "okta", "--locale", "de-DE"], {}).stdout);
  assert.equal(okta.json.data.messageProfile.locale, "de-DE");
  const auth0 = parseCurl(sign(["--door", "auth0", "--locale", "fr_FR"], {}).stdout);
  assert.equal(auth0.json.request.language, "fr-FR");
  const provider = parseCurl(
    sign(["--door", "auth0", "--shape", "provider", "--locale", "fr_FR"], {}).stdout,
  );
  assert.equal(provider.json.notification.locale, "fr_FR");

  const { app, printed } = devApp();
  const r = sign(["--locale", "pt-BR", "--phone", "5511987654321", "--otp", "135790"], {});
  assert.equal(await (await send(app, r.stdout)).text(), "{}");
  assert.match(printed.join("\n"), /código/i);
  assert.equal(sign(["--locale", "not a tag"], {}).code, 2);
});

Deno.test("sign: every door and shape is accepted by the local function", async () => {
  const { app, printed } = devApp();
  const runs = [
    ["--door", "okta"],
    ["--door", "okta", "--channel", "voice"],
    ["--door", "auth0"],
    ["--door", "auth0", "--shape", "provider"],
    ["--door", "auth0", "--shape", "notice"],
    ["--door", "auth0", "--shape", "hook", "--channel", "voice"],
  ];
  for (const args of runs) {
    const r = sign(args, {});
    assert.equal(r.code, 0, args.join(" "));
    const res = await send(app, r.stdout);
    assert.equal(res.status, 200, `${args.join(" ")}: ${await res.clone().text()}`);
    await res.body?.cancel();
  }
  assert.equal(printed.length, runs.length);
});
