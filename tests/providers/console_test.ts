import assert from "node:assert/strict";
import { createConsoleProvider } from "../../supabase/functions/_shared/providers/console.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";

const to = parsePhone("+447911123456")!;
const script = { language: "en-GB", voice: "Polly.Amy", intro: "Your code is", again: "Again" };

Deno.test("console provider: prints each channel's words with the number masked", async () => {
  const lines: string[] = [];
  const provider = createConsoleProvider({ print: (line) => lines.push(line) });
  const signal = new AbortController().signal;
  const results = [
    await provider.send({ channel: "sms", to, body: "Code 1234" }, { signal }),
    await provider.send({ channel: "whatsapp", to, code: "1234" }, { signal }),
    await provider.send({ channel: "voice", to, script: { ...script, digits: ["1", "2"] } }, {
      signal,
    }),
    // A notice has no digits: its words only.
    await provider.send({
      channel: "voice",
      to,
      script: { ...script, intro: "Blocked.", again: "Blocked.", digits: [] },
    }, { signal }),
  ];
  assert.deepEqual(results.map((r) => r.ok), [true, true, true, true]);
  assert.deepEqual(new Set(results.map((r) => r.ok && r.id)).size, 4, "distinct ids");
  assert.ok(lines.every((l) => !l.includes("7911123456")), "number masked");
  assert.match(lines[0]!, /sms to .*: Code 1234$/);
  assert.match(lines[1]!, /\(authentication template\) 1234$/);
  assert.match(lines[2]!, /\(Polly\.Amy\) Your code is 1 2\. Again 1 2\.$/);
  assert.match(lines[3]!, /\(Polly\.Amy\) Blocked\.$/);
});
