// The function runs on Supabase's Edge Runtime: Deno 2.1.4 (V8 13.0, TypeScript 5.6) with a
// reduced `Deno` global (no subprocesses, file writes only under /tmp, no KV, cron or bundle).
// The suite runs on that Deno, and these tests keep the function's code inside what it offers.
import assert from "node:assert/strict";

const FUNCTIONS = new URL("../supabase/functions/", import.meta.url);

/** Every TypeScript file of the deployed functions, with its text. */
async function functionSources(): Promise<{ path: string; text: string }[]> {
  const files: { path: string; text: string }[] = [];
  const walk = async (dir: URL, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) {
        files.push({
          path: `${prefix}${entry.name}`,
          text: await Deno.readTextFile(new URL(entry.name, dir)),
        });
      }
    }
  };
  await walk(FUNCTIONS, "supabase/functions/");
  return files;
}

/** The source without comments, so prose may name what code must not use. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Where `pattern` occurs in the function's code, as `path:line`. */
async function occurrences(pattern: RegExp): Promise<string[]> {
  const found: string[] = [];
  for (const { path, text } of await functionSources()) {
    code(text).split("\n").forEach((line, i) => {
      if (new RegExp(pattern.source, pattern.flags.replace("g", "")).test(line)) {
        found.push(`${path}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

Deno.test("edge runtime: the suite runs on the platform's Deno, 2.1.4 with TypeScript 5.6", () => {
  assert.equal(Deno.version.deno, "2.1.4", "run the tests with npx -y deno@2.1.4");
  assert.match(Deno.version.typescript, /^5\.6\./);
  assert.match(Deno.version.v8, /^13\.0\./);
});

Deno.test("edge runtime: the function uses only the Deno APIs the Edge Runtime keeps", async () => {
  // The runtime's `Deno` is a curated subset; in user workers the filesystem is blocked outside
  // /tmp and Deno.Command is absent. The function needs its environment and a server, nothing
  // more: anything else is a decision to make here first.
  const allowed = new Set(["env", "serve"]);
  const uses = await occurrences(/\bDeno\.([A-Za-z]+)/g);
  const refused = uses.filter((line) =>
    [...line.matchAll(/\bDeno\.([A-Za-z]+)/g)].some((m) => !allowed.has(m[1]!))
  );
  assert.deepEqual(refused, []);
  assert.ok(uses.length >= 2, "the scan sees the entry point's Deno.env and Deno.serve");
});

Deno.test("edge runtime: no JavaScript newer than V8 13.0, no Node globals without an import", async () => {
  const newer = [
    /\bFloat16Array\b/,
    /\bMath\.f16round\b/,
    /\bRegExp\.escape\b/,
    /\bError\.isError\b/,
    /\b(Async)?DisposableStack\b/,
    /^\s*(await\s+)?using\s+[A-Za-z_$]/,
    /\bUint8Array\.(fromBase64|fromHex)\b/,
    /\.(toBase64|toHex)\(/,
    /\bMath\.sumPrecise\b/,
    /\bIterator\.concat\b/,
  ];
  for (const pattern of newer) assert.deepEqual(await occurrences(pattern), [], String(pattern));
  // Deno made Buffer and global globals only in 2.4: on 2.1 they need `node:buffer`.
  const nodeGlobals = await occurrences(/(^|[^.\w$])(Buffer|global)\.[a-z]/);
  const importsBuffer = (await functionSources()).some((f) => /from "node:buffer"/.test(f.text));
  assert.deepEqual(importsBuffer ? [] : nodeGlobals, []);
});

Deno.test("edge runtime: the scan finds what it looks for (known-answer check of the scanner)", async () => {
  // Guards the tests above against a scanner that silently matches nothing.
  assert.ok((await occurrences(/\bappFromEnv\(Deno\.env\.toObject\(\)\)/)).length === 1);
  assert.equal(code("a(); // Deno.Command\n/* Deno.exit */ b();"), "a(); \n b();");
  assert.equal(code(`const u = "https://x"; // c`), `const u = "https://x"; `);
});
