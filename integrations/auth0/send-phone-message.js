/**
 * otp-relay for Auth0 Actions: the send-phone-message trigger (MFA by SMS or voice).
 *
 * Forwards the message to otp-relay, which picks the channel, writes the words and sends through
 * the owner's Twilio. When delivery fails the Action fails with the reason, which Auth0 shows in
 * the tenant logs; neither the code nor the phone number is ever in that message.
 *
 * Runtime: Node 18 or later. Dependency: standardwebhooks@1.1.1.
 * Secrets:
 *   OTP_RELAY_URL         https://<project>.supabase.co/functions/v1/send-sms/auth0
 *   OTP_RELAY_SECRET      whsec_…: one of the function's AUTH0_HOOK_SECRETS
 *   OTP_RELAY_TIMEOUT_MS  optional, default 10000 (Auth0 stops an Action at 20 s)
 *
 * See docs/auth0.md.
 */
"use strict";
const { Webhook } = require("standardwebhooks");
const { randomBytes } = require("crypto");

// ---- otp-relay client: the same in every file of integrations/auth0 (a test checks) ----
// Plain JavaScript that runs on every runtime Auth0 has had, Node 12 included: no optional
// chaining, no fetch. The caller passes `post`, its way of making an HTTP request.

/** How long the whole relay may take unless OTP_RELAY_TIMEOUT_MS says otherwise. */
const DEFAULT_TIMEOUT_MS = 10000;
/** Auth0 stops Actions and Hooks at 20 s: give up early enough to say why. */
const MAX_TIMEOUT_MS = 18000;
/** A request otp-relay never answered is tried again only with this much time left. */
const RETRY_IF_MS_LEFT = 3000;

/**
 * https only: the relay sends codes and numbers. Plain http only to this machine (localhost,
 * 127.0.0.1, ::1), for a local test server.
 */
function relayUrlAllowed(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** Reads and checks the secrets; throws a message that names the secret to fix. */
function relaySettings(secrets) {
  const url = secrets && secrets.OTP_RELAY_URL;
  const secret = secrets && String(secrets.OTP_RELAY_SECRET || "").trim().replace(/^v1,/, "");
  if (!url || !relayUrlAllowed(url)) {
    throw new Error(
      "otp-relay: set the OTP_RELAY_URL secret to the function's https:// /send-sms/auth0 URL " +
        "(plain http only for localhost)",
    );
  }
  if (!/^whsec_[A-Za-z0-9+/]{4,}={0,2}$/.test(secret)) {
    throw new Error(
      "otp-relay: set the OTP_RELAY_SECRET secret to whsec_<base64>, one of the function's " +
        "AUTH0_HOOK_SECRETS",
    );
  }
  const asked = Number(secrets.OTP_RELAY_TIMEOUT_MS);
  const timeoutMs = asked >= 1000 ? Math.min(asked, MAX_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS;
  return { url: url, webhook: new Webhook(secret), timeoutMs: timeoutMs };
}

function failed(retryable, message) {
  return { ok: false, retryable: retryable, message: message };
}

/** What otp-relay's answer means: `{}` is delivered, `{error}` says why not and if it may pass. */
function readAnswer(answer) {
  if (answer.status === 401) {
    return failed(
      false,
      "otp-relay refused the signature: OTP_RELAY_SECRET must be one of the function's " +
        "AUTH0_HOOK_SECRETS",
    );
  }
  if (answer.status === 404) {
    return failed(
      false,
      "otp-relay has no Auth0 door at OTP_RELAY_URL: the URL must end in /send-sms/auth0 and " +
        "the function needs AUTH0_HOOK_SECRETS",
    );
  }
  if (answer.status !== 200) {
    // Not otp-relay's answer (it answers every signed request with 200): the platform in front
    // of it. Only 429 says the request was turned away; after a 5xx it may have run.
    return failed(answer.status === 429, "otp-relay answered HTTP " + answer.status);
  }
  let json;
  try {
    json = JSON.parse(answer.text);
  } catch (_) {
    json = undefined;
  }
  if (!json || typeof json !== "object") return failed(false, "otp-relay answered without JSON");
  if (!json.error) return { ok: true };
  return failed(
    json.error.retryable === true,
    "otp-relay could not deliver the message: " + String(json.error.reason || "error") + " (" +
      String(json.error.message || "no detail") + ")",
  );
}

/** True for errors that prove the request never reached the server: nothing can have run. */
function neverConnected(err) {
  const code = err && (err.code || (err.cause && err.cause.code));
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].indexOf(code) >= 0) return true;
  return /ECONNREFUSED|Connection refused|ENOTFOUND|getaddrinfo|dns error/i.test(
    String(err && err.message) + " " + String(err && err.cause && err.cause.message),
  );
}

/**
 * Sends `body` to otp-relay, signed with Standard Webhooks, and says how it went:
 * `{ ok: true }` or `{ ok: false, retryable, message }`. A request otp-relay did not answer is
 * sent again once, with the same webhook-id, so otp-relay delivers it only once. A failure is
 * retryable only while no copy can have reached otp-relay: a retry by Auth0 is a new request,
 * which otp-relay could not tell from the first.
 */
async function relay(secrets, body, post) {
  const settings = relaySettings(secrets);
  const started = Date.now();
  const id = "msg_" + randomBytes(16).toString("hex");
  const payload = JSON.stringify(body);
  let reached = false;
  for (let attempt = 1;; attempt += 1) {
    const left = settings.timeoutMs - (Date.now() - started);
    const now = new Date();
    const headers = {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": settings.webhook.sign(id, now, payload),
    };
    const again = attempt === 1 && left > RETRY_IF_MS_LEFT;
    let answer;
    try {
      answer = await post(settings.url, headers, payload, left);
    } catch (err) {
      if (err && err.code === "TIMEOUT") {
        // It may have been sent: a retry by Auth0 would be a new request, and a second message.
        return failed(
          false,
          "otp-relay did not answer within " + settings.timeoutMs + " ms; the message may " +
            "have been sent",
        );
      }
      if (!neverConnected(err)) reached = true;
      if (again) continue;
      return failed(!reached, "otp-relay could not be reached: " + String(err && err.message));
    }
    if (again && [502, 503, 504].indexOf(answer.status) >= 0) {
      reached = true;
      continue;
    }
    const result = readAnswer(answer);
    // otp-relay's own answer covers the earlier copy (same webhook-id); the platform's does not.
    if (!result.ok && answer.status !== 200 && reached) result.retryable = false;
    return result;
  }
}
// ---- end of the otp-relay client ----

/** `post` for Actions (Node 18 and later): fetch, with the time left as its timeout. */
async function postWithFetch(url, headers, payload, timeoutMs) {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    if (err && err.name === "TimeoutError") {
      throw Object.assign(new Error("timed out"), { code: "TIMEOUT" });
    }
    throw err;
  }
}

/** What otp-relay needs from the event: never the secrets, the user's profile or metadata. */
function relayBody(event) {
  const m = event.message_options;
  if (!m) throw new Error("otp-relay: the event has no message_options (wrong trigger?)");
  const request = event.request || {};
  return {
    message_options: {
      recipient: m.recipient,
      text: m.text,
      code: m.code,
      message_type: m.message_type,
      action: m.action,
    },
    request: { ip: request.ip, language: request.language },
    tenant: { id: event.tenant && event.tenant.id },
  };
}

exports.onExecuteSendPhoneMessage = async (event, _api) => {
  const result = await relay(event.secrets, relayBody(event), postWithFetch);
  if (!result.ok) throw new Error(result.message);
};
