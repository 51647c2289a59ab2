// Run as a worker by tests/config_test.ts: a fresh module graph, with `new Function` counted
// from before zod is first imported, through loading settings and answering a hook.
const original = globalThis.Function;
let compiled = 0;
globalThis.Function = new Proxy(original, {
  construct(target, args, newTarget) {
    compiled += 1;
    return Reflect.construct(target, args, newTarget);
  },
  apply(target, self, args) {
    compiled += 1;
    return Reflect.apply(target, self, args);
  },
});
const { loadConfig } = await import("../supabase/functions/_shared/config.ts");
const { postHook, supabasePayload, testApp } = await import("./_helpers.ts");
/** The worker's global (the suite type-checks with the window's). */
const worker = self as unknown as { name: string; postMessage(message: unknown): void };
const env = worker.name;
loadConfig(JSON.parse(env));
const { app } = testApp();
const answer = await postHook(app, supabasePayload());
globalThis.Function = original;
worker.postMessage({ compiled, status: answer.status });
