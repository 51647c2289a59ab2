/**
 * Settings `deno task start` fills in when they are unset, so that the function runs on a fresh
 * machine with nothing configured. Never used by the deployed function (index.ts).
 *
 * @module
 */
import { SETTINGS } from "../supabase/functions/_shared/config.ts";

/** A well-known secret for local development only; `deno task sign` signs with it. */
export const DEV_HOOK_SECRET = "v1,whsec_b3RwLXJlbGF5IGxvY2FsIGRldmVsb3BtZW50IG9ubHk=";
/** The Okta door's header value in local development. */
export const DEV_OKTA_SECRET = "otp-relay-local-development-only";
/** The Auth0 door's secret in local development (what the shipped relay would sign with). */
export const DEV_AUTH0_SECRET = "whsec_b3RwLXJlbGF5IGF1dGgwIGxvY2FsIGRldmVsb3BtZW50";

/**
 * The environment with development defaults for what is unset, and the names filled in.
 *
 * The console provider is the default when nothing selects a provider: no `OTP_PROVIDER`, no
 * `OTP_PROVIDERS`, and no provider's settings (`TWILIO_ACCOUNT_SID`, `VONAGE_API_KEY`, …). The
 * development secrets only ever go with it. With a real provider, a secret that is public in
 * this repository would let anyone who can reach the server send messages on the owner's bill,
 * so the configuration must then name its own.
 */
export function withDevDefaults(
  env: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string | undefined>; filled: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const filled: string[] = [];
  const set = (name: string) => Boolean(out[name]?.trim());
  const selected = set("OTP_PROVIDER") || set("OTP_PROVIDERS") ||
    Object.values(SETTINGS).some((settings) => set(settings.key));
  if (!selected) {
    out.OTP_PROVIDER = "console";
    filled.push("OTP_PROVIDER");
  }
  const only = (out.OTP_PROVIDERS ?? out.OTP_PROVIDER ?? "").trim().toLowerCase();
  if (only === "console") {
    // Every door opens locally, each with its own development secret.
    const secrets = {
      SEND_SMS_HOOK_SECRETS: DEV_HOOK_SECRET,
      OKTA_HOOK_AUTH_SECRET: DEV_OKTA_SECRET,
      AUTH0_HOOK_SECRETS: DEV_AUTH0_SECRET,
    };
    for (const [name, value] of Object.entries(secrets)) {
      if (out[name]?.trim()) continue;
      out[name] = value;
      filled.push(name);
    }
  }
  return { env: out, filled };
}
