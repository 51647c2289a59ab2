// The README's local commands, run as a newcomer runs them: `deno task start` (console provider,
// development secret) and a request from `deno task sign` sent with curl.
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url);

/** Collects a stream's lines as they come; `waitFor` resolves at the first matching line. */
function collectLines(stream: ReadableStream<Uint8Array>) {
  const lines: string[] = [];
  let buffer = "";
  void stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        buffer += chunk;
        const parts = buffer.split("\n");
        buffer = parts.pop() ?? "";
        lines.push(...parts);
      },
    }),
  ).catch(() => {});
  return {
    lines,
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      for (let i = 0; i < 300; i++) {
        const found = lines.map((l) => l.match(pattern)).find((m) => m);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no line matching ${pattern} in:\n${lines.join("\n")}`);
    },
  };
}

/** Runs `deno task sign` with `args` and sends its curl command; returns curl's output. */
async function signAndSend(env: Record<string, string>, args: string[]): Promise<string> {
  const sign = await new Deno.Command(Deno.execPath(), {
    args: ["task", "sign", ...args],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.equal(sign.code, 0);
  const curl = new TextDecoder().decode(sign.stdout);
  assert.match(curl, /^curl /);
  const sent = await new Deno.Command("sh", { args: ["-c", curl], stdout: "piped" }).output();
  return new TextDecoder().decode(sent.stdout);
}

Deno.test("deno task start serves every door; deno task sign requests are delivered to the console", async () => {
  const env: Record<string, string> = { ...Deno.env.toObject(), PORT: "0" };
  const secrets = ["SEND_SMS_HOOK_SECRETS", "OKTA_HOOK_AUTH_SECRET", "AUTH0_HOOK_SECRETS"];
  for (const name of ["OTP_PROVIDER", "OTP_LOG_LEVEL", ...secrets]) delete env[name];
  const server = new Deno.Command(Deno.execPath(), {
    args: ["task", "start"],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const output = collectLines(server.stdout);
  try {
    const match = await output.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/send-sms/);
    const base = match[1]!;
    await output.waitFor(/doors: \/send-sms, \/send-sms\/okta, \/send-sms\/auth0/);

    const health = await fetch(`${base}/send-sms/health`);
    assert.equal(health.status, 200);
    // Anonymous health: the state only (details are in the start-up log, or need the token).
    assert.deepEqual(await health.json(), { status: "ok" });

    const supabase = await signAndSend(env, [
      "--phone",
      "447400123456",
      "--otp",
      "246810",
      "--url",
      `${base}/send-sms`,
    ]);
    assert.match(supabase, /^HTTP\/1\.1 200/);
    assert.match(supabase, /content-type: application\/json/i);
    assert.match(supabase, /\r\n\r\n\{\}$/);
    await output.waitFor(/\[otp-relay\] sms to \+4474•••••456: .*246810/);

    const okta = await signAndSend(env, [
      "--door",
      "okta",
      "--channel",
      "voice",
      "--otp",
      "135791",
      "--url",
      `${base}/send-sms/okta`,
    ]);
    assert.match(okta, /"status":"SUCCESSFUL"/);
    await output.waitFor(/\[otp-relay\] voice to .*1 3 5 7 9 1/);

    for (const shape of ["action", "provider", "hook", "notice"]) {
      const auth0 = await signAndSend(env, [
        "--door",
        "auth0",
        "--shape",
        shape,
        "--otp",
        "975310",
        "--url",
        `${base}/send-sms/auth0`,
      ]);
      assert.match(auth0, /\r\n\r\n\{\}$/, shape);
    }
    await output.waitFor(/\[otp-relay\] sms to .*: Your account has been blocked/);
  } finally {
    server.kill();
    await server.status;
  }
});

Deno.test("deno task start refuses bad settings with a message naming the variable", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "start"],
    cwd: root,
    env: { ...Deno.env.toObject(), PORT: "0", OTP_ATTEMPT_TIMEOUT_MS: "soon" },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /OTP_ATTEMPT_TIMEOUT_MS: must be a whole number/,
  );
});

Deno.test("deno task start never pairs the public development secret with a real provider", async () => {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    PORT: "0",
    OTP_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32),
    TWILIO_AUTH_TOKEN: "x".repeat(32),
    TWILIO_SMS_FROM: "+15005550006",
  };
  delete env.SEND_SMS_HOOK_SECRETS;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "start"],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stderr), /SEND_SMS_HOOK_SECRETS: is required/);
});
