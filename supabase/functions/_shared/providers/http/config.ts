/**
 * The owner's own gateway (`OTP_HTTP_PROVIDER_*`): a URL that takes a signed JSON request per
 * message, for regional providers otp-relay doesn't ship and for companies with a messaging
 * service of their own. The contract is in docs/http-provider.md.
 *
 * @module
 */
import { z } from "../../zod.ts";
import type { Channel } from "../../delivery/types.ts";
import { apiUrl, hookSecrets, parseWith, type ProviderSettings } from "../../settings.ts";

/** The channels a gateway may declare: it receives text to send or to speak. */
export const GATEWAY_CHANNELS = ["sms", "voice"] as const satisfies readonly Channel[];

/** Settings of the gateway provider. */
export interface HttpProviderConfig {
  readonly kind: "http";
  readonly url: string;
  /** Standard Webhooks secrets (`whsec_…`), newest first: the request is signed with each. */
  readonly secrets: readonly string[];
  readonly channels: readonly Channel[];
}

const schema = z.object({
  OTP_HTTP_PROVIDER_URL: apiUrl.optional(),
  OTP_HTTP_PROVIDER_SECRET: hookSecrets.optional(),
  OTP_HTTP_PROVIDER_CHANNELS: z.string().default("sms").transform((text, ctx) => {
    const items = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
    const known = new Set<string>(GATEWAY_CHANNELS);
    if (items.length === 0 || items.some((c) => !known.has(c))) {
      ctx.addIssue({ code: "custom", message: "must be sms, voice or sms,voice" });
      return z.NEVER;
    }
    return [...new Set(items)] as Channel[];
  }),
});

/** The gateway's settings. */
export const httpProviderSettings: ProviderSettings<HttpProviderConfig> = {
  name: "http",
  key: "OTP_HTTP_PROVIDER_URL",
  variables: Object.keys(schema.shape),
  channels: (config) => config.channels,
  parse(env, _context, problems) {
    const e = parseWith(schema, env, problems);
    if (!e) return undefined;
    if (!e.OTP_HTTP_PROVIDER_URL) {
      problems.push({ variable: "OTP_HTTP_PROVIDER_URL", message: "is required with http" });
    }
    if (!e.OTP_HTTP_PROVIDER_SECRET) {
      problems.push({
        variable: "OTP_HTTP_PROVIDER_SECRET",
        message: "is required with http (whsec_<base64>, several joined with |)",
      });
    }
    if (!e.OTP_HTTP_PROVIDER_URL || !e.OTP_HTTP_PROVIDER_SECRET) return undefined;
    return {
      kind: "http",
      url: e.OTP_HTTP_PROVIDER_URL,
      secrets: e.OTP_HTTP_PROVIDER_SECRET,
      channels: e.OTP_HTTP_PROVIDER_CHANNELS,
    };
  },
};
