import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import { ConfigError, loadConfig } from "../../supabase/functions/_shared/config.ts";
import { LANGUAGES } from "../../supabase/functions/_shared/delivery/locale.ts";
import {
  createMessages,
  type MessageSettings,
} from "../../supabase/functions/_shared/delivery/messages.ts";
import { smsEncoding } from "../../supabase/functions/_shared/delivery/sms-encoding.ts";
import { TEMPLATES } from "../../supabase/functions/_shared/delivery/templates.ts";
import { captureLogs, TEST_SECRET } from "../_helpers.ts";

const CODE10 = "0123456789";
const APP20 = "Acme Banking Online!";
const base: MessageSettings = { smsTemplates: {} };

function settingsFrom(env: Record<string, string>): MessageSettings {
  return loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console", ...env })
    .messages;
}

// --- Locale resolution -------------------------------------------------------------------

const LOCALES: [unknown[], string | undefined, string][] = [
  // requested (user_metadata.locale, user_metadata.language, caller locale), country, language
  [["pt-BR"], "US", "pt"],
  [["pt-br"], undefined, "pt"],
  [["EN-US"], "BR", "en"],
  [["en_US"], "BR", "en"],
  [["en"], "JP", "en"],
  [[undefined, "es"], "US", "es"], // user_metadata.language when locale is absent
  [[undefined, undefined, "FR"], "US", "fr"], // a later candidate when the earlier are absent
  [["xx-YY", "de"], "US", "de"], // first supported wins
  [["sw"], "KE", "en"], // unsupported, country without a language of ours
  [["sw"], "BR", "pt"], // unsupported, the country's language
  [["!!"], "MX", "es"], // not a tag at all
  [[], "MX", "es"],
  [[], "JP", "ja"],
  [[], "IN", "hi"],
  [[], "CN", "zh"],
  [[], "EG", "ar"],
  [[], "ID", "id"],
  [[], "NL", "nl"],
  [[], "DE", "de"],
  [[], "IT", "it"],
  [[], "FR", "fr"],
  [[], "US", "en"],
  [[], undefined, "en"],
  [[42, null], "DE", "de"], // non-strings are ignored
];

for (const [requested, country, language] of LOCALES) {
  Deno.test(`locale: ${JSON.stringify(requested)} for a ${country ?? "?"} number → ${language}`, () => {
    const sms = createMessages(base).sms("123456", requested, country);
    assert.equal(sms.language, language);
  });
}

Deno.test("locale: the table has at least 15 rows", () => assert.ok(LOCALES.length >= 15));

Deno.test("locale: an owner template adds a language we have no words for", () => {
  const messages = createMessages(settingsFrom({ OTP_SMS_TEMPLATE_SV: "Din kod är {code}" }));
  const sms = messages.sms("123456", ["sv-SE"], "SE");
  assert.equal(sms.language, "sv");
  assert.equal(sms.body, "Din kod är 123456");
  assert.equal(sms.template, "OTP_SMS_TEMPLATE_SV");
});

// --- Built-in templates × languages × segment budgets ------------------------------------

const GSM7_LANGUAGES = ["en", "fr", "de", "it", "nl", "id"];

/** The word for "code" a native reader looks for, written here independently of the table. */
const CODE_WORDS: Record<string, string> = {
  en: "code",
  es: "código",
  pt: "código",
  fr: "code",
  de: "code",
  it: "codice",
  nl: "code",
  hi: "कोड",
  id: "kode",
  ar: "رمز",
  ja: "コード",
  zh: "验证码",
};

for (const language of LANGUAGES) {
  Deno.test(`templates (${language}): the code, the word for code, one segment with a 20-char app name`, () => {
    const codeWord = CODE_WORDS[language]!;
    assert.equal(TEMPLATES[language].codeWord.toLowerCase(), codeWord);
    for (const appName of [undefined, APP20]) {
      for (const validityMinutes of [undefined, 5, 1440]) {
        const messages = createMessages({
          ...(appName ? { appName } : {}),
          ...(validityMinutes ? { validityMinutes } : {}),
          smsTemplates: {},
        });
        const sms = messages.sms(CODE10, [language], undefined);
        const label = `${language} app=${appName} minutes=${validityMinutes}: ${sms.body}`;
        assert.equal(sms.language, language);
        assert.ok(sms.body.includes(CODE10), label);
        assert.ok(
          sms.body.toLowerCase().includes(codeWord.toLowerCase()),
          `${label} has ${codeWord}`,
        );
        if (appName) assert.ok(sms.body.includes(appName), label);
        if (validityMinutes) assert.ok(sms.body.includes(String(validityMinutes)), label);
        assert.equal(sms.encoding.segments, 1, `${label} is ${JSON.stringify(sms.encoding)}`);
        assert.equal(
          sms.encoding.encoding,
          GSM7_LANGUAGES.includes(language) ? "GSM-7" : "UCS-2",
          `${label}: wording decides the encoding`,
        );
      }
    }
  });

  Deno.test(`templates (${language}): with both autofill lines, GSM-7 in one segment, UCS-2 in two at most`, () => {
    const messages = createMessages({
      appName: "Acme App",
      validityMinutes: 10,
      androidAppHash: "FA+9qCX9VSu",
      webOtpDomain: "examples.com",
      smsTemplates: {},
    });
    const sms = messages.sms(CODE10, [language], undefined);
    const lines = sms.body.split("\n");
    assert.equal(lines.at(-2), "FA+9qCX9VSu");
    assert.equal(lines.at(-1), `@examples.com #${CODE10}`);
    const max = sms.encoding.encoding === "GSM-7" ? 1 : 2;
    assert.ok(sms.encoding.segments <= max, `${language}: ${JSON.stringify(sms.encoding)}`);
  });
}

Deno.test("templates: the voice script comes from the same template set", () => {
  const messages = createMessages(base);
  for (const language of LANGUAGES) {
    const script = messages.voice("123", [language], undefined);
    assert.equal(script.intro, TEMPLATES[language].voice.intro);
    assert.equal(script.voice, TEMPLATES[language].voice.voice);
    assert.deepEqual(script.digits, ["1", "2", "3"]);
  }
});

// --- Encoding and segments ----------------------------------------------------------------

Deno.test("encoding: GSM-7 basic characters, including the accented ones it has", () => {
  assert.deepEqual(smsEncoding("Votre code de vérification est 123456."), {
    encoding: "GSM-7",
    units: 38,
    segments: 1,
  });
  assert.equal(smsEncoding("Für Ihr Konto: ÄÖÜäöüß Ññ èéùìò Çø").encoding, "GSM-7");
  assert.equal(smsEncoding("line one\nline two").encoding, "GSM-7");
});

Deno.test("encoding: extension characters (€, [, ], {, }, ~, ^, |, \\) cost two septets", () => {
  for (const c of ["€", "[", "]", "{", "}", "~", "^", "|", "\\"]) {
    assert.deepEqual(smsEncoding(c), { encoding: "GSM-7", units: 2, segments: 1 }, c);
  }
  assert.equal(smsEncoding("€".repeat(80)).segments, 1); // 160 septets
  assert.equal(smsEncoding("€".repeat(81)).segments, 2); // 162 septets
});

Deno.test("encoding: one character outside GSM-7 turns the whole message into UCS-2", () => {
  for (const text of ["Tu código es 123456", "ç", "Kod: 123 ğ", "验证码", "🔐 123456"]) {
    assert.equal(smsEncoding(text).encoding, "UCS-2", text);
  }
  assert.equal(smsEncoding("🔐").units, 2, "outside the BMP: two UTF-16 units");
});

Deno.test("encoding: segment boundaries (160/153 GSM-7, 70/67 UCS-2)", () => {
  const table: [string, number][] = [
    ["a".repeat(160), 1],
    ["a".repeat(161), 2],
    ["a".repeat(306), 2],
    ["a".repeat(307), 3],
    ["ó".repeat(70), 1],
    ["ó".repeat(71), 2],
    ["ó".repeat(134), 2],
    ["ó".repeat(135), 3],
    ["", 1],
  ];
  for (const [text, segments] of table) {
    assert.equal(smsEncoding(text).segments, segments, `${text.length} × ${text[0]}`);
  }
  // An escape pair is never split: 152 plain + € would straddle the first part's 153 septets.
  assert.equal(smsEncoding("a".repeat(152) + "€" + "a".repeat(152)).segments, 3);
  // A surrogate pair is never split either.
  assert.equal(smsEncoding("ó".repeat(66) + "🔐" + "ó".repeat(66)).segments, 3);
});

// --- Autofill ----------------------------------------------------------------------------

Deno.test("autofill: the SMS Retriever hash on its own line", () => {
  const sms = createMessages({ androidAppHash: "FA+9qCX9VSu", smsTemplates: {} })
    .sms("123456", ["en"], undefined);
  assert.equal(sms.body, "Your verification code is 123456.\nFA+9qCX9VSu");
});

Deno.test("autofill: the WebOTP origin-bound line is the last line", () => {
  const sms = createMessages({ webOtpDomain: "example.com", smsTemplates: {} })
    .sms("123456", ["en"], undefined);
  assert.equal(sms.body, "Your verification code is 123456.\n@example.com #123456");
});

Deno.test("autofill: settings are validated", () => {
  for (
    const [variable, value] of [
      ["OTP_ANDROID_APP_HASH", "short"],
      ["OTP_ANDROID_APP_HASH", "FA+9qCX9VSu!"],
      ["OTP_WEBOTP_DOMAIN", "https://example.com"],
      ["OTP_WEBOTP_DOMAIN", "example.com/login"],
      ["OTP_VALIDITY_MINUTES", "0"],
      ["OTP_VALIDITY_MINUTES", "ten"],
    ]
  ) {
    assert.throws(
      () => settingsFrom({ [variable!]: value! }),
      (err: unknown) => err instanceof ConfigError && err.problems[0]!.variable === variable,
      `${variable}=${value}`,
    );
  }
  assert.equal(
    settingsFrom({ OTP_WEBOTP_DOMAIN: "Login.Example.com" }).webOtpDomain,
    "login.example.com",
  );
});

// --- Owner overrides ---------------------------------------------------------------------

Deno.test("overrides: PT_BR, then PT, then OTP_SMS_TEMPLATE, then the built-in", () => {
  const settings = settingsFrom({
    OTP_APP_NAME: "Acme",
    OTP_VALIDITY_MINUTES: "10",
    OTP_SMS_TEMPLATE: "{app}: {code} ({minutes} min)",
    OTP_SMS_TEMPLATE_PT: "Código {app}: {code}",
    OTP_SMS_TEMPLATE_PT_BR: "Seu código {app} é {code}, válido por {minutes} min",
  });
  const messages = createMessages(settings);
  assert.equal(
    messages.sms("123456", ["pt-BR"], undefined).body,
    "Seu código Acme é 123456, válido por 10 min",
  );
  assert.equal(messages.sms("123456", [], "BR").template, "OTP_SMS_TEMPLATE_PT_BR");
  assert.equal(messages.sms("123456", ["pt-PT"], undefined).body, "Código Acme: 123456");
  assert.equal(messages.sms("123456", ["fr"], undefined).body, "Acme: 123456 (10 min)");
  const builtIn = createMessages(settingsFrom({ OTP_SMS_TEMPLATE_PT: "Código: {code}" }));
  assert.equal(builtIn.sms("123456", ["fr"], undefined).template, "built-in");
});

Deno.test("overrides: a literal \\n in a template is a line break", () => {
  const settings = settingsFrom({ OTP_SMS_TEMPLATE: "Code: {code}\\nDo not share it." });
  assert.equal(
    createMessages(settings).sms("123456", [], undefined).body,
    "Code: 123456\nDo not share it.",
  );
});

Deno.test("overrides: invalid templates are configuration errors naming the variable", () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ OTP_SMS_TEMPLATE: "Your code" }, "OTP_SMS_TEMPLATE", /must contain \{code\}/],
    [{ OTP_SMS_TEMPLATE_PT: "Código {codigo}" }, "OTP_SMS_TEMPLATE_PT", /must contain \{code\}/],
    [
      { OTP_SMS_TEMPLATE: "{code} for {user}" },
      "OTP_SMS_TEMPLATE",
      /unknown placeholders \(\{user\}\)/,
    ],
    [{ OTP_SMS_TEMPLATE_DE: "{app}: {code}" }, "OTP_SMS_TEMPLATE_DE", /OTP_APP_NAME is not set/],
    [
      { OTP_SMS_TEMPLATE: "{code}, {minutes} min" },
      "OTP_SMS_TEMPLATE",
      /OTP_VALIDITY_MINUTES is not set/,
    ],
    [{ OTP_SMS_TEMPLATE_PORTUGUESE: "{code}" }, "OTP_SMS_TEMPLATE_PORTUGUESE", /language tag/],
    [{ OTP_SMS_TEMPLATE_PT_: "{code}" }, "OTP_SMS_TEMPLATE_PT_", /language tag/],
    [{ OTP_SMS_TEMPLATE: "{code}" + "x".repeat(600) }, "OTP_SMS_TEMPLATE", /at most 600/],
  ];
  for (const [env, variable, message] of cases) {
    assert.throws(
      () => settingsFrom(env),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.variable === variable && message.test(p.message)),
      variable,
    );
  }
});

// --- At start ----------------------------------------------------------------------------

Deno.test("start: segments per language are logged; a long owner template is warned about", () => {
  const logs = captureLogs();
  appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    OTP_SMS_TEMPLATE_ES: "Tu código de verificación para ingresar a la aplicación es {code}. " +
      "No lo compartas con nadie.",
  }, { write: logs.write });
  const report = JSON.parse(logs.lines.find((l) => l.includes(`"sms_segments"`))!);
  assert.equal(report.languages.en, "GSM-7, 1 segment(s), built-in");
  assert.equal(report.languages.es, "UCS-2, 2 segment(s), OTP_SMS_TEMPLATE_ES");
  assert.equal(Object.keys(report.languages).length, 12);
  const warning = logs.lines.find((l) => l.includes(`"sms_template_segments"`));
  assert.ok(warning);
  assert.match(warning, /"variable":"OTP_SMS_TEMPLATE_ES"/);
  assert.match(warning, /"level":"warn"/);
});

Deno.test("README examples render exactly as documented", () => {
  const messages = createMessages({ appName: "Acme", validityMinutes: 10, smsTemplates: {} });
  assert.equal(
    messages.sms("482913", [], "US").body,
    "Your Acme code is 482913. It expires in 10 minutes.",
  );
  assert.equal(messages.sms("482913", [], "BR").body, "Seu código Acme: 482913. Expira em 10 min.");
  assert.equal(messages.sms("482913", ["ja"], "US").body, "Acmeの確認コード：482913（10分間有効）");
  const autofill = createMessages({
    appName: "Acme",
    androidAppHash: "FA+9qCX9VSu",
    webOtpDomain: "example.com",
    smsTemplates: {},
  });
  assert.equal(
    autofill.sms("482913", ["en"], undefined).body,
    "Your Acme code is 482913.\nFA+9qCX9VSu\n@example.com #482913",
  );
});

Deno.test("validity: plural forms by Intl.PluralRules", () => {
  const render = (language: string, minutes: number) =>
    createMessages({ validityMinutes: minutes, smsTemplates: {} }).sms(
      "123456",
      [language],
      undefined,
    )
      .body;
  assert.match(render("en", 1), /expires in 1 minute\.$/);
  assert.match(render("en", 2), /expires in 2 minutes\.$/);
  assert.match(render("de", 1), / 1 Minute gültig\.$/);
  assert.match(render("de", 10), / 10 Minuten gültig\.$/);
  assert.match(render("it", 1), /1 minuto\.$/);
  assert.match(render("nl", 1), /1 minuut geldig\.$/);
  assert.match(render("ar", 5), /5 دقائق/); // 3–10: plural
  assert.match(render("ar", 11), /11 دقيقة/); // 11–99: singular
});

Deno.test("regional writing: Traditional Chinese for TW/HK/MO and zh-Hant, O seu for Portugal", () => {
  const messages = createMessages({ smsTemplates: {} });
  for (
    const [requested, country] of [[[], "TW"], [[], "HK"], [["zh-Hant"], undefined], [
      ["zh-TW"],
      "CN",
    ]] as const
  ) {
    const body = messages.sms("123456", requested, country).body;
    assert.equal(body, "您的驗證碼：123456。", `${requested} ${country}`);
  }
  assert.equal(messages.sms("123456", [], "CN").body, "您的验证码：123456。");
  assert.equal(messages.sms("123456", [], "PT").body, "O seu código de verificação: 123456.");
  assert.equal(messages.sms("123456", [], "BR").body, "Seu código de verificação: 123456.");
});

Deno.test("overrides: OTP_SMS_TEMPLATE_ with an empty language is an error, not a silent override", () => {
  assert.throws(
    () => settingsFrom({ OTP_SMS_TEMPLATE: "A {code}", OTP_SMS_TEMPLATE_: "B {code}" }),
    (err: unknown) =>
      err instanceof ConfigError && err.problems.some((p) => p.variable === "OTP_SMS_TEMPLATE_"),
  );
});

Deno.test("overrides: templates and app names are NFC-normalised, so é stays GSM-7", () => {
  const decomposed = "Votre code Cafe\u0301 : {code}";
  assert.notEqual(decomposed, decomposed.normalize("NFC"), "the test input is decomposed");
  const settings = settingsFrom({ OTP_SMS_TEMPLATE_FR: decomposed, OTP_APP_NAME: "Cafe\u0301" });
  assert.equal(settings.appName, "Café");
  const sms = createMessages(settings).sms("123456", ["fr"], undefined);
  assert.equal(sms.encoding.encoding, "GSM-7", JSON.stringify(sms.body));
});

Deno.test("start: with an Android app hash, languages over one segment are warned about", () => {
  const logs = captureLogs();
  appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    OTP_APP_NAME: "Acme App",
    OTP_VALIDITY_MINUTES: "10",
    OTP_ANDROID_APP_HASH: "FA+9qCX9VSu",
    OTP_WEBOTP_DOMAIN: "examples.com",
  }, { write: logs.write });
  const warning = logs.lines.find((l) => l.includes(`"sms_retriever_too_long"`));
  assert.ok(warning);
  const languages = JSON.parse(warning).languages.split(",");
  assert.ok(languages.includes("es") && !languages.includes("en"), languages.join(","));
  // Without the hash, no such warning.
  const quiet = captureLogs();
  appFromEnv({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console" }, {
    write: quiet.write,
  });
  assert.ok(!quiet.lines.some((l) => l.includes(`"sms_retriever_too_long"`)));
});
