/**
 * The core owns its ports: `delivery/` defines what it needs (delivery/ports.ts) and never
 * imports an adapter; adapters import from the core, never from each other.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../supabase/functions/_shared/", import.meta.url);

/** Every relative import of every `.ts` file under `dir`, as paths relative to ROOT. */
async function imports(dir: string): Promise<{ file: string; target: string }[]> {
  const found: { file: string; target: string }[] = [];
  async function walk(rel: string): Promise<void> {
    for await (const entry of Deno.readDir(new URL(rel, ROOT))) {
      const path = `${rel}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(new URL(path, ROOT));
        for (const m of text.matchAll(/(?:from|import\()\s*"(\.[^"]+)"/g)) {
          const target = new URL(m[1]!, new URL(path, ROOT)).href.slice(ROOT.href.length);
          found.push({ file: path, target });
        }
      }
    }
  }
  await walk(dir);
  return found;
}

Deno.test("the core imports no adapter: delivery/ never imports providers/, store/, doors/ or config.ts", async () => {
  const all = await imports("delivery/");
  assert.ok(all.length > 10, "the scan found the core's imports");
  const wrong = all.filter(({ target }) =>
    /^(providers|store|doors)\//.test(target) || target === "config.ts"
  );
  assert.deepEqual(wrong, []);
});

Deno.test("adapters import the core's ports, never each other or the doors", async () => {
  const providers = await imports("providers/");
  assert.ok(providers.some(({ target }) => target === "delivery/ports.ts"));
  const crossing = providers.filter(({ file, target }) => {
    if (/^(store|doors)\//.test(target)) return true;
    const own = file.split("/")[1]!;
    const other = /^providers\/([^/]+)\//.exec(target)?.[1];
    // providers/_http.ts is shared by the fetch adapters; anything else is another adapter.
    return other !== undefined && other !== own && !file.startsWith(`providers/${own}.ts`);
  });
  assert.deepEqual(crossing, []);
  const stores = await imports("store/");
  assert.ok(stores.some(({ target }) => target === "delivery/ports.ts"));
  assert.deepEqual(stores.filter(({ target }) => /^(providers|doors)\//.test(target)), []);
});

Deno.test("the old port files are gone: one place defines the ports", async () => {
  for (const old of ["providers/types.ts", "store/types.ts"]) {
    await assert.rejects(Deno.stat(new URL(old, ROOT)), Deno.errors.NotFound);
  }
});
