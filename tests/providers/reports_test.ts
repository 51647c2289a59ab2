// Delivery reports of Vonage, Plivo and Telnyx: each reader checks the provider's signature
// (known answers from the providers' documentation, and requests the fakes sign as the providers
// do for a message the real adapter sent), then reads the report into the common vocabulary.
import assert from "node:assert/strict";
import {
  ConfigError,
  loadConfig,
  type ProviderConfig,
} from "../../supabase/functions/_shared/config.ts";
import type {
  InboundReport,
  OutboundMessage,
  ReportVerdict,
} from "../../supabase/functions/_shared/delivery/ports.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { createPlivoProvider } from "../../supabase/functions/_shared/providers/plivo/index.ts";
import {
  createPlivoReportReader,
  plivoSignedText,
} from "../../supabase/functions/_shared/providers/plivo/report.ts";
import { createTelnyxProvider } from "../../supabase/functions/_shared/providers/telnyx/index.ts";
import { createTelnyxReportReader } from "../../supabase/functions/_shared/providers/telnyx/report.ts";
import { createVonageProvider } from "../../supabase/functions/_shared/providers/vonage/index.ts";
import {
  createVonageReportReader,
  vonageSignedText,
} from "../../supabase/functions/_shared/providers/vonage/report.ts";
import {
  FAKE_PLIVO_AUTH_ID,
  FAKE_PLIVO_AUTH_TOKEN,
  plivoReportFields,
  signedPlivoReport,
  startFakePlivo,
} from "../fakes/plivo-api.ts";
import {
  FAKE_TELNYX_API_KEY,
  signedTelnyxReport,
  startFakeTelnyx,
  telnyxKeyPair,
  telnyxMessageEvent,
} from "../fakes/telnyx-api.ts";
import {
  FAKE_VONAGE_API_KEY,
  FAKE_VONAGE_API_SECRET,
  signedVonageReport,
  startFakeVonage,
} from "../fakes/vonage-api.ts";
import { TEST_SECRET } from "../_helpers.ts";

const PUBLIC_URL = "https://abcdefghijklmnopqrst.supabase.co/functions/v1/send-sms";
const TO = parsePhone("+447700900123")!;
const SMS: OutboundMessage = {
  channel: "sms",
  to: TO,
  body: "Your code is 482913",
  code: "482913",
};
const VONAGE_SECRET = "vonage signature secret 0123456789";

function providerConfig<K extends ProviderConfig["kind"]>(
  env: Record<string, string>,
  kind: K,
): Extract<ProviderConfig, { kind: K }> {
  const config = loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, ...env });
  const found = config.providers.find((p) => p.kind === kind);
  assert.ok(found, `no ${kind} provider`);
  return found as Extract<ProviderConfig, { kind: K }>;
}

function problemsOf(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    // A problem never repeats a value.
    for (const value of Object.values(env)) assert.ok(!err.message.includes(value), value);
    return [...err.problems];
  }
  return assert.fail("expected a ConfigError");
}

/** The request as the route hands it to a reader: `given` is the URL the provider was given. */
async function inbound(req: Request, given: string): Promise<InboundReport> {
  const u = new URL(req.url);
  return {
    method: req.method,
    url: given,
    headers: req.headers,
    body: await req.text(),
    query: u.search.slice(1),
  };
}

/** The one report of an accepted verdict. */
function only(verdict: ReportVerdict) {
  assert.ok(verdict.ok, `expected ok, got ${JSON.stringify(verdict)}`);
  assert.equal(verdict.reports.length, 1);
  return verdict.reports[0]!;
}

/** The status of a refused verdict, after checking its `why` leaks nothing. */
function refused(verdict: ReportVerdict, ...secrets: string[]): 400 | 403 {
  assert.ok(!verdict.ok, "expected a refusal");
  for (const s of ["447700900123", "14155550100", ...secrets]) {
    assert.ok(!verdict.why.includes(s), verdict.why);
  }
  return verdict.status;
}

// --- Vonage ---------------------------------------------------------------------------------

const VECTOR: Record<string, string> = {
  "message-timestamp": "2013-11-21 15:27:30",
  messageId: "020000001B0FE827",
  msisdn: "14843472194",
  text: "Test again",
  timestamp: "1385047698",
  to: "13239877404",
  type: "text",
};
const VECTOR_SECRET = "my_secret_key_for_testing";
const VECTOR_SHA256 = "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330";

const vonageGet = (fields: Record<string, string>): InboundReport => ({
  method: "GET",
  url: `${PUBLIC_URL}/vonage/status`,
  headers: new Headers(),
  body: "",
  query: new URLSearchParams(fields).toString(),
});

Deno.test("vonage report: Vonage's own signature test vector (HMAC-SHA256)", async () => {
  // Code-point order: `message-timestamp` sorts before `messageId` ('-' < 'I').
  assert.equal(
    vonageSignedText({ ...VECTOR, sig: "ignored" }),
    "&message-timestamp=2013-11-21 15:27:30&messageId=020000001B0FE827&msisdn=14843472194" +
      "&text=Test again&timestamp=1385047698&to=13239877404&type=text",
  );
  // The clock of the vector (signed 2013-11-21): a receipt is fresh for a day.
  const read = createVonageReportReader({
    secret: VECTOR_SECRET,
    method: "sha256",
    now: () => 1385047698_000 + 60_000,
  });
  // The vector is an inbound message, not a receipt: the signature passes (upper-case hex is
  // compared case-insensitively), then the missing `status` makes it unreadable.
  const signed = await read(vonageGet({ ...VECTOR, sig: VECTOR_SHA256 }));
  assert.equal(refused(signed), 400);
  assert.equal(
    await read(vonageGet({ ...VECTOR, sig: VECTOR_SHA256.toLowerCase() })).then(refused),
    400,
  );
  // One character changed anywhere, or another method's value, is forged.
  assert.equal(
    refused(await read(vonageGet({ ...VECTOR, text: "Test agaim", sig: VECTOR_SHA256 }))),
    403,
  );
  assert.equal(
    refused(await read(vonageGet({ ...VECTOR, sig: "d2e7b1dc968737c5998ad624e02f90b7" }))),
    403,
  );
  assert.equal(refused(await read(vonageGet({ ...VECTOR }))), 403, "unsigned");
  const sha512 = createVonageReportReader({ secret: VECTOR_SECRET, method: "sha512" });
  assert.equal(refused(await sha512(vonageGet({ ...VECTOR, sig: VECTOR_SHA256 }))), 403);
});

Deno.test("vonage settings: MD5 and SHA-1 methods are refused at start, naming the variable", () => {
  const base = {
    VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
    VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
    VONAGE_SMS_FROM: "MyApp",
    VONAGE_SIGNATURE_SECRET: VECTOR_SECRET,
  };
  // Vonage's vector signed with md5hash is d2e7b1dc968737c5998ad624e02f90b7: such an account is
  // told to switch at start, never verified.
  for (const method of ["md5hash", "md5", "sha1", "MD5HASH"]) {
    const problems = problemsOf({ ...base, VONAGE_SIGNATURE_METHOD: method });
    assert.equal(problems.length, 1, method);
    assert.equal(problems[0]!.variable, "VONAGE_SIGNATURE_METHOD");
    assert.match(problems[0]!.message, /MD5 and SHA-1 signatures are not accepted/);
    assert.match(problems[0]!.message, /SHA-256 HMAC or SHA-512 HMAC in the Vonage dashboard/);
  }
  assert.deepEqual(problemsOf({ ...base, VONAGE_SIGNATURE_METHOD: "sha384" }), [
    { variable: "VONAGE_SIGNATURE_METHOD", message: "must be sha256 or sha512" },
  ]);
  const { VONAGE_SIGNATURE_SECRET: _, ...unsigned } = base;
  assert.deepEqual(problemsOf({ ...unsigned, VONAGE_SIGNATURE_METHOD: "sha512" }), [
    { variable: "VONAGE_SIGNATURE_METHOD", message: "is set without VONAGE_SIGNATURE_SECRET" },
  ]);
  assert.deepEqual(
    providerConfig({ ...base, VONAGE_SIGNATURE_METHOD: " SHA512 " }, "vonage").signature,
    { secret: VECTOR_SECRET, method: "sha512" },
  );
  assert.deepEqual(providerConfig(base, "vonage").signature, {
    secret: VECTOR_SECRET,
    method: "sha256",
  });
  assert.equal(providerConfig(unsigned, "vonage").signature, undefined);
});

Deno.test("vonage: the callback is requested only with OTP_PUBLIC_URL and a signature secret", async () => {
  const fake = startFakeVonage();
  const env = {
    VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
    VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
    VONAGE_SMS_FROM: "MyApp",
    VONAGE_API_BASE_URL: fake.baseUrl,
  };
  try {
    const cases: [Record<string, string>, string | undefined][] = [
      [{}, undefined],
      [{ OTP_PUBLIC_URL: PUBLIC_URL }, undefined], // could not be verified: not requested
      [{ VONAGE_SIGNATURE_SECRET: VONAGE_SECRET }, undefined], // nowhere to send it
      [
        { OTP_PUBLIC_URL: PUBLIC_URL, VONAGE_SIGNATURE_SECRET: VONAGE_SECRET },
        `${PUBLIC_URL}/vonage/status`,
      ],
    ];
    for (const [i, [extra, callback]] of cases.entries()) {
      const config = providerConfig({ ...env, ...extra }, "vonage");
      assert.equal(config.statusCallbackUrl, callback);
      assert.ok(
        (await createVonageProvider(config).send(SMS, { signal: AbortSignal.timeout(1500) })).ok,
      );
      assert.equal(fake.accepted[i]!.callback, callback, JSON.stringify(extra));
    }
  } finally {
    await fake.close();
  }
  // Vonage takes a callback of at most 100 characters: a longer one would fail every send.
  const long = `https://${"a".repeat(60)}.example.com/functions/v1/send-sms`;
  assert.deepEqual(
    problemsOf({ ...env, OTP_PUBLIC_URL: long, VONAGE_SIGNATURE_SECRET: VONAGE_SECRET })
      .map((p) => p.variable),
    ["OTP_PUBLIC_URL"],
  );
});

Deno.test("vonage report: a receipt for a sent message, signed, in each format and method", async () => {
  const fake = startFakeVonage();
  try {
    for (const method of ["sha256", "sha512"] as const) {
      const config = providerConfig({
        VONAGE_API_KEY: FAKE_VONAGE_API_KEY,
        VONAGE_API_SECRET: FAKE_VONAGE_API_SECRET,
        VONAGE_SMS_FROM: "MyApp",
        VONAGE_API_BASE_URL: fake.baseUrl,
        VONAGE_SIGNATURE_SECRET: VONAGE_SECRET,
        VONAGE_SIGNATURE_METHOD: method,
        OTP_PUBLIC_URL: PUBLIC_URL,
      }, "vonage");
      const sent = await createVonageProvider(config).send(SMS, {
        signal: AbortSignal.timeout(1500),
      });
      assert.ok(sent.ok);
      const message = fake.accepted.at(-1)!;
      const url = message.callback!;
      const read = createVonageReportReader(config.signature!);
      for (const format of ["get", "form", "json"] as const) {
        const req = await signedVonageReport({
          secret: VONAGE_SECRET,
          method,
          url,
          messageId: message.id,
          msisdn: message.to,
          status: "delivered",
          format,
        });
        assert.equal(req.method, format === "get" ? "GET" : "POST");
        assert.deepEqual(only(await read(await inbound(req, url))), {
          providerId: sent.id,
          status: "delivered",
          optedOut: false,
          to: "+447700900123",
        }, `${method} ${format}`);
      }
    }
  } finally {
    await fake.close();
  }
});

Deno.test("vonage report: tampered, unsigned, wrong secret or repeated fields are 403", async () => {
  const url = `${PUBLIC_URL}/vonage/status`;
  const read = createVonageReportReader({ secret: VONAGE_SECRET, method: "sha256" });
  const report = (format: "get" | "form" | "json", secret = VONAGE_SECRET) =>
    signedVonageReport({
      secret,
      url,
      messageId: "0A0000001234ABCD",
      msisdn: "447700900123",
      status: "failed",
      errCode: "6",
      format,
    });

  const get = await inbound(await report("get"), url);
  assert.equal(only(await read(get)).status, "undelivered", "the original is accepted");
  const tamper = (text: string) => text.replace("failed", "delivered");
  assert.equal(refused(await read({ ...get, query: tamper(get.query) }), VONAGE_SECRET), 403);
  const form = await inbound(await report("form"), url);
  assert.equal(refused(await read({ ...form, body: tamper(form.body) })), 403);
  const json = await inbound(await report("json"), url);
  assert.equal(refused(await read({ ...json, body: tamper(json.body) })), 403);
  // A JSON receipt read as a form (or the other way round) carries no valid signature.
  assert.equal(refused(await read({ ...json, headers: new Headers() })), 403);

  const unsigned = new URLSearchParams(get.query);
  unsigned.delete("sig");
  assert.equal(refused(await read({ ...get, query: unsigned.toString() })), 403);
  assert.equal(refused(await read(await inbound(await report("get", "another secret"), url))), 403);
  assert.equal(refused(await read({ ...get, query: `${get.query}&status=delivered` })), 403);
  assert.equal(refused(await read({ ...get, method: "PUT" })), 403);
  assert.equal(refused(await read({ ...json, body: "{" })), 403);
});

Deno.test("vonage report: statuses in the common vocabulary; err-code 9 is an opt-out", async () => {
  const url = `${PUBLIC_URL}/vonage/status`;
  const read = createVonageReportReader({ secret: VONAGE_SECRET, method: "sha512" });
  const rows: [string, string, string, number | undefined, boolean][] = [
    // status, err-code, common status, errorCode, optedOut
    ["delivered", "0", "delivered", undefined, false],
    ["expired", "1", "undelivered", 1, false],
    ["failed", "9", "undelivered", 9, true], // illegal number: the recipient opted out
    ["failed", "6", "undelivered", 6, false],
    ["rejected", "99", "failed", 99, false],
    ["accepted", "0", "sent", undefined, false],
    ["buffered", "0", "sent", undefined, false],
    ["unknown", "0", "sent", undefined, false],
    ["a-new-word", "0", "sent", undefined, false], // tolerated: not final
  ];
  for (const [status, errCode, common, errorCode, optedOut] of rows) {
    const req = await signedVonageReport({
      secret: VONAGE_SECRET,
      method: "sha512",
      url,
      messageId: "0A0000001234ABCD",
      msisdn: "447700900123",
      status,
      errCode,
      format: "form",
    });
    assert.deepEqual(only(await read(await inbound(req, url))), {
      providerId: "0A0000001234ABCD",
      status: common,
      ...(errorCode === undefined ? {} : { errorCode }),
      optedOut,
      to: "+447700900123",
    }, status);
  }
});

Deno.test("vonage report: signed but unreadable is 400", async () => {
  const url = `${PUBLIC_URL}/vonage/status`;
  const read = createVonageReportReader({ secret: VONAGE_SECRET, method: "sha256" });
  const unreadable: [string, Partial<{ messageId: string; status: string; msisdn: string }>][] = [
    ["no message id", { messageId: "" }],
    ["an id of free text", { messageId: "not an id!" }],
    ["an id too long", { messageId: "A".repeat(129) }],
    ["no status", { status: "" }],
    ["a status too long", { status: "s".repeat(33) }],
    ["a recipient that is no number", { msisdn: "MyApp" }],
  ];
  for (const [name, change] of unreadable) {
    const req = await signedVonageReport({
      secret: VONAGE_SECRET,
      url,
      messageId: "0A0000001234ABCD",
      msisdn: "447700900123",
      status: "delivered",
      ...change,
    });
    assert.equal(refused(await read(await inbound(req, url))), 400, name);
  }
});

// --- Plivo ----------------------------------------------------------------------------------

const PLIVO_VECTOR = {
  From: "14155550199",
  MessageUUID: "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
  Status: "delivered",
  To: "14155550100",
};
const PLIVO_NONCE = "05429567804466091622";

const plivoPost = (url: string, headers: Record<string, string>): InboundReport => ({
  method: "POST",
  url,
  headers: new Headers({ "content-type": "application/x-www-form-urlencoded", ...headers }),
  body: new URLSearchParams(PLIVO_VECTOR).toString(),
  query: new URL(url).search.slice(1),
});

Deno.test("plivo report: the V3 worked example, with and without a query on the URL", async () => {
  const url = "https://example.com/sms/status";
  const body = new URLSearchParams(PLIVO_VECTOR).toString();
  assert.equal(
    plivoSignedText("POST", url, body),
    "https://example.com/sms/status?From14155550199MessageUUID" +
      "db3ce55a-7f1d-11e1-8ea7-1231380bc196StatusdeliveredTo14155550100",
  );
  assert.equal(
    plivoSignedText("POST", `${url}?tenant=a`, body),
    "https://example.com/sms/status?tenant=a.From14155550199MessageUUID" +
      "db3ce55a-7f1d-11e1-8ea7-1231380bc196StatusdeliveredTo14155550100",
  );
  const read = createPlivoReportReader({ authToken: "my_auth_token" });
  const expected = {
    providerId: "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
    status: "delivered",
    optedOut: false,
    to: "+14155550100",
  };
  const v3 = (signature: string) => ({
    "x-plivo-signature-v3": signature,
    "x-plivo-signature-v3-nonce": PLIVO_NONCE,
  });
  const plain = "+9T0rx79XHRol+bIeY6vrrQSYHCspStWXVlqD0DwMyw=";
  const tenant = "0goLkn5DzjgydzKgfkY72GCQkDKX3AJR5vN3ZcU8pIs=";
  assert.deepEqual(only(await read(plivoPost(url, v3(plain)))), expected);
  assert.deepEqual(only(await read(plivoPost(`${url}?tenant=a`, v3(tenant)))), expected);
  // Several signatures (key rotation): any one matching is enough, in either header.
  assert.deepEqual(only(await read(plivoPost(url, v3(`${tenant}, ${plain}`)))), expected);
  assert.deepEqual(
    only(
      await read(plivoPost(url, {
        "x-plivo-signature-ma-v3": plain,
        "x-plivo-signature-v3-nonce": PLIVO_NONCE,
      })),
    ),
    expected,
  );
  // The query is signed: each URL's signature is wrong for the other.
  assert.equal(refused(await read(plivoPost(url, v3(tenant)))), 403);
  assert.equal(refused(await read(plivoPost(`${url}?tenant=a`, v3(plain)))), 403);
  // So is the nonce.
  assert.equal(
    refused(await read(plivoPost(url, { ...v3(plain), "x-plivo-signature-v3-nonce": "1" }))),
    403,
  );
});

Deno.test("plivo report: V2 alone signs no body and is refused", async () => {
  const read = createPlivoReportReader({ authToken: "my_auth_token" });
  // The valid V2 signature of the same URL and nonce.
  const verdict = await read(plivoPost("https://example.com/sms/status", {
    "x-plivo-signature-v2": "/QvaLuxCnOFj0HpL1ujdNs1WPf1ql6QJBBnGT0xPVqU=",
    "x-plivo-signature-v2-nonce": PLIVO_NONCE,
  }));
  assert.equal(refused(verdict), 403);
  assert.ok(!verdict.ok && /V3/.test(verdict.why));
  // As the fake sends it: a correct V2 header, no V3.
  const fields = plivoReportFields({
    messageUuid: PLIVO_VECTOR.MessageUUID,
    to: "447700900123",
    status: "delivered",
  });
  const url = `${PUBLIC_URL}/plivo/status`;
  const req = await signedPlivoReport({
    authToken: "my_auth_token",
    url,
    fields,
    signatures: "v2",
  });
  assert.ok(req.headers.has("x-plivo-signature-v2"));
  assert.equal(refused(await read(await inbound(req, url))), 403);
});

Deno.test("plivo report: a GET callback signs every parameter as a sorted query", async () => {
  const url = "https://example.com/sms/status";
  const query = "To=14155550100&Status=delivered&MessageUUID=db3ce55a-7f1d-11e1-8ea7-1231380bc196";
  const text = "https://example.com/sms/status?MessageUUID=db3ce55a-7f1d-11e1-8ea7-1231380bc196" +
    "&Status=delivered&To=14155550100";
  assert.equal(plivoSignedText("GET", url, "", query), text);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("my_auth_token"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${text}.1234`));
  const signature = btoa(String.fromCharCode(...new Uint8Array(mac)));
  const read = createPlivoReportReader({ authToken: "my_auth_token" });
  const get: InboundReport = {
    method: "GET",
    url,
    headers: new Headers({
      "x-plivo-signature-v3": signature,
      "x-plivo-signature-v3-nonce": "1234",
    }),
    body: "",
    query,
  };
  assert.equal(only(await read(get)).status, "delivered");
  assert.equal(refused(await read({ ...get, query: query.replace("delivered", "read") })), 403);
});

Deno.test("plivo: the status callback is requested with OTP_PUBLIC_URL, and its report verifies", async () => {
  const fake = startFakePlivo();
  const env = {
    PLIVO_AUTH_ID: FAKE_PLIVO_AUTH_ID,
    PLIVO_AUTH_TOKEN: FAKE_PLIVO_AUTH_TOKEN,
    PLIVO_SMS_FROM: "+14155550100",
    PLIVO_API_BASE_URL: fake.baseUrl,
  };
  try {
    const without = providerConfig(env, "plivo");
    assert.equal(without.statusCallbackUrl, undefined);
    assert.ok(
      (await createPlivoProvider(without).send(SMS, { signal: AbortSignal.timeout(1500) })).ok,
    );
    assert.equal(fake.accepted[0]!.callback, undefined);
    assert.equal(fake.requests[0]!.body.method, undefined);

    const config = providerConfig({ ...env, OTP_PUBLIC_URL: PUBLIC_URL }, "plivo");
    const sent = await createPlivoProvider(config).send(SMS, { signal: AbortSignal.timeout(1500) });
    assert.ok(sent.ok);
    const message = fake.accepted[1]!;
    assert.equal(message.callback, `${PUBLIC_URL}/plivo/status`);
    assert.equal(message.callbackMethod, "POST");

    const read = createPlivoReportReader({ authToken: config.authToken });
    const fields = plivoReportFields({
      messageUuid: message.id,
      to: message.to,
      status: "delivered",
    });
    const req = await signedPlivoReport({
      authToken: FAKE_PLIVO_AUTH_TOKEN,
      url: message.callback!,
      fields,
    });
    const given = await inbound(req, message.callback!);
    assert.deepEqual(only(await read(given)), {
      providerId: sent.id,
      status: "delivered",
      optedOut: false,
      to: "+447700900123",
    });
    // Tampered, unsigned, or signed with another token.
    assert.equal(
      refused(
        await read({ ...given, body: given.body.replace("delivered", "failed") }),
        FAKE_PLIVO_AUTH_TOKEN,
      ),
      403,
    );
    assert.equal(refused(await read({ ...given, body: `${given.body}&Extra=1` })), 403);
    assert.equal(refused(await read({ ...given, headers: new Headers() })), 403);
    const other = await signedPlivoReport({
      authToken: "another token",
      url: message.callback!,
      fields,
    });
    assert.equal(refused(await read(await inbound(other, message.callback!))), 403);
  } finally {
    await fake.close();
  }
});

Deno.test("plivo report: statuses in the common vocabulary; ErrorCode 200 is an opt-out", async () => {
  const url = `${PUBLIC_URL}/plivo/status`;
  const read = createPlivoReportReader({ authToken: FAKE_PLIVO_AUTH_TOKEN });
  const rows: [string, string | undefined, string, number | undefined, boolean][] = [
    ["queued", undefined, "sent", undefined, false],
    ["sent", undefined, "sent", undefined, false],
    ["delivered", undefined, "delivered", undefined, false],
    ["undelivered", "200", "undelivered", 200, true], // the recipient replied STOP
    ["undelivered", "30", "undelivered", 30, false],
    ["failed", "200", "failed", 200, true],
    ["failed", "420", "failed", 420, false],
    ["rejected", undefined, "failed", undefined, false],
    ["read", undefined, "read", undefined, false],
    ["Delivered", undefined, "delivered", undefined, false],
    ["something_new", undefined, "sent", undefined, false],
  ];
  const id = "db3ce55a-7f1d-11e1-8ea7-1231380bc196";
  for (const [status, errorCode, common, code, optedOut] of rows) {
    const fields = plivoReportFields({
      messageUuid: id,
      to: "447700900123",
      status,
      ...(errorCode ? { errorCode } : {}),
    });
    if (!errorCode) delete fields.ErrorCode;
    const req = await signedPlivoReport({ authToken: FAKE_PLIVO_AUTH_TOKEN, url, fields });
    assert.deepEqual(only(await read(await inbound(req, url))), {
      providerId: id,
      status: common,
      ...(code === undefined ? {} : { errorCode: code }),
      optedOut,
      to: "+447700900123",
    }, `${status} ${errorCode}`);
  }
});

Deno.test("plivo report: a part of a multipart message reports under its parent's UUID; unreadable is 400", async () => {
  const url = `${PUBLIC_URL}/plivo/status`;
  const read = createPlivoReportReader({ authToken: FAKE_PLIVO_AUTH_TOKEN });
  const parent = "db3ce55a-7f1d-11e1-8ea7-1231380bc196";
  const part = {
    ...plivoReportFields({
      messageUuid: "e0f8a3c2-7f1d-11e1-8ea7-1231380bc196",
      to: "447700900123",
      status: "delivered",
    }),
    ParentMessageUUID: parent,
    PartInfo: "2 of 2",
  };
  const req = await signedPlivoReport({ authToken: FAKE_PLIVO_AUTH_TOKEN, url, fields: part });
  assert.equal(only(await read(await inbound(req, url))).providerId, parent);

  const base = plivoReportFields({ messageUuid: parent, to: "447700900123", status: "delivered" });
  const broken: [string, Record<string, string>][] = [
    ["no MessageUUID", { ...base, MessageUUID: "", ParentMessageUUID: "" }],
    ["no Status", { ...base, Status: "" }],
    ["an ErrorCode of text", { ...base, ErrorCode: "opted out" }],
    ["a To that is no number", { ...base, To: "Acme" }],
  ];
  for (const [name, fields] of broken) {
    const signed = await signedPlivoReport({ authToken: FAKE_PLIVO_AUTH_TOKEN, url, fields });
    assert.equal(refused(await read(await inbound(signed, url))), 400, name);
  }
  // A body with no fields at all is signed as the bare URL: signed, but no report.
  const empty = await signedPlivoReport({ authToken: FAKE_PLIVO_AUTH_TOKEN, url, fields: {} });
  assert.equal(plivoSignedText("POST", url, ""), url);
  assert.equal(refused(await read(await inbound(empty, url))), 400);
});

// --- Telnyx ---------------------------------------------------------------------------------

// RFC 8032 §7.1, test 2: one message byte 0x72.
const RFC8032 = {
  publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  message: "72",
  signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
};
const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));

Deno.test("telnyx report: WebCrypto's Ed25519 on this Deno verifies RFC 8032's known answer", async () => {
  assert.equal(Deno.version.deno, "2.1.4");
  const key = await crypto.subtle.importKey(
    "raw",
    hexBytes(RFC8032.publicKey),
    { name: "Ed25519" },
    false,
    ["verify"],
  );
  const signature = hexBytes(RFC8032.signature);
  assert.equal(
    await crypto.subtle.verify({ name: "Ed25519" }, key, signature, hexBytes(RFC8032.message)),
    true,
  );
  assert.equal(
    await crypto.subtle.verify({ name: "Ed25519" }, key, signature, hexBytes("73")),
    false,
  );
});

Deno.test("telnyx settings: TELNYX_PUBLIC_KEY must be base64 of 32 bytes", async () => {
  const env = {
    TELNYX_API_KEY: FAKE_TELNYX_API_KEY,
    TELNYX_SMS_FROM: "+14155550100",
  };
  const { publicKey } = await telnyxKeyPair();
  assert.equal(
    providerConfig({ ...env, TELNYX_PUBLIC_KEY: publicKey }, "telnyx").publicKey,
    publicKey,
  );
  for (
    const bad of [
      btoa("x".repeat(31)),
      btoa("x".repeat(33)),
      "not base64 at all!",
      publicKey.slice(0, -2),
      "-----BEGIN PUBLIC KEY-----",
    ]
  ) {
    const problems = problemsOf({ ...env, TELNYX_PUBLIC_KEY: bad });
    assert.deepEqual(problems.map((p) => p.variable), ["TELNYX_PUBLIC_KEY"], bad);
    assert.match(problems[0]!.message, /base64 of 32 bytes/);
  }
  assert.throws(() => createTelnyxReportReader({ publicKey: btoa("short") }), /32 bytes/);
});

Deno.test("telnyx: webhook_url is requested with OTP_PUBLIC_URL and TELNYX_PUBLIC_KEY, and its report verifies", async () => {
  const fake = startFakeTelnyx();
  const keys = await telnyxKeyPair();
  const env = {
    TELNYX_API_KEY: FAKE_TELNYX_API_KEY,
    TELNYX_SMS_FROM: "+14155550100",
    TELNYX_API_BASE_URL: fake.baseUrl,
  };
  try {
    const cases: [Record<string, string>, string | undefined][] = [
      [{}, undefined],
      [{ OTP_PUBLIC_URL: PUBLIC_URL }, undefined],
      [{ TELNYX_PUBLIC_KEY: keys.publicKey }, undefined],
      [
        { OTP_PUBLIC_URL: PUBLIC_URL, TELNYX_PUBLIC_KEY: keys.publicKey },
        `${PUBLIC_URL}/telnyx/status`,
      ],
    ];
    for (const [i, [extra, callback]] of cases.entries()) {
      const config = providerConfig({ ...env, ...extra }, "telnyx");
      assert.equal(config.statusCallbackUrl, callback);
      assert.ok(
        (await createTelnyxProvider(config).send(SMS, { signal: AbortSignal.timeout(1500) })).ok,
      );
      assert.equal(fake.accepted[i]!.callback, callback, JSON.stringify(extra));
    }
    const message = fake.accepted[3]!;
    const config = providerConfig({
      ...env,
      OTP_PUBLIC_URL: PUBLIC_URL,
      TELNYX_PUBLIC_KEY: keys.publicKey,
    }, "telnyx");
    const read = createTelnyxReportReader({ publicKey: config.publicKey! });
    const events: [string, string, string][] = [
      ["message.sent", "sent", "sent"],
      ["message.finalized", "delivered", "delivered"],
    ];
    for (const [event, status, common] of events) {
      const body = telnyxMessageEvent({
        id: message.id,
        to: message.to,
        status,
        eventType: event,
        url: message.callback,
      });
      const req = await signedTelnyxReport({
        privateKey: keys.privateKey,
        url: message.callback!,
        body,
      });
      assert.deepEqual(only(await read(await inbound(req, message.callback!))), {
        providerId: message.id,
        status: common,
        optedOut: false,
        to: "+447700900123",
      });
    }
  } finally {
    await fake.close();
  }
});

Deno.test("telnyx report: tampered, unsigned, another key, a bad or stale timestamp are 403", async () => {
  const keys = await telnyxKeyPair();
  const other = await telnyxKeyPair();
  const url = `${PUBLIC_URL}/telnyx/status`;
  const now = Date.UTC(2026, 0, 1);
  const at = now / 1000;
  const read = createTelnyxReportReader({ publicKey: keys.publicKey, now: () => now });
  const body = telnyxMessageEvent({
    id: crypto.randomUUID(),
    to: "+447700900123",
    status: "delivery_failed",
  });
  const signed = (timestamp: number, privateKey = keys.privateKey) =>
    signedTelnyxReport({ privateKey, url, body, timestamp }).then((req) => inbound(req, url));

  const good = await signed(at);
  assert.equal(only(await read(good)).status, "undelivered");
  // The raw body is signed: one byte of whitespace changes it.
  assert.equal(
    refused(await read({ ...good, body: good.body.replace("delivery_failed", "delivered") })),
    403,
  );
  assert.equal(refused(await read({ ...good, body: `${good.body} ` })), 403);
  // The timestamp is signed with it.
  const moved = new Headers(good.headers);
  moved.set("telnyx-timestamp", String(at + 1));
  assert.equal(refused(await read({ ...good, headers: moved })), 403);
  const unsigned = new Headers(good.headers);
  unsigned.delete("telnyx-signature-ed25519");
  assert.equal(refused(await read({ ...good, headers: unsigned })), 403);
  const short = new Headers(good.headers);
  short.set("telnyx-signature-ed25519", btoa("x".repeat(63)));
  assert.equal(refused(await read({ ...good, headers: short })), 403);
  assert.equal(
    refused(await read(await signed(at, other.privateKey))),
    403,
    "another account's key",
  );
  // Within 300 s either way is fresh; beyond is a replay.
  assert.equal(only(await read(await signed(at - 299))).status, "undelivered");
  assert.equal(only(await read(await signed(at + 299))).status, "undelivered");
  assert.equal(refused(await read(await signed(at - 301))), 403);
  assert.equal(refused(await read(await signed(at + 301))), 403);
  assert.equal(refused(await read({ ...good, method: "GET" })), 403);
});

Deno.test("telnyx report: statuses in the common vocabulary; error 40300 is an opt-out", async () => {
  const keys = await telnyxKeyPair();
  const url = `${PUBLIC_URL}/telnyx/status`;
  const read = createTelnyxReportReader({ publicKey: keys.publicKey });
  const rows: [string, string[], string, number | undefined, boolean][] = [
    ["queued", [], "sent", undefined, false],
    ["sending", [], "sent", undefined, false],
    ["sent", [], "sent", undefined, false],
    ["delivery_unconfirmed", [], "sent", undefined, false],
    ["delivered", [], "delivered", undefined, false],
    ["delivery_failed", ["40300"], "undelivered", 40300, true], // blocked due to STOP
    ["delivery_failed", ["40001"], "undelivered", 40001, false],
    ["expired", [], "undelivered", undefined, false],
    ["sending_failed", ["40310"], "failed", 40310, false],
    ["brand_new_state", [], "sent", undefined, false],
  ];
  const id = crypto.randomUUID();
  for (const [status, errors, common, errorCode, optedOut] of rows) {
    const body = telnyxMessageEvent({ id, to: "+447700900123", status, errors });
    const req = await signedTelnyxReport({ privateKey: keys.privateKey, url, body });
    assert.deepEqual(only(await read(await inbound(req, url))), {
      providerId: id,
      status: common,
      ...(errorCode === undefined ? {} : { errorCode }),
      optedOut,
      to: "+447700900123",
    }, status);
  }
  // Codes also come as numbers.
  const numeric = telnyxMessageEvent({ id, to: "+447700900123", status: "delivery_failed" });
  (numeric.data as { payload: { errors: unknown[] } }).payload.errors = [{
    code: 40300,
    title: "Blocked",
  }];
  const req = await signedTelnyxReport({ privateKey: keys.privateKey, url, body: numeric });
  const report = only(await read(await inbound(req, url)));
  assert.equal(report.errorCode, 40300);
  assert.equal(report.optedOut, true);
});

Deno.test("telnyx report: other events carry no report; signed but unreadable is 400", async () => {
  const keys = await telnyxKeyPair();
  const url = `${PUBLIC_URL}/telnyx/status`;
  const read = createTelnyxReportReader({ publicKey: keys.publicKey });
  const verdict = async (body: Record<string, unknown> | string) =>
    read(await inbound(await signedTelnyxReport({ privateKey: keys.privateKey, url, body }), url));

  const received = telnyxMessageEvent({
    id: crypto.randomUUID(),
    to: "+14155550100",
    status: "webhook_delivered",
    eventType: "message.received",
  });
  assert.deepEqual(await verdict(received), { ok: true, reports: [] });

  const event = (payload: Record<string, unknown>) => {
    const body = telnyxMessageEvent({
      id: crypto.randomUUID(),
      to: "+447700900123",
      status: "delivered",
    });
    const data = body.data as { payload: Record<string, unknown> };
    data.payload = { ...data.payload, ...payload };
    return body;
  };
  const unreadable: [string, Record<string, unknown> | string][] = [
    ["not JSON", "delivered"],
    ["no data", { meta: {} }],
    ["no message id", event({ id: undefined })],
    ["an id of free text", event({ id: "not an id!" })],
    ["no recipient", event({ to: [] })],
    ["no status", event({ to: [{ phone_number: "+447700900123" }] })],
    [
      "a status too long",
      event({ to: [{ phone_number: "+447700900123", status: "s".repeat(33) }] }),
    ],
    ["a recipient that is no number", event({ to: [{ phone_number: "Acme", status: "sent" }] })],
  ];
  for (const [name, body] of unreadable) assert.equal(refused(await verdict(body)), 400, name);
});

Deno.test("vonage report: a receipt signed more than a day ago (a replay) is refused (found in review)", async () => {
  const at = 1385047698_000;
  const later = (ms: number) =>
    createVonageReportReader({ secret: VECTOR_SECRET, method: "sha256", now: () => at + ms });
  const request = () => vonageGet({ ...VECTOR, sig: VECTOR_SHA256 });
  assert.equal(refused(await later(86_399_000)(request())), 400, "a day old: still read");
  assert.equal(refused(await later(86_401_000)(request())), 403, "older: a replay");
  assert.equal(refused(await later(-301_000)(request())), 403, "from the future");
});
