/**
 * Settings `deno task start` fills in when they are unset, so that the function runs on a fresh
 * machine with nothing configured. Never used by the deployed function (index.ts).
 *
 * @module
 */

/** A well-known secret for local development only; `deno task sign` signs with it. */
export const DEV_HOOK_SECRET = "v1,whsec_b3RwLXJlbGF5IGxvY2FsIGRldmVsb3BtZW50IG9ubHk=";

/**
 * The environment with development defaults for what is unset, and the names filled in.
 *
 * The console provider is the default; the development secret only ever goes with it. With a
 * real provider, a secret that is public in this repository would let anyone who can reach the
 * server send messages on the owner's bill, so the configuration must then name its own.
 */
export function withDevDefaults(
  env: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string | undefined>; filled: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const filled: string[] = [];
  if (!out.OTP_PROVIDER?.trim()) {
    out.OTP_PROVIDER = "console";
    filled.push("OTP_PROVIDER");
  }
  if (out.OTP_PROVIDER.trim() === "console" && !out.SEND_SMS_HOOK_SECRETS?.trim()) {
    out.SEND_SMS_HOOK_SECRETS = DEV_HOOK_SECRET;
    filled.push("SEND_SMS_HOOK_SECRETS");
  }
  return { env: out, filled };
}
