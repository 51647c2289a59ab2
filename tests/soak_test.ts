// The soak (bench/soak.ts, `deno task soak`) in miniature: a few seconds, with more duplicates,
// invalid signatures and Twilio failures than the real run, so every branch of the
// reconciliation is reached. The full run writes bench/RELIABILITY.md.
import assert from "node:assert/strict";
import { codesInLogs, renderReliability, runSoak } from "../bench/soak.ts";

Deno.test("soak in miniature: two instances, one PostgreSQL, faults — everything reconciles", async () => {
  const report = await runSoak({
    seconds: 5,
    rate: 30,
    seed: 7,
    duplicateShare: 0.15,
    invalidShare: 0.05,
    providerFailureShare: 0.3,
  });
  const failed = report.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], "every reconciliation check holds");
  assert.ok(report.ok);
  // The mix happened: without it the checks above would hold vacuously.
  assert.ok(report.counts["duplicate requests (retries)"]! > 5);
  assert.ok(report.counts["invalid signatures"]! > 2);
  assert.ok(Object.values(report.faults).reduce((a, b) => a + b, 0) > 10);
  assert.ok(report.counts["deliveries reported delivered"]! > 100);
  const text = await renderReliability(report, "test");
  assert.match(
    text,
    /\| double sends \(a number Twilio created more than one message for\) \| 0 \| 0 \| ok \|/,
  );
  assert.match(text, /All checks passed\./);
});

Deno.test("soak: a Twilio SID whose hex spells a code is not a leak (false positive of the first 5-minute soak)", () => {
  const codes = new Set(["48213579", "90817263"]);
  const sid = "SM0a1b48213579c2d3e4f5a6b7c8d9e0f1";
  const lines = [
    JSON.stringify({ event: "delivered", id: sid, ms: 12 }),
    JSON.stringify({ event: "delivered", attempts: [{ id: sid.replace("SM", "CA") }] }),
    JSON.stringify({ event: "delivery_failed", detail: "code 90817263 refused" }),
    JSON.stringify({ event: "other", n: 908172631 }), // a longer number, not the code
  ];
  assert.deepEqual(codesInLogs(lines, codes), [{ where: "delivery_failed.detail" }]);
});
