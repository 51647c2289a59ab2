/**
 * Twilio's credentials check: `GET /2010-04-01/Accounts/{AccountSid}.json` with Basic auth, the
 * account's own resource. It sends nothing and costs nothing, and it is a plain `fetch`: a check
 * does not load the SDK.
 *
 * @module
 */
import { basicAuth, checkProvider } from "../_http.ts";
import type { ProviderCheck } from "../../delivery/ports.ts";
import { TWILIO_DEFAULT_API_BASE_URL, type TwilioConfig } from "./config.ts";
import { twilioHostname } from "./sdk.ts";

/**
 * The account resource's URL, on the host a send goes to: the regional host
 * (`api.dublin.ie1.twilio.com`) with `TWILIO_REGION`/`TWILIO_EDGE`, where regional credentials
 * are the ones that work, or `TWILIO_API_BASE_URL` when it is set (as `http.ts` rewrites).
 */
export function twilioAccountUrl(
  config: Pick<TwilioConfig, "accountSid" | "apiBaseUrl" | "region" | "edge">,
): string {
  const path = `/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}.json`;
  if (config.apiBaseUrl === TWILIO_DEFAULT_API_BASE_URL) {
    return `https://${twilioHostname("api.twilio.com", config.edge, config.region)}${path}`;
  }
  const base = new URL(config.apiBaseUrl);
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${path}`;
}

/**
 * Checks Twilio's credentials (the account SID and its auth token). Never throws.
 *
 * @example
 * ```ts
 * const result = await checkTwilio(config, AbortSignal.timeout(1500));
 * if (!result.ok && result.problem === "credentials") console.log("wrong TWILIO_AUTH_TOKEN");
 * ```
 */
export function checkTwilio(
  config: TwilioConfig,
  signal: AbortSignal,
  doFetch?: typeof fetch,
): Promise<ProviderCheck> {
  return checkProvider({
    url: twilioAccountUrl(config),
    headers: {
      authorization: basicAuth(config.accountSid, config.authToken),
      accept: "application/json",
    },
    signal,
    fetch: doFetch,
  });
}
