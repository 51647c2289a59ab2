import assert from "node:assert/strict";
import { abortAfter, within } from "../../supabase/functions/_shared/async.ts";

const never = new Promise<never>(() => {});
const later = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

Deno.test("within: the value of a promise that settles in time, at once or later", async () => {
  assert.equal(await within(Promise.resolve("now"), 1000), "now");
  assert.equal(await within(later(5, "soon"), 1000), "soon");
  // A chain of a few turns (an in-memory store's settle) is answered without a clock.
  const chained = Promise.resolve(1).then((n) => n + 1).then((n) => n + 1);
  assert.deepEqual(await within(Promise.all([chained, Promise.resolve(0)]), 0), [3, 0]);
});

Deno.test("within: undefined once the time has passed; a rejection passes through", async () => {
  const started = performance.now();
  assert.equal(await within(never, 30), undefined);
  assert.ok(performance.now() - started >= 25);
  assert.equal(await within(later(200, "late"), 10), undefined);
  await assert.rejects(within(Promise.reject(new Error("boom")), 1000), /boom/);
  await assert.rejects(within(later(5, 0).then(() => Promise.reject(new Error("x"))), 1000), /x/);
  await later(200, 0); // let the late timer above finish: the test must leave no timer behind
});

Deno.test("abortAfter: work still pending at the time is aborted with a TimeoutError", async () => {
  const clock = abortAfter(20);
  const work = clock.watch(
    new Promise<string>((resolve) => {
      clock.signal.addEventListener("abort", () => resolve("aborted"));
    }),
  );
  assert.equal(await work, "aborted");
  assert.equal((clock.signal.reason as DOMException).name, "TimeoutError");
});

Deno.test("abortAfter: work that settles first is never aborted, and no timer is left", async () => {
  const fast = abortAfter(10);
  assert.equal(await fast.watch(Promise.resolve("done")), "done");
  const slower = abortAfter(50);
  assert.equal(await slower.watch(later(5, "done")), "done");
  await later(80, 0);
  assert.equal(fast.signal.aborted, false);
  assert.equal(slower.signal.aborted, false);
});

Deno.test("within and abortAfter start no timer for work that settles within a few turns", async () => {
  // Timers cost more than an in-memory delivery's own work (bench/OPTIMISATIONS.md).
  const original = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers += 1;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await within(Promise.resolve(1), 1000);
    const chained = Promise.resolve(1).then((n) => n + 1).then((n) => n + 1);
    await within(Promise.all([chained, Promise.resolve(0)]), 1000);
    const clock = abortAfter(1000);
    await within(clock.watch(Promise.resolve("sent")), 1025);
    assert.equal(timers, 0);
    // Pending work does get its clock.
    await within(later(1, 0), 1000);
    assert.equal(timers, 2, "one for the work itself, one for within");
  } finally {
    globalThis.setTimeout = original;
  }
});

/** Holds the thread for `ms`, as a provider's synchronous start or a busy isolate does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the thread */ }
}

Deno.test("abortAfter: the clock runs from the call, not from after the work's synchronous start", async () => {
  // Found in review: the timer started only once the work had been started and a few turns had
  // passed, so a send that held the thread made its attempt's timeout fire that much later.
  const started = performance.now();
  const { signal, watch } = abortAfter(100);
  busy(150); // the provider's synchronous part, before it returns its promise
  watch(never);
  await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  const waited = performance.now() - started;
  assert.ok(waited < 220, `aborted after ${waited.toFixed(0)} ms (150 busy + 100 if counted late)`);
});

Deno.test("within: the time counts from the call, however long the turns before the timer take", async () => {
  const started = performance.now();
  const answer = within(never, 100);
  void Promise.resolve().then(() => busy(150)); // other work queued in the same turns
  assert.equal(await answer, undefined);
  const waited = performance.now() - started;
  assert.ok(
    waited < 220,
    `answered after ${waited.toFixed(0)} ms (150 busy + 100 if counted late)`,
  );
});
