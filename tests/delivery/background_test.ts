// Work that goes on after the answer is registered with the Edge Runtime's EdgeRuntime.waitUntil,
// so the isolate is not stopped before it finishes.
import assert from "node:assert/strict";
import { keepAlive } from "../../supabase/functions/_shared/async.ts";
import { deliver } from "../../supabase/functions/_shared/delivery/deliver.ts";
import { createMessages } from "../../supabase/functions/_shared/delivery/messages.ts";
import { createLogger } from "../../supabase/functions/_shared/log.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { createMemoryDedupeStore } from "../../supabase/functions/_shared/store/memory.ts";
import { captureLogs } from "../_helpers.ts";

/** Installs a fake `EdgeRuntime` global for `fn`, recording what it was asked to wait for. */
async function withEdgeRuntime(fn: (waited: Promise<unknown>[]) => Promise<void>): Promise<void> {
  const waited: Promise<unknown>[] = [];
  const g = globalThis as { EdgeRuntime?: unknown };
  g.EdgeRuntime = { waitUntil: (p: Promise<unknown>) => waited.push(p) };
  try {
    await fn(waited);
  } finally {
    delete g.EdgeRuntime;
  }
}

Deno.test("keepAlive: registers with EdgeRuntime.waitUntil when it exists; a no-op elsewhere", async () => {
  keepAlive(Promise.resolve()); // no EdgeRuntime: nothing to do, nothing thrown
  await withEdgeRuntime(async (waited) => {
    const failing = Promise.reject(new Error("late work failed"));
    keepAlive(failing);
    assert.equal(waited.length, 1);
    await waited[0]; // the registered promise never rejects: the runtime would log it otherwise
    await failing.catch(() => {});
  });
  const g = globalThis as { EdgeRuntime?: unknown };
  g.EdgeRuntime = {
    waitUntil: () => {
      throw new Error("shutting down");
    },
  };
  try {
    keepAlive(Promise.resolve()); // a refusing runtime doesn't break the caller
  } finally {
    delete g.EdgeRuntime;
  }
});

Deno.test("deliver: a record that finishes after the answer is kept alive with waitUntil", async () => {
  await withEdgeRuntime(async (waited) => {
    const memory = createMemoryDedupeStore({ maxEntries: 10 });
    let finish!: () => void;
    const slowSettle = new Promise<void>((r) => (finish = r));
    const logs = captureLogs();
    const started = Date.now();
    const { outcome } = await deliver({
      door: "supabase",
      dedupeKey: "supabase:uuid:late",
      to: parsePhone("+447400123456")!,
      code: "123456",
      deadline: started + 300,
    }, {
      providers: [{
        name: "console",
        channels: ["sms"],
        send: () => Promise.resolve({ ok: true, id: "c" }),
      }],
      policy: { defaultOrder: ["sms"], rules: [], metadataKey: "otp_channel", userChannels: [] },
      store: {
        claim: memory.claim,
        settle: async (...args) => {
          await slowSettle;
          await memory.settle(...args);
        },
      },
      dedupeTtlMs: 60_000,
      log: createLogger({ level: "debug", write: logs.write }),
      now: Date.now,
      attemptTimeoutMs: 1500,
      messages: createMessages({ smsTemplates: {} }),
    });
    assert.ok(outcome.ok, "answered on time");
    assert.equal(waited.length, 1, "the late record was registered");
    assert.ok(logs.lines.some((l) => l.includes("store_settle_late")));
    finish();
    await waited[0];
    const again = await memory.claim("supabase:uuid:late", {
      ttlMs: 1,
      deadline: Date.now() + 100,
      door: "supabase",
    });
    assert.equal(again.kind, "duplicate", "the record landed after the answer");
  });
});
