/**
 * The parts of the `twilio` SDK a send needs: the Messages and Calls resources of the 2010 API,
 * on the SDK's own Domain and Version (request building, `RestException` for non-2xx answers).
 *
 * The package's entry point loads every Twilio product, axios and a JWT library: ~640 files that
 * are evaluated synchronously, blocking the event loop (and the attempt's timeout) for ~100 ms
 * on the first send of a cold instance. These four modules and theirs are a fraction of that
 * (bench/RESULTS.md, "Optimisations").
 *
 * @module
 */
import type { CallListInstance } from "twilio/lib/rest/api/v2010/account/call.js";
import type { MessageListInstance } from "twilio/lib/rest/api/v2010/account/message.js";
import type { TwilioHttpClient, TwilioHttpRequest } from "./http.ts";

/** What a send uses of the REST client: `client.messages.create`, `client.calls.create`. */
export interface TwilioClient {
  readonly messages: MessageListInstance;
  readonly calls: CallListInstance;
}

/** Builds a client for one account, on an HTTP client. */
export type TwilioClientFactory = (
  accountSid: string,
  authToken: string,
  options: { httpClient: TwilioHttpClient; region?: string; edge?: string },
) => TwilioClient;

/**
 * The host for a region and edge, as the SDK's `BaseTwilio.getHostname` computes it:
 * `api.twilio.com` with region `ie1` and edge `dublin` → `api.dublin.ie1.twilio.com`.
 */
export function twilioHostname(hostname: string, edge?: string, region?: string): string {
  const domain = hostname.split(".").slice(-2).join(".");
  const prefix = hostname.split(`.${domain}`)[0]!;
  let [product, hostEdge, hostRegion] = prefix.split(".");
  if (hostEdge && !hostRegion) {
    hostRegion = hostEdge;
    hostEdge = undefined;
  }
  const finalRegion = region || hostRegion || (edge && "us1");
  if (!finalRegion) return hostname;
  return [product, edge || hostEdge, finalRegion, domain].filter((p) => p).join(".");
}

type DomainClass = new (twilio: unknown, baseUrl: string) => object;
type VersionClass = new (domain: object, version: string) => object;

/** The SDK's version, in the User-Agent as the SDK itself sends it (a test holds it to the pin). */
export const SDK_VERSION = "6.2.0";

/**
 * Imports the SDK modules a send needs and returns the client factory.
 *
 * @example
 * ```ts
 * const twilio = await loadTwilioClient();
 * const client = twilio(accountSid, authToken, { httpClient });
 * await client.messages.create({ to, body, messagingServiceSid });
 * ```
 */
export async function loadTwilioClient(): Promise<TwilioClientFactory> {
  const [domain, version, message, call] = await Promise.all([
    import("twilio/lib/base/Domain.js"),
    import("twilio/lib/base/Version.js"),
    import("twilio/lib/rest/api/v2010/account/message.js"),
    import("twilio/lib/rest/api/v2010/account/call.js"),
  ]);
  // CommonJS modules with `exports.default`: Deno's namespace holds module.exports as `default`.
  const Domain = (domain.default as unknown as { default: DomainClass }).default;
  const Version = (version.default as unknown as { default: VersionClass }).default;
  return (accountSid, authToken, { httpClient, region, edge }) => {
    // What BaseTwilio.request adds before handing a request to the HTTP client.
    const twilio = {
      accountSid,
      request(opts: TwilioHttpRequest) {
        const method = opts.method.toLowerCase();
        const uri = new URL(opts.uri);
        uri.hostname = twilioHostname(uri.hostname, edge, region);
        return httpClient.request({
          ...opts,
          uri: uri.href,
          username: accountSid,
          password: authToken,
          headers: {
            "User-Agent": `twilio-node/${SDK_VERSION} (otp-relay)`,
            "Accept-Charset": "utf-8",
            ...(method === "post" || method === "put"
              ? { "Content-Type": "application/x-www-form-urlencoded" }
              : {}),
            ...(method === "delete" ? {} : { Accept: "application/json" }),
            ...opts.headers,
          },
        });
      },
    };
    const api = new Version(new Domain(twilio, "https://api.twilio.com"), "2010-04-01");
    // The resource factories are typed for the V2010 class; they use only Version's methods.
    const v2010 = api as unknown as Parameters<typeof message.MessageListInstance>[0];
    return {
      messages: message.MessageListInstance(v2010, accountSid),
      calls: call.CallListInstance(v2010, accountSid),
    };
  };
}
