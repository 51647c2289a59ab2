// The real Supabase CLI (pinned, from the npm registry) on this repository: config.toml loads,
// and `supabase start` gets as far as Docker (which these machines don't run) with phone login
// enabled. `supabase db push` is exercised by every database test (tests/_postgres.ts).
import assert from "node:assert/strict";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { DEV_HOOK_SECRET } from "../scripts/_dev-defaults.ts";
import { SUPABASE_CLI } from "./_postgres.ts";

const root = new URL("..", import.meta.url);

/** A copy of the repository's supabase/ folder with supabase/.env made from the example. */
async function workdir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "otp-relay-cli-" });
  await Deno.mkdir(`${dir}/supabase/migrations`, { recursive: true });
  await Deno.copyFile(new URL("supabase/config.toml", root), `${dir}/supabase/config.toml`);
  for await (const e of Deno.readDir(new URL("supabase/migrations/", root))) {
    await Deno.copyFile(
      new URL(`supabase/migrations/${e.name}`, root),
      `${dir}/supabase/migrations/${e.name}`,
    );
  }
  await Deno.copyFile(new URL("supabase/.env.example", root), `${dir}/supabase/.env`);
  // The function's entrypoint and import map, as config.toml names them.
  await Deno.mkdir(`${dir}/supabase/functions/send-sms`, { recursive: true });
  await Deno.writeTextFile(`${dir}/supabase/functions/send-sms/index.ts`, "");
  await Deno.writeTextFile(`${dir}/import_map.json`, "{}");
  return dir;
}

/** Runs the CLI in `dir` with a clean environment (no SEND_SMS_HOOK_SECRETS in the shell). */
async function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  const base = Deno.env.toObject();
  delete base.SEND_SMS_HOOK_SECRETS;
  const out = await new Deno.Command("npx", {
    args: ["-y", SUPABASE_CLI, ...args, "--workdir", dir],
    env: { ...base, DO_NOT_TRACK: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test("supabase start (real CLI): config.toml and supabase/.env load, phone login stays on, it stops only at Docker", async () => {
  const dir = await workdir();
  try {
    const run = await cli(dir, ["start"], { DOCKER_HOST: `unix://${dir}/no-docker.sock` });
    assert.match(run.output, /Cannot connect to the Docker daemon/, run.output);
    assert.doesNotMatch(run.output, /Disabling phone login/);
    assert.doesNotMatch(
      run.output,
      /Invalid|Missing required field|failed to (load|parse) config/i,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("supabase start (real CLI): without the placeholder provider, phone login is disabled (why it is there)", async () => {
  const dir = await workdir();
  try {
    const config = await Deno.readTextFile(`${dir}/supabase/config.toml`);
    const without = config.replace(/\[auth\.sms\.twilio\][^[]*/, "");
    assert.notEqual(without, config, "the placeholder block was found and removed");
    await Deno.writeTextFile(`${dir}/supabase/config.toml`, without);
    const run = await cli(dir, ["start"], { DOCKER_HOST: `unix://${dir}/no-docker.sock` });
    assert.match(run.output, /no SMS provider is enabled\. Disabling phone login/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("supabase/.env: the CLI refuses the config without the hook secret; the example holds one both sides accept", async () => {
  const dir = await workdir();
  try {
    await Deno.remove(`${dir}/supabase/.env`);
    const run = await cli(dir, ["start"], { DOCKER_HOST: `unix://${dir}/no-docker.sock` });
    assert.notEqual(run.code, 0);
    assert.match(run.output, /SEND_SMS_HOOK_SECRETS|send_sms/i);
    assert.doesNotMatch(run.output, /Docker daemon/, "it stops at the config, before Docker");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // What `supabase functions serve --env-file supabase/.env` gives the function.
  const env: Record<string, string> = {};
  for (
    const line of (await Deno.readTextFile(new URL("supabase/.env.example", root))).split("\n")
  ) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  assert.equal(env.SEND_SMS_HOOK_SECRETS, DEV_HOOK_SECRET, "deno task sign signs with it");
  const config = loadConfig(env);
  assert.deepEqual(config.routing.order, ["console"]);
  assert.equal(config.supabaseHookSecrets?.length, 1);
});
