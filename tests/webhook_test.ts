import assert from "node:assert/strict";
import { createWebhookVerifier, normalizeSecret } from "../supabase/functions/_shared/webhook.ts";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";
import { constantTimeEqual } from "../supabase/functions/_shared/constant-time.ts";
import { OTHER_SECRET, TEST_SECRET } from "./_helpers.ts";

// The Standard Webhooks reference vector.
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: `{"test": 2432232314}`,
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const atVector = () => VECTOR.timestamp * 1000;
const vectorHeaders = (signature = VECTOR.signature) => ({
  id: VECTOR.id,
  timestamp: String(VECTOR.timestamp),
  signature,
});

Deno.test("known-answer vector: signing produces the reference signature", () => {
  const headers = signWebhook({
    secrets: [VECTOR.secret],
    id: VECTOR.id,
    timestamp: VECTOR.timestamp,
    body: VECTOR.body,
  });
  assert.equal(headers["webhook-signature"], VECTOR.signature);
});

Deno.test("known-answer vector verifies, with and without Supabase's v1, prefix", async () => {
  for (const secret of [VECTOR.secret, `v1,${VECTOR.secret}`]) {
    const verifier = createWebhookVerifier({ secrets: [secret], now: atVector });
    assert.deepEqual(await verifier.verify(vectorHeaders(), VECTOR.body), {
      ok: true,
      signedAt: VECTOR.timestamp * 1000,
    });
  }
});

Deno.test("normalizeSecret strips only the v1, prefix", () => {
  assert.equal(normalizeSecret("v1,whsec_abc="), "whsec_abc=");
  assert.equal(normalizeSecret(" whsec_abc= "), "whsec_abc=");
});

Deno.test("rejects: each missing header", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  for (const missing of ["id", "timestamp", "signature"] as const) {
    const headers = { ...vectorHeaders(), [missing]: null };
    assert.deepEqual(await verifier.verify(headers, VECTOR.body), {
      ok: false,
      reason: "missing_headers",
    });
  }
});

Deno.test("rejects: a bad signature", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  const bad = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=";
  assert.deepEqual(await verifier.verify(vectorHeaders(bad), VECTOR.body), {
    ok: false,
    reason: "bad_signature",
  });
  // A signature of another version, or with no value, is not accepted either.
  for (const sig of ["v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "v1,", "garbage"]) {
    assert.equal((await verifier.verify(vectorHeaders(sig), VECTOR.body)).ok, false);
  }
});

Deno.test("rejects: a stale timestamp, just past the 5-minute tolerance", async () => {
  const ok = createWebhookVerifier({ secrets: [VECTOR.secret], now: () => atVector() + 300_000 });
  assert.equal((await ok.verify(vectorHeaders(), VECTOR.body)).ok, true);
  const stale = createWebhookVerifier({
    secrets: [VECTOR.secret],
    now: () => atVector() + 301_000,
  });
  assert.deepEqual(await stale.verify(vectorHeaders(), VECTOR.body), {
    ok: false,
    reason: "stale",
  });
});

Deno.test("rejects: a timestamp from the future, past the tolerance", async () => {
  const ok = createWebhookVerifier({ secrets: [VECTOR.secret], now: () => atVector() - 300_000 });
  assert.equal((await ok.verify(vectorHeaders(), VECTOR.body)).ok, true);
  const future = createWebhookVerifier({
    secrets: [VECTOR.secret],
    now: () => atVector() - 301_000,
  });
  assert.deepEqual(await future.verify(vectorHeaders(), VECTOR.body), {
    ok: false,
    reason: "future",
  });
});

Deno.test("rejects: a malformed timestamp (parseInt would have accepted a prefix)", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  for (const timestamp of [`${VECTOR.timestamp}abc`, "-1", "1e9", " 1614265330", "1614265330.5"]) {
    assert.deepEqual(await verifier.verify({ ...vectorHeaders(), timestamp }, VECTOR.body), {
      ok: false,
      reason: "malformed_timestamp",
    });
  }
});

Deno.test("rejects: a tampered body", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  assert.equal((await verifier.verify(vectorHeaders(), `{"test": 2432232315}`)).ok, false);
  assert.equal((await verifier.verify(vectorHeaders(), `${VECTOR.body} `)).ok, false);
});

Deno.test("rejects: a tampered id or timestamp", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  assert.equal(
    (await verifier.verify({ ...vectorHeaders(), id: "msg_other" }, VECTOR.body)).ok,
    false,
  );
  assert.equal(
    (await verifier.verify(
      { ...vectorHeaders(), timestamp: String(VECTOR.timestamp + 1) },
      VECTOR.body,
    )).ok,
    false,
  );
});

Deno.test("rejects: a signature made with another secret", async () => {
  const verifier = createWebhookVerifier({ secrets: [OTHER_SECRET], now: atVector });
  assert.deepEqual(await verifier.verify(vectorHeaders(), VECTOR.body), {
    ok: false,
    reason: "bad_signature",
  });
});

Deno.test("rotation: either of two configured secrets verifies", async () => {
  const verifier = createWebhookVerifier({ secrets: [OTHER_SECRET, TEST_SECRET], now: atVector });
  for (const secret of [TEST_SECRET, OTHER_SECRET]) {
    const h = signWebhook({
      secrets: [secret],
      id: VECTOR.id,
      timestamp: VECTOR.timestamp,
      body: VECTOR.body,
    });
    const verdict = await verifier.verify({
      id: h["webhook-id"],
      timestamp: h["webhook-timestamp"],
      signature: h["webhook-signature"],
    }, VECTOR.body);
    assert.deepEqual(verdict, { ok: true, signedAt: VECTOR.timestamp * 1000 });
  }
});

Deno.test("Auth's multi-secret header ('v1,a, v1,b') verifies against whichever secret we hold", async () => {
  const h = signWebhook({
    secrets: [OTHER_SECRET, TEST_SECRET],
    id: VECTOR.id,
    timestamp: VECTOR.timestamp,
    body: VECTOR.body,
  });
  assert.match(h["webhook-signature"]!, /^v1,[^ ]+=, v1,[^ ]+=$/);
  for (const held of [TEST_SECRET, OTHER_SECRET]) {
    const verifier = createWebhookVerifier({ secrets: [held], now: atVector });
    const verdict = await verifier.verify({
      id: h["webhook-id"],
      timestamp: h["webhook-timestamp"],
      signature: h["webhook-signature"],
    }, VECTOR.body);
    assert.deepEqual(verdict, { ok: true, signedAt: VECTOR.timestamp * 1000 });
  }
  // The spec's plain space separator works as well.
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  assert.equal(
    (await verifier.verify(vectorHeaders(`v1,bm90IGl0 ${VECTOR.signature}`), VECTOR.body)).ok,
    true,
  );
});

Deno.test("a verifier needs at least one secret", () => {
  assert.throws(() => createWebhookVerifier({ secrets: [] }), /At least one secret/);
});

Deno.test("rejects: a webhook-id that is too long or not printable ASCII (it keys dedupe)", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  for (const id of ["x".repeat(257), "msg 1", "msg_é"]) {
    assert.deepEqual(await verifier.verify({ ...vectorHeaders(), id }, VECTOR.body), {
      ok: false,
      reason: "malformed_id",
    });
  }
});

Deno.test("the native verifier accepts what the standardwebhooks package signs, for random input", async () => {
  // webhook.ts (@noble/hashes) and webhook-sign.ts (the reference package) must agree byte for byte.
  for (let i = 0; i < 50; i++) {
    const secret = "whsec_" + btoa(crypto.randomUUID() + i);
    const body = JSON.stringify({ n: i, text: "é€😀\u0000".repeat(i % 5), r: Math.random() });
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(VECTOR.timestamp + i);
    const signed = signWebhook({ secrets: [secret], id, timestamp, body });
    const verifier = createWebhookVerifier({ secrets: [secret], now: () => timestamp * 1000 });
    const headers = {
      id,
      timestamp: signed["webhook-timestamp"],
      signature: signed["webhook-signature"],
    };
    assert.deepEqual(await verifier.verify(headers, body), {
      ok: true,
      signedAt: timestamp * 1000,
    });
    assert.equal((await verifier.verify(headers, body + " ")).ok, false);
  }
});

Deno.test("constantTimeEqual: equal, different, different lengths", () => {
  const e = new TextEncoder();
  assert.equal(constantTimeEqual(e.encode("abc"), e.encode("abc")), true);
  assert.equal(constantTimeEqual(e.encode("abc"), e.encode("abd")), false);
  assert.equal(constantTimeEqual(e.encode("abc"), e.encode("ab")), false);
  assert.equal(constantTimeEqual(new Uint8Array(), new Uint8Array()), true);
});

Deno.test("issue 14 #7: the verifier checks bytes as given: a string and its UTF-8 bytes agree, other bytes don't", async () => {
  const verifier = createWebhookVerifier({ secrets: [VECTOR.secret], now: atVector });
  const bytes = new TextEncoder().encode(VECTOR.body);
  assert.equal((await verifier.verify(vectorHeaders(), bytes)).ok, true);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
  assert.equal((await verifier.verify(vectorHeaders(), bom)).ok, false, "a BOM is a byte too");
});
