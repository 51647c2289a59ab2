// Provider faults: the real twilio SDK against a Twilio that resets, cuts, hangs, trickles,
// fails with 5xx/429 or answers 201 without a readable SID. For every door and fault:
// - the answer arrives inside the door's deadline, in the door's dialect;
// - the channels tried are the ones the policy says (sms → whatsapp → voice; a fault after which
//   the message may already be queued stops the fallback);
// - success is reported only for a message Twilio accepted, and only that one;
// - a failure says whether a retry is safe (Auth0) or whether the code may have left (Okta).
import fc from "fast-check";
import assert from "node:assert/strict";
import { appFromEnv } from "../../supabase/functions/_shared/bootstrap.ts";
import { loadTwilioClient } from "../../supabase/functions/_shared/providers/twilio/sdk.ts";
import { ALL_CHANNELS_ENV } from "../_deployment.ts";
import { captureLogs } from "../_helpers.ts";
import {
  CREATING_FAULTS,
  type Fault,
  FAULTS,
  type FaultyTwilio,
  refusingUrl,
  startFaultyTwilio,
} from "../fakes/faulty-twilio.ts";
import { FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN } from "../fakes/twilio-api.ts";
import {
  callerRequest,
  DEADLINE_SLACK_MS,
  DOOR_NAMES,
  doorDeadlines,
  type DoorName,
  DOORS_ENV,
  readVerdict,
} from "./_callers.ts";

// The first send imports the SDK; under load that alone could outlast a 300 ms attempt.
await loadTwilioClient();

/** Short budgets, so a hang costs 300 ms: every channel still gets its attempt in 1 s. */
const FAST_ENV = {
  OTP_ATTEMPT_TIMEOUT_MS: "300",
  OTP_DEADLINE_MS: "1000",
  OKTA_DEADLINE_MS: "1000",
  AUTH0_DEADLINE_MS: "1000",
};
const CHANNEL_ORDER = ["sms", "whatsapp", "voice"] as const;

/** What a fault means for the router: did the message maybe leave, and may it fall back? */
const EFFECT: Record<Fault | "refused", { sent: "no" | "unknown"; fallback: boolean }> = {
  refused: { sent: "no", fallback: true },
  reset: { sent: "unknown", fallback: true },
  // Twilio answered 201 and created the message; only the answer was lost. Another channel
  // would send the code twice (the first review found exactly that).
  cut: { sent: "unknown", fallback: false },
  // Silence: nothing says whether Twilio got it. The policy prefers a second channel (the same
  // code twice at worst) to locking the user out.
  hang: { sent: "unknown", fallback: true },
  // Twilio created the message, then fell silent: to the router it is a hang like the one above
  // (a timeout: the next provider, then the next channel), so the code may arrive twice.
  "accepted-hang": { sent: "unknown", fallback: true },
  trickle: { sent: "unknown", fallback: false },
  "500": { sent: "no", fallback: true },
  "503": { sent: "no", fallback: true },
  "502-proxy": { sent: "unknown", fallback: true },
  "429": { sent: "no", fallback: true },
  // A 2xx Twilio answered: the message is probably queued. Another channel would send it twice.
  "invalid-json": { sent: "unknown", fallback: false },
  "no-sid": { sent: "unknown", fallback: false },
};

/** The expected course of a request whose attempts meet `faults` in turn (undefined: fine). */
function expected(faults: readonly (Fault | "refused" | undefined)[]) {
  let tried = 0;
  const sent: ("no" | "unknown")[] = [];
  for (let i = 0; i < CHANNEL_ORDER.length; i++) {
    const fault = faults[i];
    tried++;
    if (fault === undefined) return { tried, delivered: true, sentNo: false };
    sent.push(EFFECT[fault].sent);
    if (!EFFECT[fault].fallback) break;
  }
  return { tried, delivered: false, sentNo: sent.every((s) => s === "no") };
}

/** One request to `door` against a Twilio that misbehaves as `faults` say. */
async function run(
  door: DoorName,
  faults: readonly (Fault | undefined)[] | "refused",
  env: Record<string, string> = FAST_ENV,
) {
  const fake: FaultyTwilio | undefined = faults === "refused" ? undefined : startFaultyTwilio({
    fault: ({ index }) => faults[index],
  });
  const logs = captureLogs();
  try {
    const boot = appFromEnv({
      ...DOORS_ENV,
      ...ALL_CHANNELS_ENV,
      TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
      TWILIO_API_BASE_URL: fake?.baseUrl ?? refusingUrl(),
      OTP_CHANNELS: CHANNEL_ORDER.join(","),
      ...env,
    }, { write: logs.write });
    assert.ok("config" in boot, "configuration is valid");
    const { path, init } = callerRequest(door, { phone: "+447400123456", code: "48291736" });
    const started = performance.now();
    const res = await boot.app.request(path, init);
    const elapsed = performance.now() - started;
    const verdict = await readVerdict(door, res);
    const delivered = logs.lines.filter((l) => l.includes('"event":"delivered"'));
    return { verdict, elapsed, fake, logs: logs.lines, delivered };
  } finally {
    await fake?.close();
  }
}

/** Checks one run against the model. */
function check(
  door: DoorName,
  faults: readonly (Fault | "refused" | undefined)[],
  result: Awaited<ReturnType<typeof run>>,
  env: Record<string, string> = FAST_ENV,
) {
  const { verdict, elapsed, fake, delivered } = result;
  const want = expected(faults);
  const label = `${door} with ${JSON.stringify(faults)}`;
  const deadline = doorDeadlines(env)[door] + DEADLINE_SLACK_MS;
  assert.ok(elapsed < deadline, `${label}: answered in ${elapsed} ms`);
  if (fake) {
    assert.equal(fake.requests.length, want.tried, `${label}: channels tried`);
    // Twilio saw each attempt on the policy's channel, in order. (A reset attempt's body is never
    // read: its channel is known only as far as its resource says.)
    const channels = fake.requests.map((r) => r.channel);
    const planned = CHANNEL_ORDER.slice(0, want.tried).map((c, i) =>
      faults[i] === "reset" ? (c === "voice" ? "voice" : "sms or whatsapp") : c
    );
    assert.deepEqual(channels, planned, `${label}: channel order`);
  }
  if (fake) {
    // What Twilio created, answered or not: the delivered message, plus one for each attempt
    // whose fault created a message the client never heard of. Only accepted-hang lets the
    // router go on after that (it looks like silence), so never two messages otherwise.
    const tried = Array.from({ length: want.tried }, (_, i) => faults[i]);
    const unheard = tried.filter((f) =>
      f !== undefined && f !== "refused" && CREATING_FAULTS.has(f)
    );
    assert.equal(
      fake.created.length,
      unheard.length + (want.delivered ? 1 : 0),
      `${label}: ${fake.created.length} messages created`,
    );
    if (!tried.includes("accepted-hang")) assert.ok(fake.created.length <= 1);
    // Each request names its recipient, except a reset's, whose body was never read.
    assert.deepEqual(
      fake.requests.map((r) => r.to),
      tried.map((f) => f === "reset" ? undefined : "+447400123456"),
      `${label}: recipients`,
    );
  }
  if (want.delivered) {
    assert.equal(verdict.kind, "delivered", `${label}: delivered`);
    assert.equal(delivered.length, 1);
    const id = JSON.parse(delivered[0]!).id;
    assert.deepEqual(
      fake?.accepted.map((m) => m.sid),
      [id],
      `${label}: the accepted message is the one reported`,
    );
    if (door === "okta") assert.equal(verdict.id, id);
    return;
  }
  // Never success unless a provider accepted.
  assert.notEqual(verdict.kind, "delivered", `${label}: reported delivered`);
  assert.equal(delivered.length, 0);
  assert.deepEqual(fake?.accepted ?? [], []);
  if (door === "okta") {
    // PENDING when the code may have left: FAILED would make Okta send a second one.
    assert.equal(verdict.kind, want.sentNo ? "failed" : "pending", `${label}: okta status`);
  }
  if (door === "auth0") {
    assert.equal(verdict.retryable, want.sentNo, `${label}: retryable`);
  }
}

for (const fault of FAULTS) {
  Deno.test(`provider fault ${fault}: on SMS → fallback per policy, every door, in time`, async () => {
    const faults = [fault];
    await Promise.all(DOOR_NAMES.map(async (door) => check(door, faults, await run(door, faults))));
  });
  Deno.test(`provider fault ${fault}: on every channel → honest failure, every door, in time`, async () => {
    const faults = [fault, fault, fault];
    await Promise.all(DOOR_NAMES.map(async (door) => check(door, faults, await run(door, faults))));
  });
}

Deno.test("provider: a 201 whose answer is lost (cut, trickle) is not sent again on another channel (double send found in review)", async () => {
  for (const fault of ["cut", "trickle"] as const) {
    await Promise.all(DOOR_NAMES.map(async (door) => {
      const result = await run(door, [fault]);
      check(door, [fault], result);
      assert.equal(result.fake!.created.length, 1, `${door} ${fault}: one message, not two`);
      assert.equal(result.fake!.requests.length, 1, `${door} ${fault}: no second channel`);
    }));
  }
});

Deno.test("provider fault refused: nothing listens → provider_unavailable, safe to retry", async () => {
  const faults = ["refused", "refused", "refused"] as const;
  await Promise.all(
    DOOR_NAMES.map(async (door) => check(door, faults, await run(door, "refused"))),
  );
});

Deno.test("provider faults, mixed: random fault sequences hold the same properties", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...DOOR_NAMES),
      fc.array(fc.option(fc.constantFrom(...FAULTS), { freq: 4 }), { minLength: 3, maxLength: 3 }),
      async (door, drawn) => {
        const faults = drawn.map((f) => f ?? undefined);
        check(door, faults, await run(door, faults));
      },
    ),
    { numRuns: 30, seed: 20261123, endOnFailure: true },
  );
});

Deno.test("provider fault hang everywhere, default deadlines: each door answers inside its own", async () => {
  // Supabase 4 s, Okta 2.5 s, Auth0 8 s, 1.5 s per attempt: the deadline, not the channel list,
  // ends the attempts (Okta gets two, the others three).
  await Promise.all(DOOR_NAMES.map(async (door) => {
    const { verdict, elapsed, fake, delivered } = await run(door, ["hang", "hang", "hang"], {});
    const deadline = doorDeadlines()[door] + DEADLINE_SLACK_MS;
    assert.ok(elapsed < deadline, `${door}: answered in ${elapsed} ms`);
    assert.equal(fake!.requests.length, door === "okta" ? 2 : 3, `${door}: attempts`);
    assert.equal(delivered.length, 0);
    assert.equal(verdict.kind, door === "okta" ? "pending" : "failed");
    if (door === "auth0") assert.equal(verdict.retryable, false);
  }));
});
