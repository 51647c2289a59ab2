/**
 * Shared test fixtures: Auth-shaped payloads, signed requests, an app with injected parts, and a
 * provider that records what it was asked to send.
 */
import type { Hono } from "hono";
import { createApp } from "../supabase/functions/_shared/app.ts";
import {
  type Config,
  loadConfig,
  type LogLevel,
  type ProviderName,
} from "../supabase/functions/_shared/config.ts";
import { createLogger } from "../supabase/functions/_shared/log.ts";
import type {
  OutboundMessage,
  Provider,
  SendResult,
} from "../supabase/functions/_shared/delivery/ports.ts";
import { createMemoryDedupeStore } from "../supabase/functions/_shared/store/memory.ts";
import type { DedupeStore } from "../supabase/functions/_shared/delivery/ports.ts";
import { signWebhook } from "../supabase/functions/_shared/webhook-sign.ts";

/** The Standard Webhooks reference secret. */
export const TEST_SECRET = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/** A second secret, for rotation. */
export const OTHER_SECRET = "v1,whsec_" + btoa("another secret for rotation tests");

/** A fixed clock: 2026-01-01T00:00:00Z. */
export const NOW_MS = Date.UTC(2026, 0, 1);

/** `OTP_HEALTH_TOKEN` in tests: health shows its details only with it. */
export const HEALTH_TOKEN = "health-token-for-the-tests-0123456789";
/** The header that opens health's details. */
export const HEALTH_AUTH = { authorization: `Bearer ${HEALTH_TOKEN}` };

/** Options of {@linkcode supabasePayload}. */
export interface PayloadOptions {
  uuid?: string | null;
  phone?: string;
  smsPhone?: string | null;
  otp?: string;
  userMetadata?: Record<string, unknown>;
}

/** A payload as current Auth versions send it (numbers without `+`). */
export function supabasePayload(options: PayloadOptions = {}): Record<string, unknown> {
  const phone = options.phone ?? "447700900123";
  const metadata: Record<string, unknown> = {
    time: "2026-01-01T00:00:00Z",
    name: "send-sms",
    ip_address: "203.0.113.7",
  };
  if (options.uuid !== null) metadata.uuid = options.uuid ?? crypto.randomUUID();
  const sms: Record<string, unknown> = { otp: options.otp ?? "123456" };
  if (options.smsPhone !== null) sms.phone = options.smsPhone ?? phone;
  return {
    metadata,
    user: {
      id: "6481a5c1-3d37-4a56-9f6a-bee08c554965",
      aud: "authenticated",
      role: "authenticated",
      phone,
      app_metadata: { provider: "phone", providers: ["phone"] },
      user_metadata: options.userMetadata ?? {},
      identities: [],
      is_anonymous: false,
    },
    sms,
  };
}

/** Options of {@linkcode signedInit}. */
export interface SignOptions {
  secrets?: readonly string[];
  /** Unix seconds; defaults to the fixed clock. */
  timestamp?: number;
  id?: string;
}

/** A POST signed exactly as Auth signs it (several secrets → `", "`-joined signatures). */
export function signedInit(body: string | Record<string, unknown>, options: SignOptions = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers = signWebhook({
    secrets: options.secrets ?? [TEST_SECRET],
    id: options.id ?? `msg_${crypto.randomUUID()}`,
    timestamp: options.timestamp ?? Math.floor(NOW_MS / 1000),
    body: text,
  });
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: text,
  } satisfies RequestInit;
}

/** A provider that records each message and answers with `answer` (default: accepted). */
export interface RecordingProvider extends Provider {
  readonly sent: OutboundMessage[];
}

/** Creates a {@linkcode RecordingProvider}. */
export function recordingProvider(
  answer?: (message: OutboundMessage, signal: AbortSignal) => Promise<SendResult> | SendResult,
): RecordingProvider {
  const sent: OutboundMessage[] = [];
  return {
    name: "recording",
    channels: ["sms"],
    sent,
    async send(message, { signal }) {
      sent.push(message);
      return answer ? await answer(message, signal) : { ok: true, id: `SM${sent.length}` };
    },
  };
}

/** Captured log lines, parsed. */
export interface LogCapture {
  readonly lines: string[];
  write(level: LogLevel, line: string): void;
}

/** Creates a {@linkcode LogCapture}. */
export function captureLogs(): LogCapture {
  const lines: string[] = [];
  return { lines, write: (_level, line) => lines.push(line) };
}

/** Options of {@linkcode testApp}. */
export interface TestAppOptions {
  provider?: Provider;
  env?: Record<string, string>;
  now?: () => number;
  store?: DedupeStore;
}

/** The app with injected parts, plus what a test inspects. */
export interface TestApp {
  app: Hono;
  config: Config;
  logs: LogCapture;
  provider: Provider;
  /** What the provider was asked to send, when it records (the default provider does). */
  sent: readonly OutboundMessage[];
}

/** Builds the real app around a recording provider, a fixed clock and captured logs. */
export function testApp(options: TestAppOptions = {}): TestApp {
  const config = loadConfig({
    SEND_SMS_HOOK_SECRETS: TEST_SECRET,
    OTP_PROVIDER: "console",
    OTP_LOG_LEVEL: "debug",
    OTP_HEALTH_TOKEN: HEALTH_TOKEN,
    ...options.env,
  });
  const logs = captureLogs();
  const now = options.now ?? (() => NOW_MS);
  const provider = options.provider ?? recordingProvider();
  const app = createApp({
    // The injected provider is the whole order, whatever its name.
    config: { ...config, routing: { order: [provider.name as ProviderName], rules: [] } },
    providers: [provider],
    store: options.store ?? createMemoryDedupeStore({ maxEntries: 1000, now }),
    storeStatus: () => Promise.resolve({ kind: "memory", state: "ok" }),
    log: createLogger({ level: "debug", write: logs.write, now }),
    now,
  });
  const sent = "sent" in provider ? (provider as RecordingProvider).sent : [];
  return { app, config, logs, provider, sent };
}

/** Posts a signed payload to the Supabase door. */
export function postHook(
  app: Hono,
  body: string | Record<string, unknown>,
  options: SignOptions = {},
): Promise<Response> {
  return Promise.resolve(app.request("/send-sms", signedInit(body, options)));
}

/** A UK mobile number in a random 1,000-number block (tests sharing a database don't collide). */
export function randomMobile(): string {
  return `4474${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
}
