import assert from "node:assert/strict";
import {
  normalizeLocale,
  resolveLocale,
} from "../../supabase/functions/_shared/delivery/locale.ts";
import { voiceScript } from "../../supabase/functions/_shared/delivery/messages.ts";
import {
  escapeXml,
  MAX_TWIML_CHARS,
  renderTwiml,
} from "../../supabase/functions/_shared/providers/twilio/voice.ts";

const CODE = "4096318257"; // ten digits, the longest code Auth sends

/** The text of every <Say> element, in order. */
function spoken(twiml: string): string[] {
  return [...twiml.matchAll(/<Say [^>]*>([^<]*)<\/Say>/g)].map((m) => m[1]!);
}

const LANGUAGES: [string, string, string, string][] = [
  // requested locale, expected <Say> language, voice, a word of the introduction
  ["en-US", "en-US", "Polly.Joanna", "verification code"],
  ["es", "es-US", "Polly.Lupe", "código"],
  ["pt-BR", "pt-BR", "Polly.Camila", "código"],
  ["fr", "fr-FR", "Polly.Lea", "code"],
  ["de-DE", "de-DE", "Polly.Vicki", "Bestätigungscode"],
  ["ja", "ja-JP", "Polly.Mizuki", "確認コード"],
  ["ar", "arb", "Polly.Zeina", "رمز"],
  ["zh-CN", "cmn-CN", "Polly.Zhiyu", "验证码"],
  ["hi", "hi-IN", "Polly.Aditi", "कोड"],
  ["id", "id-ID", "Google.id-ID-Standard-A", "Kode"],
];

for (const [locale, language, voice, word] of LANGUAGES) {
  Deno.test(`voice TwiML in ${locale}: digits one by one with pauses, said twice, under 4000`, () => {
    const twiml = renderTwiml(voiceScript(CODE, resolveLocale([locale], undefined)));
    assert.ok(twiml.length <= MAX_TWIML_CHARS, `${twiml.length} characters`);
    assert.match(twiml, /^<\?xml version="1\.0" encoding="UTF-8"\?><Response>.*<\/Response>$/);
    // Every <Say> speaks in the language's voice.
    const says = [...twiml.matchAll(/<Say language="([^"]+)" voice="([^"]+)">/g)];
    assert.ok(says.length > 0);
    for (const m of says) assert.deepEqual([m[1], m[2]], [language, voice]);
    // Introduction, ten digits, the repeat sentence, ten digits.
    const texts = spoken(twiml);
    assert.equal(texts.length, 22);
    assert.ok(texts[0]!.includes(word), `${texts[0]} includes ${word}`);
    assert.deepEqual(texts.slice(1, 11), [...CODE]);
    assert.deepEqual(texts.slice(12), [...CODE]);
    // A pause after every digit, so the code is not rattled off.
    assert.equal(twiml.match(/<\/Say><Pause length="1"\/>/g)?.length, 22);
  });
}

Deno.test("voice: region picks the accent (pt-PT, es-ES, en-GB), country picks the language", () => {
  assert.equal(voiceScript(CODE, resolveLocale(["pt-PT"], undefined)).voice, "Polly.Ines");
  assert.equal(voiceScript(CODE, resolveLocale(["es_ES"], undefined)).voice, "Polly.Lucia");
  assert.equal(voiceScript(CODE, resolveLocale([], "GB")).voice, "Polly.Amy");
  assert.equal(voiceScript(CODE, resolveLocale([], "BR")).voice, "Polly.Camila");
  assert.equal(voiceScript(CODE, resolveLocale([], "MX")).language, "es-US");
  assert.equal(voiceScript(CODE, resolveLocale(["sw"], "KE")).language, "en-US");
});

Deno.test("voice: text is XML-escaped in content and attributes", () => {
  assert.equal(escapeXml(`<&>"'`), "&lt;&amp;&gt;&quot;&apos;");
  const twiml = renderTwiml({
    language: `en"US`,
    voice: "Polly.<x>",
    intro: "Codes & <things>",
    again: "'again'",
    digits: ["1"],
  });
  assert.ok(twiml.includes(`language="en&quot;US" voice="Polly.&lt;x&gt;"`));
  assert.ok(twiml.includes("Codes &amp; &lt;things&gt;"));
  assert.ok(twiml.includes("&apos;again&apos;"));
  assert.ok(!twiml.includes("<things>"));
});

Deno.test("voice: TwiML over Twilio's 4000 characters is refused before any call", () => {
  assert.throws(
    () =>
      renderTwiml({
        language: "en-US",
        voice: "Polly.Joanna",
        intro: "x".repeat(4000),
        again: "",
        digits: ["1"],
      }),
    RangeError,
  );
});

Deno.test("locale: tags as the platforms send them are normalised to BCP 47", () => {
  const table: [unknown, string | undefined][] = [
    ["EN-US", "en-US"],
    ["en_US", "en-US"],
    ["pt-br", "pt-BR"],
    ["en", "en"],
    ["zh-hant-tw", "zh-Hant-TW"],
    ["", undefined],
    ["not a tag!", undefined],
    [42, undefined],
    [null, undefined],
  ];
  for (const [raw, expected] of table) assert.equal(normalizeLocale(raw), expected, String(raw));
});

Deno.test("locale: requested language first, then the country's, then English", () => {
  assert.deepEqual(resolveLocale(["fr-CA"], "US"), { language: "fr", region: "CA" });
  assert.deepEqual(resolveLocale(["xx", "de"], "US"), { language: "de", region: "US" });
  assert.deepEqual(resolveLocale([undefined], "IN"), { language: "hi", region: "IN" });
  assert.deepEqual(resolveLocale([], "JP"), { language: "ja", region: "JP" });
  assert.deepEqual(resolveLocale([], undefined), { language: "en", region: undefined });
});

Deno.test("voice: a notice (no digits) is its words, a pause, and the words again", () => {
  const script = {
    language: "en-US",
    voice: "Polly.Joanna",
    intro: "Hi.",
    again: "Hi.",
    digits: [],
  };
  const twiml = renderTwiml(script);
  assert.deepEqual(spoken(twiml), ["Hi.", "Hi."]);
  assert.match(twiml, /<\/Say><Pause length="2"\/><Say /);
  // Too long to say twice: said once rather than refused.
  const long = "y".repeat(2500);
  assert.deepEqual(spoken(renderTwiml({ ...script, intro: long, again: long })), [long]);
});
