// Hostile input, property-based: each front door takes FUZZ_RUNS generated requests (10,000 in
// CI, seeded; `deno task fuzz` runs more) and must hold, for every one of them:
// - no crash: never a 5xx, never an `unhandled_error` in the logs;
// - no send without valid authentication (decided by the reference package, not our verifier),
//   and no key sent twice;
// - an honest request is never refused as unauthenticated, and a deliverable one is delivered;
// - every answer in the door's dialect;
// - no code, full number or secret in the logs or the answer.
import fc from "fast-check";
import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import { MAX_BODY_BYTES } from "../../supabase/functions/_shared/doors/supabase.ts";
import { normalizeSecret } from "../../supabase/functions/_shared/webhook.ts";
import { captureLogs, NOW_MS, TEST_SECRET } from "../_helpers.ts";
import {
  AUTH0_SECRET,
  auth0Request,
  dedupeKeyOf,
  FUZZ_RUNS,
  FUZZ_SEED,
  knownStricter,
  OKTA_SECRET,
  oktaAuthentic,
  oktaRequest,
  type Plan,
  referenceAccepts,
  supabaseRequest,
} from "./_arbitraries.ts";

/** Every secret, in every form it could leak in. */
const SECRET_TEXTS = [
  normalizeSecret(TEST_SECRET).replace("whsec_", ""),
  AUTH0_SECRET.replace("whsec_", ""),
  OKTA_SECRET,
];

/** The memory store's size in the fuzzed app (OTP_MEMORY_MAX_ENTRIES' default). */
const MEMORY_ENTRIES = 10_000;

/** The deployed function with all three doors, on the console channel and a fixed clock. */
function fuzzedApp() {
  const printed: string[] = [];
  const logs = captureLogs();
  const boot = appFromEnv({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OKTA_HOOK_AUTH_SECRET: OKTA_SECRET,
    AUTH0_HOOK_SECRETS: AUTH0_SECRET,
    OTP_PROVIDER: "console",
    // Every line is checked for leaks, debug ones too.
    OTP_LOG_LEVEL: "debug",
    // Limits would refuse everything after a few sends; they are tested on their own.
    OTP_LIMIT_PER_NUMBER: "off",
    OTP_LIMIT_PER_PREFIX: "off",
  }, { print: (line) => printed.push(line), write: logs.write, now: () => NOW_MS });
  assert.ok("config" in boot, "configuration is valid");
  return { app: boot.app, printed, logs: logs.lines };
}

/** One door under test. */
interface Door {
  readonly name: "supabase" | "okta" | "auth0";
  readonly path: string;
  readonly requests: fc.Arbitrary<Plan>;
  authentic(plan: Plan): boolean;
  /** Throws when the answer is not in the door's dialect; says whether it reports success. */
  dialect(status: number, body: unknown): boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Supabase Auth and our Auth0 relay read the same shapes: `{}` or `{error: {http_code, …}}`. */
function authDialect(status: number, body: unknown, extra: (e: Record<string, unknown>) => void) {
  assert.ok(isObject(body), "a JSON object");
  if (status === 401 || status === 413) {
    assert.equal(typeof body.message, "string");
    return false;
  }
  assert.equal(status, 200);
  if (Object.keys(body).length === 0) return true;
  assert.deepEqual(Object.keys(body), ["error"]);
  const error = body.error;
  assert.ok(isObject(error));
  assert.ok([400, 403, 429, 500].includes(error.http_code as number), "http_code");
  assert.equal(typeof error.message, "string");
  assert.ok((error.message as string).length > 0);
  extra(error);
  return false;
}

const DOORS: readonly Door[] = [
  {
    name: "supabase",
    path: "/send-sms",
    requests: supabaseRequest,
    authentic: (plan) => referenceAccepts(TEST_SECRET, plan),
    dialect: (status, body) => authDialect(status, body, () => {}),
  },
  {
    name: "auth0",
    path: "/send-sms/auth0",
    requests: auth0Request,
    authentic: (plan) => referenceAccepts(AUTH0_SECRET, plan),
    dialect: (status, body) =>
      authDialect(status, body, (error) => {
        assert.equal(typeof error.reason, "string");
        assert.equal(typeof error.retryable, "boolean");
      }),
  },
  {
    name: "okta",
    path: "/send-sms/okta",
    requests: oktaRequest,
    authentic: oktaAuthentic,
    dialect(status, body) {
      assert.ok(isObject(body), "a JSON object");
      if (status === 401 || status === 413) {
        assert.equal(typeof body.message, "string");
        return false;
      }
      // Okta's own requests always get 200: anything else makes it send through its telephony.
      assert.equal(status, 200);
      if ("error" in body) {
        const error = body.error;
        assert.ok(isObject(error));
        assert.equal(typeof error.errorSummary, "string");
        assert.ok(Array.isArray(error.errorCauses));
        return false;
      }
      const commands = body.commands;
      assert.ok(Array.isArray(commands) && commands.length === 1);
      const command = commands[0];
      assert.equal(command.type, "com.okta.telephony.action");
      const value = command.value[0];
      assert.ok(["SUCCESSFUL", "PENDING", "FAILED"].includes(value.status));
      assert.equal(typeof value.provider, "string");
      assert.equal(typeof value.transactionId, "string");
      assert.equal(typeof value.transactionMetadata, "string");
      return value.status === "SUCCESSFUL";
    },
  },
];

/** A plan as a failure report shows it: huge bodies cut, so CI logs stay readable. */
function reported(plan: Plan): Plan {
  const cut = (v: string) => v.length > 600 ? `${v.slice(0, 600)}… (${v.length} chars)` : v;
  return Object.assign(plan, {
    [fc.toStringMethod]: () =>
      JSON.stringify({
        ...plan,
        body: typeof plan.body === "string" ? cut(plan.body) : `bytes ${plan.body}`,
        headers: plan.headers.map(([k, v]) => [k, cut(v)]),
      }),
  });
}

/** What must never be in a log line or an answer for this request. */
function forbidden(plan: Plan): string[] {
  const out = [...SECRET_TEXTS];
  // Long codes only: a 4-digit code shows up by chance in any number.
  if (plan.code && /^\d{7,}$/.test(plan.code)) out.push(plan.code);
  if (plan.digits && plan.digits.length >= 9) out.push(plan.digits);
  return out;
}

for (const door of DOORS) {
  Deno.test(`hostile input: ${FUZZ_RUNS} generated requests to the ${door.name} door`, async () => {
    const { app, printed, logs } = fuzzedApp();
    const sentKeys = new Map<string, number>();
    let keyed = 0;
    const seenKeys = new Set<string>();
    let honest = 0, delivered = 0, unauthorized = 0;
    const stricter: Record<string, number> = {};

    await fc.assert(
      fc.asyncProperty(door.requests.map(reported), async (plan) => {
        const before = { printed: printed.length, logs: logs.length };
        const res = await app.request(door.path, {
          method: "POST",
          headers: plan.headers as [string, string][],
          body: plan.body,
        });
        const text = await res.text();
        const sent = printed.length - before.printed;
        const lines = logs.slice(before.logs);

        // No crash, and the door's dialect.
        assert.ok(res.status < 500, `status ${res.status}`);
        assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
        const success = door.dialect(res.status, JSON.parse(text));
        for (const line of lines) {
          const entry = JSON.parse(line);
          assert.notEqual(entry.event, "unhandled_error", line.slice(0, 300));
        }

        // Too large is decided by size alone, before anything is read.
        const bytes = typeof plan.body === "string"
          ? new TextEncoder().encode(plan.body).length
          : plan.body.length;
        assert.equal(res.status === 413, bytes > MAX_BODY_BYTES, `413 for ${bytes} bytes`);
        if (res.status === 413) return;

        // Authentication decides everything.
        const authentic = door.authentic(plan);
        assert.ok(sent <= 1, "one request, at most one message");
        if (sent === 1) {
          assert.ok(authentic, "sent without valid authentication");
          assert.ok(success, "sent but not reported as delivered");
        }
        if (!authentic) {
          assert.equal(res.status, 401, "unauthenticated but not refused");
        }
        if (authentic && res.status === 401) {
          // Refusing what the reference accepts is allowed only where we are stricter on purpose.
          const why = knownStricter(plan);
          assert.ok(why, `an authentic request refused: ${lines.join(" ").slice(0, 300)}`);
          stricter[why] = (stricter[why] ?? 0) + 1;
        }
        if (plan.honest) {
          assert.notEqual(
            res.status,
            401,
            `honest request refused: ${lines.join(" ").slice(0, 300)}`,
          );
        }
        const key = dedupeKeyOf(door.name, plan);
        if (key !== undefined) {
          if (sent === 1) {
            // The memory store keeps the last OTP_MEMORY_MAX_ENTRIES claims: a key sent again
            // only after that many other claims was forgotten by design, not sent twice. Every
            // authenticated request with a key counts (at least as many as its claims).
            const at = sentKeys.get(key);
            assert.ok(
              at === undefined || keyed - at >= MEMORY_ENTRIES - 1,
              "a dedupe key sent twice",
            );
            sentKeys.set(key, keyed);
          }
          if (res.status !== 401) keyed += 1;
          // A fresh deliverable request is delivered; a repeated key replays what came first.
          if (plan.deliverable && !seenKeys.has(key)) {
            assert.ok(success && sent === 1, `deliverable request not delivered: ${text}`);
          }
          if (res.status !== 401) seenKeys.add(key);
        } else assert.ok(!plan.deliverable, "a deliverable request without a key");

        // Nothing secret in the logs or the answer.
        const visible = lines.join("\n") + "\n" + text;
        for (const secret of forbidden(plan)) {
          assert.ok(!visible.includes(secret), "a code, number or secret leaked");
        }

        honest += plan.honest ? 1 : 0;
        delivered += sent;
        unauthorized += res.status === 401 ? 1 : 0;
      }),
      { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, endOnFailure: true },
    );
    // The generators reach every branch: without these the property could pass vacuously.
    const share = (n: number) => n / FUZZ_RUNS;
    assert.ok(share(honest) > 0.2, `honest share ${honest}`);
    assert.ok(share(delivered) > 0.05, `delivered share ${delivered}`);
    assert.ok(share(unauthorized) > 0.2, `unauthorized share ${unauthorized}`);
  });
}
