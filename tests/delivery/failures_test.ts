import assert from "node:assert/strict";
import { retryable, userFacingError } from "../../supabase/functions/_shared/delivery/failures.ts";
import type { FailureReason, SentState } from "../../supabase/functions/_shared/delivery/types.ts";

Deno.test("retryable: only failures that may pass and certainly sent nothing", () => {
  const cases: [FailureReason, SentState, boolean][] = [
    ["provider_unavailable", "no", true],
    ["provider_unavailable", "unknown", false], // a retry could deliver a second message
    ["timeout", "no", true],
    ["timeout", "unknown", false],
    ["rate_limited", "no", true],
    ["store_unavailable", "no", true],
    ["internal", "no", true],
    ["invalid_number", "no", false],
    ["opted_out", "no", false],
    ["limit_number", "no", false], // our refusals: retrying would only count again
    ["limit_global", "no", false],
    ["country_not_allowed", "no", false],
    ["provider_config", "no", false], // wrong credentials stay wrong
    ["channel_config", "no", false],
    ["no_channel", "no", false],
  ];
  for (const [reason, sent, expected] of cases) {
    assert.equal(
      retryable({ ok: false, reason, sent, attempts: [] }),
      expected,
      `${reason}/${sent}`,
    );
  }
});

Deno.test("userFacingError: statuses Auth keeps (400, 403, 429, 500), no internals", () => {
  for (const reason of ["invalid_payload", "timeout", "limit_ip", "provider_config"] as const) {
    const { httpCode, message } = userFacingError(reason);
    assert.ok([400, 403, 429, 500].includes(httpCode));
    assert.doesNotMatch(message, /twilio|provider|store|config/i);
  }
});
