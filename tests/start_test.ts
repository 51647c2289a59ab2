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

Deno.test("deno task start serves the function; a deno task sign request is delivered to the console", async () => {
  const env: Record<string, string> = { ...Deno.env.toObject(), PORT: "0" };
  for (const name of ["OTP_PROVIDER", "SEND_SMS_HOOK_SECRETS", "OTP_LOG_LEVEL"]) delete env[name];
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

    const health = await fetch(`${base}/send-sms/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).provider, "console");

    const sign = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "sign",
        "--phone",
        "447400123456",
        "--otp",
        "246810",
        "--url",
        `${base}/send-sms`,
      ],
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
    const answer = new TextDecoder().decode(sent.stdout);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /content-type: application\/json/i);
    assert.match(answer, /\r\n\r\n\{\}$/);

    await output.waitFor(/\[otp-relay\] sms to \+4474•••••456: .*246810/);
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
