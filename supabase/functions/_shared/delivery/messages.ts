/**
 * Renders what each channel says, in the user's language: the SMS text (built-in or the owner's
 * template, plus the autofill lines) and the voice script. WhatsApp sends only the code.
 *
 * @module
 */
import { isBuiltInLanguage, LANGUAGES, type ResolvedLocale, resolveLocale } from "./locale.ts";
import { type SmsEncoding, smsEncoding } from "./sms-encoding.ts";
import { fillTemplate, TEMPLATES } from "./templates.ts";

/** The owner's settings for messages. */
export interface MessageSettings {
  /** `OTP_APP_NAME`. */
  readonly appName?: string;
  /** `OTP_VALIDITY_MINUTES`. */
  readonly validityMinutes?: number;
  /** `OTP_ANDROID_APP_HASH`: the 11-character SMS Retriever hash. */
  readonly androidAppHash?: string;
  /** `OTP_WEBOTP_DOMAIN`: the origin host for the WebOTP line. */
  readonly webOtpDomain?: string;
  /**
   * Owner SMS templates by suffix: `""` for `OTP_SMS_TEMPLATE`, `"PT"` for
   * `OTP_SMS_TEMPLATE_PT`, `"PT_BR"` for `OTP_SMS_TEMPLATE_PT_BR`.
   */
  readonly smsTemplates: Readonly<Record<string, string>>;
}

/** A rendered SMS and what it costs. */
export interface RenderedSms {
  readonly body: string;
  /** The language it is in. */
  readonly language: string;
  /** The variable whose template was used, or `built-in`. */
  readonly template: string;
  readonly encoding: SmsEncoding;
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
  /**
   * The code's digits, read one at a time with pauses between them; none in a notice, whose
   * words are `intro`, said again as `again`.
   */
  readonly digits: readonly string[];
}

/** Renders messages under one set of settings. */
export interface Messages {
  /** The SMS for a code, in the first requested language we have words for. */
  sms(code: string, requested: readonly unknown[], country: string | undefined): RenderedSms;
  /** The voice script for a code. */
  voice(code: string, requested: readonly unknown[], country: string | undefined): VoiceScript;
  /** A script that says the caller's words (a notice without a code), in a voice for them. */
  speech(text: string, requested: readonly unknown[], country: string | undefined): VoiceScript;
  /** Languages SMS can be written in: built-in ones and those of owner templates. */
  readonly smsLanguages: ReadonlySet<string>;
}

const plurals = new Map<string, Intl.PluralRules>();
function pluralRules(language: string): Intl.PluralRules {
  let rules = plurals.get(language);
  if (!rules) plurals.set(language, rules = new Intl.PluralRules(language));
  return rules;
}

/** `"PT_BR"` → `"pt"`; `""` → `undefined`. */
function languageOfSuffix(suffix: string): string | undefined {
  return suffix === "" ? undefined : suffix.split("_")[0]!.toLowerCase();
}

/** The voice script for a code in a resolved locale; English where there is no voice. */
export function voiceScript(code: string, locale: ResolvedLocale): VoiceScript {
  const t = TEMPLATES[isBuiltInLanguage(locale.language) ? locale.language : "en"].voice;
  const regional = locale.region ? t.regions?.[locale.region] : undefined;
  return {
    language: regional?.language ?? t.language,
    voice: regional?.voice ?? t.voice,
    intro: t.intro,
    again: t.again,
    digits: [...code],
  };
}

/**
 * Creates the renderer.
 *
 * @example
 * ```ts
 * const messages = createMessages({ appName: "Acme", smsTemplates: {} });
 * messages.sms("123456", ["pt-BR"], "BR").body; // "Seu código Acme: 123456."
 * ```
 */
export function createMessages(settings: MessageSettings): Messages {
  const smsLanguages = new Set<string>([
    ...LANGUAGES,
    ...Object.keys(settings.smsTemplates).map(languageOfSuffix).filter((l) => l !== undefined),
  ]);
  const values = (code: string) => ({
    code,
    app: settings.appName,
    minutes: settings.validityMinutes,
  });

  /** The owner's template for a locale: PT_BR, then PT, then the generic one. */
  function ownerTemplate(locale: ResolvedLocale): [string, string] | undefined {
    const lang = locale.language.toUpperCase();
    const keys = locale.region ? [`${lang}_${locale.region}`, lang, ""] : [lang, ""];
    for (const key of keys) {
      const template = settings.smsTemplates[key];
      if (template !== undefined) {
        return [key === "" ? "OTP_SMS_TEMPLATE" : `OTP_SMS_TEMPLATE_${key}`, template];
      }
    }
    return undefined;
  }

  return {
    smsLanguages,
    sms(code, requested, country) {
      const locale = resolveLocale(requested, country, smsLanguages);
      const owner = ownerTemplate(locale);
      let text: string;
      if (owner) {
        text = fillTemplate(owner[1], values(code));
      } else {
        const language = isBuiltInLanguage(locale.language) ? locale.language : "en";
        const all = TEMPLATES[language];
        const t = (locale.region ? all.smsRegions?.[locale.region] : undefined) ?? all.sms;
        text = fillTemplate(settings.appName ? t.withApp : t.withoutApp, values(code));
        if (settings.validityMinutes !== undefined) {
          const form = pluralRules(language).select(settings.validityMinutes);
          text += fillTemplate(t.validity[form] ?? t.validity.other, values(code));
        }
      }
      // Autofill: Android's SMS Retriever finds its app hash anywhere; WebOTP needs its
      // origin-bound line to be the last one.
      if (settings.androidAppHash) text += `\n${settings.androidAppHash}`;
      if (settings.webOtpDomain) text += `\n@${settings.webOtpDomain} #${code}`;
      return {
        body: text,
        language: locale.language,
        template: owner?.[0] ?? "built-in",
        encoding: smsEncoding(text),
      };
    },
    voice(code, requested, country) {
      return voiceScript(code, resolveLocale(requested, country));
    },
    speech(text, requested, country) {
      // No digits: providers say the words, pause, and say them again.
      return { ...voiceScript("", resolveLocale(requested, country)), intro: text, again: text };
    },
  };
}

/** How one language's SMS travels under the current settings, with the longest code. */
export interface SegmentReportLine {
  readonly language: string;
  /** `built-in` or the owner's variable. */
  readonly template: string;
  readonly encoding: SmsEncoding["encoding"];
  readonly segments: number;
}

/**
 * The SMS of every language (and every owner template) rendered with a 10-digit code, the
 * longest Auth sends: logged at start so the owner sees what each message costs.
 */
export function segmentReport(messages: Messages, settings: MessageSettings): SegmentReportLine[] {
  const probes: { requested: string[]; country?: string }[] = [
    ...[...messages.smsLanguages].map((language) => ({ requested: [language] })),
    // Regional owner templates (OTP_SMS_TEMPLATE_PT_BR) are reached through their region.
    ...Object.keys(settings.smsTemplates).filter((k) => k.includes("_")).map((k) => ({
      requested: [k.replace("_", "-")],
    })),
  ];
  return probes.map(({ requested }) => {
    const sms = messages.sms("0123456789", requested, undefined);
    return {
      language: requested[0]!,
      template: sms.template,
      encoding: sms.encoding.encoding,
      segments: sms.encoding.segments,
    };
  });
}
