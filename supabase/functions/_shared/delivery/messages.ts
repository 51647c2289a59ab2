/**
 * The words of each message. Plain wording with the word "code" (iOS autofill keys on it).
 *
 * @module
 */
import type { Language, ResolvedLocale } from "./locale.ts";

/** Renders the SMS text for a code. */
export function renderSms(code: string, appName: string | undefined): string {
  return appName ? `Your ${appName} code is ${code}` : `Your verification code is ${code}`;
}

/**
 * What a call says: an introduction, the code digit by digit, then the same again. Providers
 * turn it into their markup (TwiML for Twilio).
 */
export interface VoiceScript {
  /** The speech language as the provider names it (`en-US`, `arb`, `cmn-CN`). */
  readonly language: string;
  /** A voice the provider supports for that language (`Polly.Joanna`). */
  readonly voice: string;
  readonly intro: string;
  /** Said before the code is read the second time. */
  readonly again: string;
  /** The code's digits, read one at a time with pauses between them. */
  readonly digits: readonly string[];
}

interface SpokenLanguage {
  readonly language: string;
  readonly voice: string;
  /** Region-specific voices, where the accent matters to listeners. */
  readonly regions?: Readonly<Record<string, { language: string; voice: string }>>;
  readonly intro: string;
  readonly again: string;
}

/**
 * Voices Twilio's `<Say>` supports (Amazon Polly, Google for Indonesian), and the words in each
 * language.
 */
const SPOKEN: Readonly<Record<Language, SpokenLanguage>> = {
  en: {
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
  es: {
    language: "es-US",
    voice: "Polly.Lupe",
    regions: { ES: { language: "es-ES", voice: "Polly.Lucia" } },
    intro: "Tu código de verificación es",
    again: "Otra vez, tu código es",
  },
  pt: {
    language: "pt-BR",
    voice: "Polly.Camila",
    regions: { PT: { language: "pt-PT", voice: "Polly.Ines" } },
    intro: "Seu código de verificação é",
    again: "Repetindo, seu código é",
  },
  fr: {
    language: "fr-FR",
    voice: "Polly.Lea",
    regions: { CA: { language: "fr-CA", voice: "Polly.Chantal" } },
    intro: "Votre code de vérification est",
    again: "Je répète, votre code est",
  },
  de: {
    language: "de-DE",
    voice: "Polly.Vicki",
    intro: "Ihr Bestätigungscode lautet",
    again: "Noch einmal, Ihr Code lautet",
  },
  it: {
    language: "it-IT",
    voice: "Polly.Bianca",
    intro: "Il tuo codice di verifica è",
    again: "Ripeto, il tuo codice è",
  },
  nl: {
    language: "nl-NL",
    voice: "Polly.Lotte",
    intro: "Uw verificatiecode is",
    again: "Nogmaals, uw code is",
  },
  hi: {
    language: "hi-IN",
    voice: "Polly.Aditi",
    intro: "आपका सत्यापन कोड है",
    again: "फिर से, आपका कोड है",
  },
  id: {
    language: "id-ID",
    voice: "Google.id-ID-Standard-A",
    intro: "Kode verifikasi Anda adalah",
    again: "Sekali lagi, kode Anda adalah",
  },
  ar: {
    language: "arb",
    voice: "Polly.Zeina",
    intro: "رمز التحقق الخاص بك هو",
    again: "مرة أخرى، رمزك هو",
  },
  ja: {
    language: "ja-JP",
    voice: "Polly.Mizuki",
    intro: "あなたの確認コードは",
    again: "もう一度、確認コードは",
  },
  zh: {
    language: "cmn-CN",
    voice: "Polly.Zhiyu",
    intro: "您的验证码是",
    again: "再说一遍，您的验证码是",
  },
};

/**
 * The call script for a code in a language.
 *
 * @example
 * ```ts
 * voiceScript("123456", { language: "pt", region: "BR" }).voice; // "Polly.Camila"
 * ```
 */
export function voiceScript(code: string, locale: ResolvedLocale): VoiceScript {
  const spoken = SPOKEN[locale.language];
  const regional = locale.region ? spoken.regions?.[locale.region] : undefined;
  return {
    language: regional?.language ?? spoken.language,
    voice: regional?.voice ?? spoken.voice,
    intro: spoken.intro,
    again: spoken.again,
    digits: [...code],
  };
}
