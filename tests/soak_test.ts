// The soak (bench/soak.ts, `deno task soak`) in miniature: a few seconds, with more duplicates,
// invalid signatures and Twilio failures than the real run, so every branch of the
// reconciliation is reached: two providers (Twilio faulty, Vonage reliable, SMS failing over from
// one to the other). The full run writes bench/RELIABILITY.md.
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
    // Benched for 30 s, a Twilio benched early would sit out the whole run: Vonage alone.
    providerBenchMs: 1000,
  });
  const failed = report.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], "every reconciliation check holds");
  assert.ok(report.ok);
  // The mix happened: without it the checks above would hold vacuously.
  assert.ok(report.counts["duplicate requests (retries)"]! > 5);
  assert.ok(report.counts["invalid signatures"]! > 2);
  assert.ok(Object.values(report.faults).reduce((a, b) => a + b, 0) > 10);
  const delivered = report.counts["deliveries reported delivered"]!;
  assert.ok(delivered > 100);
  // Both providers delivered: Twilio where it did not fail, Vonage the SMS Twilio failed (and
  // every SMS while Twilio sat benched).
  const byTwilio = report.counts["deliveries by Twilio"]!;
  const byVonage = report.counts["deliveries by Vonage"]!;
  assert.ok(byTwilio > 0, "Twilio delivered some");
  assert.ok(byVonage > 0, "Vonage delivered some");
  assert.equal(byTwilio + byVonage, delivered, "every delivery names its provider");
  assert.deepEqual(report.providers, { twilio: byTwilio, vonage: byVonage });
  assert.ok(report.counts["Vonage messages accepted"]! >= byVonage);
  assert.ok(report.counts["Vonage requests (attempts)"]! >= byVonage);
  // accepted-hang happened and led to the code from both providers, each explained by it (the
  // true double sends check above), and counted apart.
  assert.ok((report.faults["accepted-hang"] ?? 0) > 0, "accepted-hang was drawn");
  const cross = report.counts[
    "cross-provider duplicates (Twilio created the message unanswered, then Vonage sent it)"
  ]!;
  assert.ok(cross > 0, "cross-provider duplicates were produced and counted");
  assert.ok(cross <= report.faults["accepted-hang"]!, "each one explained by an accepted-hang");
  // Each bench ends at most once (its time is up, or the provider delivered).
  assert.ok(
    report.counts["providers restored (logged)"]! <= report.counts["providers benched (logged)"]!,
  );
  const text = await renderReliability(report, "test");
  assert.match(
    text,
    /\| true double sends \(a number with more than one message from one provider, or messages from both without a Twilio fault that created one unanswered\) \| 0 \| 0 \| ok \|/,
  );
  assert.match(text, new RegExp(`\\| cross-provider duplicates \\([^|]*\\) \\| ${cross} \\|`));
  assert.match(text, /OTP_PROVIDERS=twilio,vonage/);
  assert.match(text, /All checks passed\./);
});

Deno.test("soak: a Twilio SID whose hex spells a code is not a leak (false positive of the first 5-minute soak)", () => {
  const codes = new Set(["48213579", "90817263"]);
  const sid = "SM0a1b48213579c2d3e4f5a6b7c8d9e0f1";
  const lines = [
    JSON.stringify({ event: "delivered", id: sid, ms: 12 }),
    // Nor is a Vonage message-id (a UUID) whose groups do.
    JSON.stringify({ event: "delivered", id: "48213579-1234-4abc-8def-a90817263bcd" }),
    JSON.stringify({ event: "delivered", attempts: [{ id: sid.replace("SM", "CA") }] }),
    JSON.stringify({ event: "delivery_failed", detail: "code 90817263 refused" }),
    JSON.stringify({ event: "other", n: 908172631 }), // a longer number, not the code
  ];
  assert.deepEqual(codesInLogs(lines, codes), [{ where: "delivery_failed.detail" }]);
});
