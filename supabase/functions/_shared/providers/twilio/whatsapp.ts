/**
 * WhatsApp through Twilio's Messages API, with an approved authentication template.
 *
 * Business-initiated messages outside a 24-hour customer session must use a template; WhatsApp
 * authentication templates carry exactly one variable, the code (and add the copy-code button).
 *
 * @module
 */
import type { TwilioWhatsAppConfig } from "./config.ts";
import type { TwilioClient } from "./index.ts";

/** Sends the template with the code; resolves with the Message resource's SID. */
export async function sendWhatsApp(
  client: TwilioClient,
  config: TwilioWhatsAppConfig,
  message: { to: string; code: string; statusCallback?: string },
): Promise<string> {
  const created = await client.messages.create({
    ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
    to: `whatsapp:${message.to}`,
    from: config.from,
    contentSid: config.contentSid,
    contentVariables: JSON.stringify({ "1": message.code }),
  });
  return created.sid;
}
