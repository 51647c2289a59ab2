/**
 * Settings `deno task start` fills in when they are unset, so that the function runs on a fresh
 * machine with nothing configured. Never used by the deployed function (index.ts).
 *
 * @module
 */

/** A well-known secret for local development only; `deno task sign` signs with it. */
export const DEV_HOOK_SECRET = "v1,whsec_b3RwLXJlbGF5IGxvY2FsIGRldmVsb3BtZW50IG9ubHk=";

/** Defaults applied by `deno task start` to unset variables. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  OTP_PROVIDER: "console",
  SEND_SMS_HOOK_SECRETS: DEV_HOOK_SECRET,
};

/** The environment with development defaults for what is unset, and the names filled in. */
export function withDevDefaults(
  env: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string | undefined>; filled: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const filled: string[] = [];
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
    if (!out[name]?.trim()) {
      out[name] = value;
      filled.push(name);
    }
  }
  return { env: out, filled };
}
