/**
 * The Plivo provider, on Plivo's Message API (`POST {base}/v1/Account/{auth_id}/Message/`, Basic
 * auth, JSON). SMS only. Success is 202 with `message_uuid: [id]`.
 *
 * Plivo's errors are free text that can quote the number: they are read to classify (credit,
 * geo permissions) and never logged.
 *
 * @module
 */
import {
  basicAuth,
  callProvider,
  checkProvider,
  isFailure,
  member,
  notServed,
  type SendFailure,
  statusFailure,
} from "../_http.ts";
import type { Provider, ProviderCheck, SendResult } from "../../delivery/ports.ts";
import type { PlivoConfig } from "./config.ts";

/** Options of {@linkcode createPlivoProvider}. */
export interface PlivoProviderDeps {
  readonly fetch?: typeof fetch;
}

/**
 * Maps a Plivo error answer to a failure. A 400 is Plivo's answer to any bad parameter, ours
 * included, so it never ends a delivery: the next provider tries.
 */
export function classifyPlivoError(status: number, error: unknown): SendFailure {
  const text = typeof error === "string" ? error : "";
  const detail = `plivo status ${status}`;
  // Plivo's own error body: it refused the message, so it did not send it.
  const sent = text !== "" ? "no" : status >= 500 ? "unknown" : "no";
  if (/insufficient credit|suspended|disabled/i.test(text)) {
    return { ok: false, reason: "provider_config", sent: "no", detail: `${detail} account` };
  }
  // The SDK reads a 403 on a send as the destination country missing from Geo Permissions.
  if (status === 403 || /geo.?permission/i.test(text)) {
    return { ok: false, reason: "geo_blocked", sent: "no", detail };
  }
  // A 404 on the account's own Message resource: the auth ID is wrong.
  if (status === 404) return { ok: false, reason: "provider_config", sent: "no", detail };
  return statusFailure("plivo", status, sent);
}

/**
 * Creates the Plivo provider.
 *
 * @example
 * ```ts
 * const plivo = createPlivoProvider(config);
 * await plivo.send({ channel: "sms", to, body }, { signal: AbortSignal.timeout(1500) });
 * ```
 */
export function createPlivoProvider(config: PlivoConfig, deps: PlivoProviderDeps = {}): Provider {
  const authorization = basicAuth(config.authId, config.authToken);
  return {
    name: "plivo",
    channels: ["sms"],
    async send(message, { signal }): Promise<SendResult> {
      if (message.channel !== "sms") return notServed("plivo", message.channel);
      const body = {
        ...("src" in config.sender
          ? { src: config.sender.src }
          : { powerpack_uuid: config.sender.powerpackUuid }),
        dst: message.to.e164.replace(/^\+/, ""),
        text: message.body,
        type: "sms",
        ...(config.expirySeconds === undefined ? {} : { message_expiry: config.expirySeconds }),
        ...(config.dltEntityId ? { dlt_entity_id: config.dltEntityId } : {}),
        ...(config.dltTemplateId ? { dlt_template_id: config.dltTemplateId } : {}),
        // The status callback (report.ts): form-encoded POSTs signed with the auth token.
        ...(config.statusCallbackUrl ? { url: config.statusCallbackUrl, method: "POST" } : {}),
      };
      const answer = await callProvider({
        provider: "plivo",
        url: `${config.apiBaseUrl}/v1/Account/${encodeURIComponent(config.authId)}/Message/`,
        init: {
          headers: {
            authorization,
            "content-type": "application/json",
            accept: "application/json",
          },
          body: JSON.stringify(body),
        },
        signal,
        fetch: deps.fetch,
      });
      if (isFailure(answer)) return answer;
      if (answer.status >= 200 && answer.status < 300) {
        const id = (member(answer.body, "message_uuid") as unknown[] | undefined)?.[0];
        if (typeof id === "string" && id !== "") return { ok: true, id };
        return { ok: false, reason: "internal", sent: "unknown", detail: "plivo unreadable 2xx" };
      }
      return classifyPlivoError(answer.status, member(answer.body, "error"));
    },
    /** Reads the account (`GET {base}/v1/Account/{auth_id}/`): 200 on good credentials, 401 not. */
    check(signal): Promise<ProviderCheck> {
      return checkProvider({
        url: `${config.apiBaseUrl}/v1/Account/${encodeURIComponent(config.authId)}/`,
        headers: { authorization, accept: "application/json" },
        signal,
        fetch: deps.fetch,
      });
    },
  };
}
