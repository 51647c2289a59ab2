import assert from "node:assert/strict";
import type { Outcome } from "../../supabase/functions/_shared/delivery/types.ts";
import {
  createMemoryCounterStore,
  createMemoryDedupeStore,
} from "../../supabase/functions/_shared/store/memory.ts";

/** Claim options with a TTL; the deadline and door don't matter to the memory store. */
const opts = (ttlMs: number) => ({ ttlMs, deadline: Date.now() + 4000, door: "supabase" });

const DELIVERED: Outcome = { ok: true, channel: "sms", provider: "p", id: "SM1", attempts: [] };

Deno.test("memory store: first claim, then duplicates see the settled outcome", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  assert.deepEqual(await store.claim("k", opts(1000)), { kind: "first" });
  const dup = await store.claim("k", opts(1000));
  assert.equal(dup.kind, "duplicate");
  await store.settle("k", DELIVERED);
  assert.deepEqual(await (dup.kind === "duplicate" && dup.outcome), DELIVERED);
});

Deno.test("memory store: entries expire after their TTL", async () => {
  let now = 0;
  const store = createMemoryDedupeStore({ maxEntries: 100, now: () => now });
  await store.claim("k", opts(1000));
  await store.settle("k", DELIVERED);
  now = 999;
  assert.equal((await store.claim("k", opts(1000))).kind, "duplicate");
  now = 1000;
  assert.equal((await store.claim("k", opts(1000))).kind, "first");
});

Deno.test("memory store: bounded in entries, the oldest go first", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  for (let i = 0; i < 1000; i++) {
    await store.claim(`k${i}`, opts(60_000));
    await store.settle(`k${i}`, DELIVERED);
  }
  assert.ok(store.size <= 100, `size ${store.size}`);
  assert.equal((await store.claim("k999", opts(60_000))).kind, "duplicate");
  assert.equal((await store.claim("k0", opts(60_000))).kind, "first");
});

Deno.test("memory store: waiters of an evicted pending entry still get its outcome", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  await store.claim("pending", opts(60_000));
  const dup = await store.claim("pending", opts(60_000));
  for (let i = 0; i < 200; i++) await store.claim(`k${i}`, opts(60_000));
  await store.settle("pending", DELIVERED);
  assert.deepEqual(await (dup.kind === "duplicate" && dup.outcome), DELIVERED);
});

Deno.test("memory store: only failures certainly not sent are released for a retry", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  const refused: Outcome = { ok: false, reason: "rate_limited", sent: "no", attempts: [] };
  const unknown: Outcome = { ok: false, reason: "timeout", sent: "unknown", attempts: [] };
  await store.claim("a", opts(1000));
  await store.settle("a", refused);
  assert.equal((await store.claim("a", opts(1000))).kind, "first");
  await store.claim("b", opts(1000));
  await store.settle("b", unknown);
  assert.equal((await store.claim("b", opts(1000))).kind, "duplicate");
});

Deno.test("memory store: an in-flight entry is never evicted, so a retry of it cannot send again", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  await store.claim("pending", opts(60_000));
  for (let i = 0; i < 500; i++) {
    await store.claim(`k${i}`, opts(60_000));
    await store.settle(`k${i}`, DELIVERED);
  }
  const retry = await store.claim("pending", opts(60_000));
  assert.equal(retry.kind, "duplicate");
  await store.settle("pending", DELIVERED);
  assert.deepEqual(await (retry.kind === "duplicate" && retry.outcome), DELIVERED);
  assert.ok(store.size <= 101, `size ${store.size}`);
});

Deno.test("memory store: an in-flight entry outlives its TTL until it settles", async () => {
  let now = 0;
  const store = createMemoryDedupeStore({ maxEntries: 100, now: () => now });
  await store.claim("slow", opts(1000));
  now = 5000;
  assert.equal((await store.claim("slow", opts(1000))).kind, "duplicate");
});

Deno.test("memory store: a settled entry keeps its place in the eviction order", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 2 });
  const ok = { ok: true as const, channel: "sms" as const, provider: "p", id: "1", attempts: [] };
  const opts = { ttlMs: 60_000, deadline: Date.now() + 1000, door: "supabase" as const };
  await store.claim("a", opts);
  await store.claim("b", opts);
  await store.settle("b", ok);
  await store.settle("a", ok); // settled last, but claimed first: still the oldest
  await store.claim("c", opts); // evicts a
  assert.equal((await store.claim("a", opts)).kind, "first");
  assert.equal((await store.claim("b", opts)).kind, "first"); // evicted by a's new claim
  const dup = await store.claim("c", opts);
  assert.equal(dup.kind, "duplicate");
});

Deno.test("memory store: an entry passed over in flight is still the oldest once it settles", async () => {
  // Found in review: an in-flight entry the store had to step over while full was queued again
  // behind the newer ones, so once it settled a newer entry was evicted in its place, and a
  // retry of that newer key sent a second code.
  const store = createMemoryDedupeStore({ maxEntries: 3 });
  await store.claim("slow", opts(60_000)); // its provider is slow
  for (const k of ["k1", "k2"]) {
    await store.claim(k, opts(60_000));
    await store.settle(k, DELIVERED);
  }
  await store.claim("k3", opts(60_000)); // full: steps over "slow", evicts k1
  await store.settle("k3", DELIVERED);
  await store.settle("slow", DELIVERED);
  await store.claim("k4", opts(60_000)); // full: "slow", claimed first, goes now
  await store.settle("k4", DELIVERED);
  assert.equal((await store.claim("k2", opts(60_000))).kind, "duplicate", "k2 kept");
  assert.equal((await store.claim("k3", opts(60_000))).kind, "duplicate", "k3 kept");
  assert.equal((await store.claim("k4", opts(60_000))).kind, "duplicate", "k4 kept");
  assert.equal((await store.claim("slow", opts(60_000))).kind, "first", "slow evicted");
});

Deno.test("memory store: in-flight entries stepped over keep their claim order", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 4 });
  for (const k of ["s1", "s2"]) await store.claim(k, opts(60_000)); // both slow
  for (const k of ["k1", "k2", "k3", "k4"]) {
    await store.claim(k, opts(60_000)); // from k3 on, full: steps over s1 and s2
    await store.settle(k, DELIVERED);
  }
  await store.settle("s2", DELIVERED); // s2 settles first, s1 is still in flight
  await store.claim("k5", opts(60_000)); // s1 stays; s2 is the oldest settled one
  await store.settle("k5", DELIVERED);
  await store.settle("s1", DELIVERED);
  await store.claim("k6", opts(60_000)); // s1 now
  await store.settle("k6", DELIVERED);
  assert.equal((await store.claim("k3", opts(60_000))).kind, "duplicate", "k3 kept");
  assert.equal((await store.claim("s1", opts(60_000))).kind, "first", "s1 evicted");
  assert.equal((await store.claim("s2", opts(60_000))).kind, "first", "s2 evicted");
});

Deno.test("memory store: entries stepped over in flight don't pile up", async () => {
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  for (let i = 0; i < 10; i++) await store.claim(`slow${i}`, opts(60_000));
  for (let i = 0; i < 5_000; i++) {
    await store.claim(`k${i}`, opts(60_000));
    await store.settle(`k${i}`, DELIVERED);
  }
  for (let i = 0; i < 10; i++) await store.settle(`slow${i}`, DELIVERED);
  for (let i = 5_000; i < 10_000; i++) {
    await store.claim(`k${i}`, opts(60_000));
    await store.settle(`k${i}`, DELIVERED);
  }
  assert.ok(store.size <= 100, `size ${store.size}`);
  assert.ok(store.queued <= 1024 + 100, `${store.queued} entries queued`);
  assert.equal((await store.claim("slow0", opts(60_000))).kind, "first");
});

Deno.test("memory counters: the eviction order stays bounded when counts are undone", async () => {
  // Each refused request to a new number adds its counter and undoes it: nothing is held, and
  // the bookkeeping of the eviction order must not pile up either (it is an array of keys).
  const counters = createMemoryCounterStore({ maxEntries: 100, now: () => 0 });
  for (let i = 0; i < 50_000; i++) {
    const hits = [{ scope: "number" as const, key: `n${i}`, bucket: 0, windowMs: 60_000 }];
    await counters.hit(hits);
    await counters.undo(hits);
  }
  assert.equal(counters.size, 0);
  assert.ok(counters.queued <= 1024 + 1, `${counters.queued} keys queued`);
});

Deno.test("memory counters: when full, the oldest counters go first, past any undone ones", async () => {
  const counters = createMemoryCounterStore({ maxEntries: 3, now: () => 0 });
  const hit = (key: string) =>
    counters.hit([{ scope: "number", key, bucket: 0, windowMs: 60_000 }]);
  await hit("a");
  await hit("b");
  await counters.undo([{ scope: "number", key: "a", bucket: 0, windowMs: 60_000 }]); // a gone
  await hit("a"); // a again, now the newest
  await hit("c");
  await hit("d"); // full: b, the oldest, goes
  assert.equal(counters.size, 3);
  assert.deepEqual(await hit("a"), [2], "a (re-added after b) survived");
  assert.deepEqual(await hit("b"), [1], "b was evicted");
});

Deno.test("memory store: claims of a released key don't pile up in the eviction order", async () => {
  // A failure certainly not sent releases its key: each retry replaces the entry.
  const store = createMemoryDedupeStore({ maxEntries: 100 });
  const failed: Outcome = { ok: false, reason: "timeout", sent: "no", attempts: [], detail: "" };
  for (let i = 0; i < 50_000; i++) {
    assert.equal((await store.claim("k", opts(60_000))).kind, "first");
    await store.settle("k", failed);
  }
  assert.equal(store.size, 1);
  assert.ok(store.queued <= 1024 + 2, `${store.queued} keys queued`);
});
