/**
 * The Twilio provider, on the official `twilio` SDK with a `fetch` HTTP client: SMS and
 * WhatsApp through the Messages API, voice through the Calls API, each in its own module.
 *
 * The SDK is imported on the first send, not at start, and only the modules a send needs
 * (`sdk.ts`): the package is large (docs/contracts.md §4.6) and a function that is only asked
 * for its health should not pay for it.
 *
 * @module
 */
import { raceAbort } from "../../async.ts";
import { twilioChannels, type TwilioConfig } from "./config.ts";
import type { Provider, ProviderCheck, SendResult } from "../../delivery/ports.ts";
import { checkTwilio } from "./check.ts";
import { classifyTwilioError, isTwilioError } from "./errors.ts";
import { createTwilioHttpClient, TwilioAnswerLostError } from "./http.ts";
import { sendSms } from "./sms.ts";
import { sendVoice } from "./voice.ts";
import { loadTwilioClient, type TwilioClientFactory } from "./sdk.ts";
import { sendWhatsApp } from "./whatsapp.ts";

export type { TwilioClient } from "./sdk.ts";

/** Options of {@linkcode createTwilioProvider}. */
export interface TwilioProviderDeps {
  fetch?: typeof fetch;
  /** Loads the SDK's client; tests may count calls. Defaults to {@linkcode loadTwilioClient}. */
  loadSdk?: () => Promise<TwilioClientFactory>;
}

/**
 * Creates the Twilio provider for the channels whose settings are present.
 *
 * @example
 * ```ts
 * const provider = createTwilioProvider(config.provider);
 * const result = await provider.send(message, { signal: AbortSignal.timeout(1500) });
 * ```
 */
export function createTwilioProvider(
  config: TwilioConfig,
  deps: TwilioProviderDeps = {},
): Provider {
  const loadSdk = deps.loadSdk ?? loadTwilioClient;
  let sdk: Promise<TwilioClientFactory> | undefined;

  return {
    name: "twilio",
    // It refuses an SMS to a number that opted out (its own code for it): see the port.
    refusesOptedOutAtSend: true,
    channels: twilioChannels(config),
    async send(message, { signal }): Promise<SendResult> {
      let requested = false;
      try {
        sdk ??= loadSdk().catch((err) => {
          sdk = undefined; // let the next send try again
          throw err;
        });
        // A cold import of the SDK ignores signals: don't let it outlast the attempt.
        const twilio = await raceAbort(sdk, signal);
        // One client per send: the HTTP client carries this send's AbortSignal.
        const httpClient = createTwilioHttpClient({
          apiBaseUrl: config.apiBaseUrl,
          signal,
          fetch: deps.fetch,
          onRequest: () => requested = true,
        });
        const client = twilio(config.accountSid, config.authToken, {
          httpClient,
          ...(config.region ? { region: config.region } : {}),
          ...(config.edge ? { edge: config.edge } : {}),
        });
        const to = message.to.e164;
        const statusCallback = config.statusCallbackUrl;
        let sid: string | undefined;
        if (message.channel === "sms" && config.sms) {
          sid = await sendSms(client, config.sms, {
            to,
            body: message.body,
            statusCallback,
            ...(config.validitySeconds === undefined
              ? {}
              : { validitySeconds: config.validitySeconds }),
          });
        } else if (message.channel === "whatsapp" && config.whatsapp) {
          sid = await sendWhatsApp(client, config.whatsapp, {
            to,
            code: message.code,
            statusCallback,
          });
        } else if (message.channel === "voice" && config.voice) {
          sid = await sendVoice(client, config.voice, {
            to,
            script: message.script,
            statusCallback,
          });
        } else {
          return {
            ok: false,
            reason: "channel_config",
            sent: "no",
            detail: `twilio has no settings for ${message.channel}`,
          };
        }
        if (typeof sid !== "string" || sid === "") {
          // Twilio answered 2xx, so the message may well be queued; without a SID success can't
          // be confirmed. Unknown, so the router tries no other channel (no double delivery).
          return {
            ok: false,
            reason: "internal",
            sent: "unknown",
            detail: "twilio answered without a SID",
          };
        }
        return { ok: true, id: sid };
      } catch (err) {
        const failure = classifyTwilioError(
          signal.aborted && !isTwilioError(err) && !(err instanceof TwilioAnswerLostError)
            ? signal.reason
            : err,
          message.channel,
        );
        // Nothing reached Twilio (SDK load failed or timed out, TwiML too long): the message
        // certainly did not leave, so a retry may send it.
        return requested ? failure : { ...failure, sent: "no" };
      }
    },
    /** Reads the account resource with a plain `fetch` (check.ts): the SDK is not loaded. */
    check(signal): Promise<ProviderCheck> {
      return checkTwilio(config, signal, deps.fetch);
    },
  };
}
