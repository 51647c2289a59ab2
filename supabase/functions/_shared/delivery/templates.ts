/**
 * The built-in words of every message, one entry per language: SMS text and the voice script,
 * with the Twilio `<Say>` voice for the language. WhatsApp has none: its words are the approved
 * template's, and only the code is sent.
 *
 * SMS wording is chosen to fit one segment with a 10-digit code and a 20-character app name:
 * 160 characters where the text is GSM-7, 70 where any character (`ó`, `ç`, Devanagari, …) makes
 * it UCS-2 (tests/delivery/messages_test.ts checks every language). Each text contains the word
 * for "code" in its language: iOS offers the code for autofill when it sees it.
 *
 * @module
 */
import type { Language } from "./locale.ts";

/** Placeholders a template may use. */
export const PLACEHOLDERS = ["code", "app", "minutes"] as const;
/** One of {@linkcode PLACEHOLDERS}. */
export type Placeholder = typeof PLACEHOLDERS[number];

/**
 * The validity sentence by plural category of the minutes (`Intl.PluralRules`): `other` is
 * required, the rest where the language needs them ("1 minute", Arabic "3 دقائق").
 */
export type PluralForms =
  & { readonly other: string }
  & Partial<
    Record<Intl.LDMLPluralRule, string>
  >;

/** The SMS words of a language or of one of its regions. */
export interface SmsTemplates {
  /** With `OTP_APP_NAME` set. */
  readonly withApp: string;
  readonly withoutApp: string;
  /** Appended when `OTP_VALIDITY_MINUTES` is set. */
  readonly validity: PluralForms;
}

/** The words of one language. */
export interface LanguageTemplates {
  /** The word for "code" that every SMS in this language contains. */
  readonly codeWord: string;
  readonly sms: SmsTemplates;
  /** Regions whose written language differs (Traditional Chinese, European Portuguese). */
  readonly smsRegions?: Readonly<Record<string, SmsTemplates>>;
  readonly voice: {
    /** Twilio `<Say>` language and voice (Amazon Polly; Google for Indonesian). */
    readonly language: string;
    readonly voice: string;
    /** Voices for regions whose accent listeners expect. */
    readonly regions?: Readonly<Record<string, { language: string; voice: string }>>;
    readonly intro: string;
    /** Said before the code is read the second time. */
    readonly again: string;
  };
}

/** Built-in templates for every supported language. */
export const TEMPLATES: Readonly<Record<Language, LanguageTemplates>> = {
  en: {
    codeWord: "code",
    sms: {
      withApp: "Your {app} code is {code}.",
      withoutApp: "Your verification code is {code}.",
      validity: {
        one: " It expires in {minutes} minute.",
        other: " It expires in {minutes} minutes.",
      },
    },
    voice: {
      language: "en-US",
      voice: "Polly.Joanna",
      regions: {
        GB: { language: "en-GB", voice: "Polly.Amy" },
        AU: { language: "en-AU", voice: "Polly.Nicole" },
        IN: { language: "en-IN", voice: "Polly.Raveena" },
      },
      intro: "Your verification code is",
      again: "Once again, your code is",
    },
  },
  es: {
    codeWord: "código",
    sms: {
      withApp: "Tu código de {app} es {code}.",
      withoutApp: "Tu código de verificación es {code}.",
      validity: { other: " Vence en {minutes} min." },
    },
    voice: {
      language: "es-US",
      voice: "Polly.Lupe",
      regions: { ES: { language: "es-ES", voice: "Polly.Lucia" } },
      intro: "Tu código de verificación es",
      again: "Repito, tu código es",
    },
  },
  pt: {
    codeWord: "código",
    sms: {
      withApp: "Seu código {app}: {code}.",
      withoutApp: "Seu código de verificação: {code}.",
      validity: { other: " Expira em {minutes} min." },
    },
    smsRegions: {
      PT: {
        withApp: "O seu código {app}: {code}.",
        withoutApp: "O seu código de verificação: {code}.",
        validity: { other: " Expira em {minutes} min." },
      },
    },
    voice: {
      language: "pt-BR",
      voice: "Polly.Camila",
      regions: { PT: { language: "pt-PT", voice: "Polly.Ines" } },
      intro: "Seu código de verificação é",
      again: "Repetindo, seu código é",
    },
  },
  fr: {
    codeWord: "code",
    sms: {
      withApp: "Votre code {app} est {code}.",
      withoutApp: "Votre code de vérification est {code}.",
      validity: { other: " Valable {minutes} min." },
    },
    voice: {
      language: "fr-FR",
      voice: "Polly.Lea",
      regions: { CA: { language: "fr-CA", voice: "Polly.Chantal" } },
      intro: "Votre code de vérification est",
      again: "Je répète, votre code est",
    },
  },
  de: {
    codeWord: "Code",
    sms: {
      withApp: "Ihr Code für {app} lautet {code}.",
      withoutApp: "Ihr Bestätigungscode lautet {code}.",
      validity: { one: " {minutes} Minute gültig.", other: " {minutes} Minuten gültig." },
    },
    voice: {
      language: "de-DE",
      voice: "Polly.Vicki",
      intro: "Ihr Bestätigungscode lautet",
      again: "Noch einmal, Ihr Code lautet",
    },
  },
  it: {
    codeWord: "codice",
    sms: {
      withApp: "Il tuo codice {app} è {code}.",
      withoutApp: "Il tuo codice di verifica è {code}.",
      validity: { one: " Scade tra {minutes} minuto.", other: " Scade tra {minutes} minuti." },
    },
    voice: {
      language: "it-IT",
      voice: "Polly.Bianca",
      intro: "Il tuo codice di verifica è",
      again: "Ripeto, il tuo codice è",
    },
  },
  nl: {
    codeWord: "code",
    sms: {
      withApp: "Uw code voor {app} is {code}.",
      withoutApp: "Uw verificatiecode is {code}.",
      validity: { one: " {minutes} minuut geldig.", other: " {minutes} minuten geldig." },
    },
    voice: {
      language: "nl-NL",
      voice: "Polly.Lotte",
      intro: "Uw verificatiecode is",
      again: "Nogmaals, uw code is",
    },
  },
  hi: {
    codeWord: "कोड",
    sms: {
      withApp: "आपका {app} कोड: {code}",
      withoutApp: "आपका सत्यापन कोड: {code}",
      validity: { other: " ({minutes} मिनट तक मान्य)" },
    },
    voice: {
      language: "hi-IN",
      voice: "Polly.Aditi",
      intro: "आपका सत्यापन कोड है",
      again: "फिर से, आपका कोड है",
    },
  },
  id: {
    codeWord: "Kode",
    sms: {
      withApp: "Kode {app} Anda: {code}.",
      withoutApp: "Kode verifikasi Anda: {code}.",
      validity: { other: " Berlaku {minutes} menit." },
    },
    voice: {
      language: "id-ID",
      voice: "Google.id-ID-Standard-A",
      intro: "Kode verifikasi Anda adalah",
      again: "Sekali lagi, kode Anda adalah",
    },
  },
  ar: {
    codeWord: "رمز",
    sms: {
      withApp: "رمز {app}: {code}",
      withoutApp: "رمز التحقق الخاص بك: {code}",
      // 3 to 10 take the plural دقائق; other counts the singular دقيقة.
      validity: { few: " (صالح {minutes} دقائق)", other: " (صالح {minutes} دقيقة)" },
    },
    voice: {
      language: "arb",
      voice: "Polly.Zeina",
      intro: "رمز التحقق الخاص بك هو",
      again: "مرة أخرى، رمزك هو",
    },
  },
  ja: {
    codeWord: "コード",
    sms: {
      withApp: "{app}の確認コード：{code}",
      withoutApp: "確認コード：{code}",
      validity: { other: "（{minutes}分間有効）" },
    },
    voice: {
      language: "ja-JP",
      voice: "Polly.Mizuki",
      intro: "確認コードは",
      again: "もう一度繰り返します。確認コードは",
    },
  },
  zh: {
    codeWord: "验证码",
    sms: {
      withApp: "您的{app}验证码：{code}。",
      withoutApp: "您的验证码：{code}。",
      validity: { other: "{minutes}分钟内有效。" },
    },
    // Traditional characters where they are written.
    smsRegions: Object.fromEntries(["TW", "HK", "MO"].map((region) => [region, {
      withApp: "您的{app}驗證碼：{code}。",
      withoutApp: "您的驗證碼：{code}。",
      validity: { other: "{minutes}分鐘內有效。" },
    }])),
    voice: {
      language: "cmn-CN",
      voice: "Polly.Zhiyu",
      intro: "您的验证码是",
      again: "再说一遍，您的验证码是",
    },
  },
};

/** The placeholders a template uses, e.g. `["code", "app"]`; unknown ones are included as found. */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
}

/** Replaces `{code}`, `{app}` and `{minutes}`. */
export function fillTemplate(
  template: string,
  values: { code: string; app?: string; minutes?: number },
): string {
  return template.replace(/\{(code|app|minutes)\}/g, (_, name: Placeholder) => {
    if (name === "code") return values.code;
    if (name === "app") return values.app ?? "";
    return values.minutes === undefined ? "" : String(values.minutes);
  });
}
