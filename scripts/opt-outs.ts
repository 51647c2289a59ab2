/**
 * The owner's view of recorded opt-outs (`otp_relay.opt_outs`): list them, or clear a number's
 * records so that its SMS follows the routing again (say, after the user asked support to be
 * let back in and replied START at the provider).
 *
 *   deno task opt-outs list
 *   deno task opt-outs clear +14155550123 [--provider twilio]
 *
 * Connects with `DATABASE_URL` (or `SUPABASE_DB_URL`) and hashes the number with the same key as
 * the function (`OTP_HASH_KEY`, or the key the migration generated). Numbers are never stored:
 * the list shows when and where a STOP was reported, and the hash.
 *
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createKeyedHash } from "../supabase/functions/_shared/delivery/limits.ts";
import { parsePhone } from "../supabase/functions/_shared/phone.ts";
import {
  createPostgresOptOutStore,
  createQueryRunner,
  readHashKey,
} from "../supabase/functions/_shared/store/postgres.ts";

const USAGE = `Usage:
  deno task opt-outs list
  deno task opt-outs clear <+E.164 number> [--provider <name>]

Environment: DATABASE_URL (or SUPABASE_DB_URL); OTP_HASH_KEY if the function sets it.`;

/** Runs the command; returns the exit code. Output goes through `print`. */
export async function main(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void = console.log,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { provider: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    print(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, number] = parsed.positionals;
  if (parsed.values.help || !command) {
    print(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  const url = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  if (!url) {
    print(`DATABASE_URL (or SUPABASE_DB_URL) is not set.\n\n${USAGE}`);
    return 2;
  }
  const runner = createQueryRunner({
    timeoutMs: 10_000,
    connect: () => Promise.resolve(postgres(url, { max: 1, prepare: false, onnotice: () => {} })),
  });
  try {
    if (command === "list") {
      const rows = await runner.query<
        { to_hash: string; provider: string; source: string; reported_at: Date }
      >((s) =>
        s`select to_hash, provider, source, reported_at from otp_relay.opt_outs
          order by reported_at desc`
      );
      for (const r of rows) {
        print(`${r.reported_at.toISOString()}  ${r.provider}  ${r.source}  ${r.to_hash}`);
      }
      print(`${rows.length} opt-out(s)`);
      return 0;
    }
    if (command === "clear") {
      const phone = number ? parsePhone(number) : undefined;
      if (!phone) {
        print(`clear needs a valid number in E.164 form, such as +14155550123.\n\n${USAGE}`);
        return 2;
      }
      // The function's own key: OTP_HASH_KEY as the function reads it (trimmed, blank = unset),
      // else the one the migration generated.
      const hash = createKeyedHash(env.OTP_HASH_KEY?.trim() || await readHashKey(runner));
      const optOuts = createPostgresOptOutStore(runner, hash);
      const before = await optOuts.find(phone.e164);
      const provider = parsed.values.provider;
      await optOuts.clear(phone.e164, provider);
      const cleared = provider === undefined ? before : before.filter((p) => p === provider);
      print(
        cleared.length === 0
          ? "No opt-out was recorded for this number."
          : `Cleared the opt-out(s) at ${cleared.join(", ")}.`,
      );
      return 0;
    }
    print(`Unknown command: ${command}\n\n${USAGE}`);
    return 2;
  } finally {
    await runner.close?.();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
