/**
 * SMS through Twilio's Messages API.
 *
 * @module
 */
import type { TwilioSmsSender } from "./config.ts";
import type { TwilioClient } from "./index.ts";

/** Sends one SMS; resolves with the Message resource's SID (possibly empty if Twilio omits it). */
export async function sendSms(
  client: TwilioClient,
  sender: TwilioSmsSender,
  message: { to: string; body: string; statusCallback?: string; validitySeconds?: number },
): Promise<string> {
  const created = await client.messages.create({
    to: message.to,
    body: message.body,
    ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
    // A code that sat in Twilio's queue past its validity is dropped rather than sent late.
    ...(message.validitySeconds === undefined ? {} : { validityPeriod: message.validitySeconds }),
    ...("messagingServiceSid" in sender
      ? { messagingServiceSid: sender.messagingServiceSid }
      : { from: sender.from }),
  });
  return created.sid;
}
