// The soak (bench/soak.ts, `deno task soak`) in miniature: a few seconds, with more duplicates,
// invalid signatures and Twilio failures than the real run, so every branch of the
// reconciliation is reached. The full run writes bench/RELIABILITY.md.
import assert from "node:assert/strict";
import { renderReliability, runSoak } from "../bench/soak.ts";

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
    /\| double sends \(a number with more than one accepted message\) \| 0 \| 0 \| ok \|/,
  );
  assert.match(text, /All checks passed\./);
});
