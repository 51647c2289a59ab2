/**
 * The Supabase Auth front door: the HTTP Send SMS hook (docs/contracts.md §1).
 *
 * Auth reads our answer narrowly: success is `200` + `application/json` + `{}`; a failure the
 * user should understand is `200` + `{"error":{"http_code":N,"message":"…"}}`. Any other status
 * makes Auth discard our body and show a generic 500, so every outcome of a correctly signed
 * request is answered with 200.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "../zod.ts";
import { deliver, type DeliveryDeps } from "../delivery/deliver.ts";
import { userFacingError } from "../delivery/failures.ts";
import type { FailureReason } from "../delivery/types.ts";
import { parsePhone } from "../phone.ts";
import type { WebhookVerifier } from "../webhook.ts";
import { readSignedJson } from "./_signed.ts";
import { DEFAULT_TOLERANCE_SECONDS } from "../webhook.ts";

/**
 * Bodies above this are refused before they are read in full or verified. An unauthenticated
 * body costs an HMAC per configured secret (~45 ms of CPU per MB, found in review), so the limit
 * fits real payloads, not any payload: the largest realistic Supabase hook body (a user with
 * twenty linked identities and 40 KB of metadata, tests/hardening_test.ts) is under a quarter of
 * it. Okta's and Auth0's requests are far smaller.
 */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the door needs besides the delivery dependencies. */
export interface SupabaseDoorDeps extends DeliveryDeps {
  readonly verifier: WebhookVerifier;
  /** Time from receiving a request to answering it. */
  readonly deadlineMs: number;
}

const text = z.string().nullish();
const record = z.record(z.string(), z.unknown()).nullish();

/**
 * The hook payload. Only `user` and `sms.otp` are required; older Auth versions omit the rest,
 * and unknown fields are allowed (Auth adds fields over time).
 */
export const supabasePayload = z.object({
  metadata: z.looseObject({
    uuid: z.string().max(200).nullish(),
    time: text,
    name: text,
    ip_address: text,
  }).nullish(),
  user: z.looseObject({
    id: text,
    phone: text,
    new_phone: text,
    user_metadata: record,
    app_metadata: record,
  }),
  sms: z.looseObject({
    otp: z.string().regex(/^\d{4,10}$/),
    sms_type: text,
    phone: text,
  }),
});

/** The hook payload as validated. */
export type SupabasePayload = z.infer<typeof supabasePayload>;

/** Success, as Auth requires it: JSON content type and an empty object. */
function success(c: Context): Response {
  return c.json({});
}

/** A failure Auth shows to the user; always HTTP 200 (Auth ignores bodies of other statuses). */
export function supabaseFailure(c: Context, reason: FailureReason | "invalid_payload"): Response {
  const { httpCode, message } = userFacingError(reason);
  return c.json({ error: { http_code: httpCode, message } });
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Creates the door as a Hono sub-app answering `POST /`.
 *
 * @example
 * ```ts
 * app.route("/", createSupabaseDoor(deps));
 * ```
 */
export function createSupabaseDoor(deps: SupabaseDoorDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json({ message: "Payload too large" }, 413),
  });

  app.post("/", limit, async function supabaseHook(c) {
    try {
      return await handle(c);
    } catch (err) {
      // Even a bug answers in Auth's dialect: a 5xx would show users a generic error.
      deps.log.error("unhandled_error", {
        door: "supabase",
        error: err instanceof Error ? err.name : typeof err,
      });
      return supabaseFailure(c, "internal");
    }
  });

  async function handle(c: Context): Promise<Response> {
    const received = deps.now();
    const read = await readSignedJson(c, {
      verifier: deps.verifier,
      log: deps.log,
      door: "supabase",
      notJson: (c) => supabaseFailure(c, "invalid_payload"),
    });
    if (!read.ok) return read.response;
    const { raw, json } = read;
    const parsed = supabasePayload.safeParse(json);
    if (!parsed.success) {
      // Paths only: values may hold the code or the number.
      const fields = parsed.error.issues.map((i) => i.path.join(".")).join(",");
      deps.log.warn("invalid_payload", { door: "supabase", fields });
      return supabaseFailure(c, "invalid_payload");
    }
    const { metadata, user, sms } = parsed.data;

    // On a phone change `user.phone` is the old number; `sms.phone` is where the code must go.
    const destination = sms.phone || user.phone;
    if (!destination) {
      deps.log.warn("invalid_payload", { door: "supabase", fields: "sms.phone,user.phone" });
      return supabaseFailure(c, "invalid_payload");
    }
    const to = parsePhone(destination);
    if (!to) {
      deps.log.warn("invalid_number", { door: "supabase", digits: destination.length });
      return supabaseFailure(c, "invalid_number");
    }

    // Auth retries with a new webhook-id and the same body: dedupe on metadata.uuid, which is
    // stable across attempts, or on the body itself when an older Auth sends no uuid.
    // The body holds the code: key it with the secret hash where there is one, so a stored
    // dedupe key can't be brute-forced back into the code.
    const dedupeKey = metadata?.uuid
      ? `supabase:uuid:${metadata.uuid}`
      : `supabase:body:${deps.hash ? await deps.hash(`body:${raw}`) : await sha256Hex(raw)}`;

    const { outcome } = await deliver({
      door: "supabase",
      dedupeKey,
      to,
      code: sms.otp,
      deadline: received + deps.deadlineMs,
      replayableUntil: read.signedAt + DEFAULT_TOLERANCE_SECONDS * 1000,
      // Auth never says which channel the user asked for (docs/contracts.md §1.1): the policy
      // decides.
      appMetadata: user.app_metadata ?? undefined,
      userMetadata: user.user_metadata ?? undefined,
      locales: [user.user_metadata?.locale, user.user_metadata?.language],
      ...(metadata?.ip_address ? { ip: metadata.ip_address } : {}),
    }, deps);
    return outcome.ok ? success(c) : supabaseFailure(c, outcome.reason);
  }

  return app;
}
