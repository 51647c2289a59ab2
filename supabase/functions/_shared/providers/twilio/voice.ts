/**
 * Voice calls through Twilio's Calls API, with the TwiML inline.
 *
 * @module
 */
import type { VoiceScript } from "../../delivery/messages.ts";
import type { TwilioClient } from "./index.ts";

/** Twilio's limit for inline `Twiml`. */
export const MAX_TWIML_CHARS = 4000;

const XML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/**
 * The call's TwiML: the introduction, the code digit by digit with a pause after each digit
 * (a code read fast is a code misheard), a longer pause, then all of it again.
 *
 * @example
 * ```ts
 * renderTwiml(voiceScript("123456", { language: "en", region: "US" }));
 * ```
 */
export function renderTwiml(script: VoiceScript): string {
  const attrs = `language="${escapeXml(script.language)}" voice="${escapeXml(script.voice)}"`;
  const say = (text: string) => `<Say ${attrs}>${escapeXml(text)}</Say>`;
  const digits = script.digits.map((d) => `${say(d)}<Pause length="1"/>`).join("");
  const head = `<?xml version="1.0" encoding="UTF-8"?><Response>`;
  let twiml = digits === ""
    // A script without digits (a notice) is its words, a pause, and the words again.
    ? `${head}${say(script.intro)}<Pause length="2"/>${say(script.again)}</Response>`
    : `${head}${say(script.intro)}<Pause length="1"/>${digits}<Pause length="1"/>` +
      `${say(script.again)}<Pause length="1"/>${digits}</Response>`;
  // A long notice is said once rather than not at all.
  if (twiml.length > MAX_TWIML_CHARS && digits === "") {
    twiml = `${head}${say(script.intro)}</Response>`;
  }
  if (twiml.length > MAX_TWIML_CHARS) {
    throw new RangeError(`TwiML is ${twiml.length} characters, over Twilio's ${MAX_TWIML_CHARS}`);
  }
  return twiml;
}

/** Places the call; resolves with the Call resource's SID. */
export async function sendVoice(
  client: TwilioClient,
  config: { from: string },
  message: { to: string; script: VoiceScript; statusCallback?: string },
): Promise<string> {
  const created = await client.calls.create({
    // Calls report their end (completed, busy, no-answer, failed) by default.
    ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
    to: message.to,
    from: config.from,
    twiml: renderTwiml(message.script),
  });
  return created.sid;
}
