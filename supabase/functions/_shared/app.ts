/**
 * The Hono app: the front doors mounted under `/send-sms`, the function's name, which is the
 * base path Supabase's edge runtime delivers requests on.
 *
 * @module
 */
import { Hono } from "hono";
import type { Config, ConfigError, ProviderConfig } from "./config.ts";
import { createProviderStatusDoor } from "./doors/provider-status.ts";
import type { DeliveryDeps } from "./delivery/deliver.ts";
import { createMessages } from "./delivery/messages.ts";
import { auth0Failure, createAuth0Door } from "./doors/auth0.ts";
import { createOktaDoor } from "./doors/okta.ts";
import type { KeyedHash, Refusal } from "./delivery/limits.ts";
import { CHANNELS, type DeliveryRequest } from "./delivery/types.ts";
import { createSupabaseDoor, supabaseFailure } from "./doors/supabase.ts";
import type { Logger } from "./log.ts";
import { createTwilioStatusDoor, loadTwilioWebhooks } from "./doors/twilio-status.ts";
import type { ProviderBench } from "./delivery/bench.ts";
import type {
  DedupeStore,
  InboundReport,
  OptOutStore,
  Provider,
  ProviderCheck,
  ReportVerdict,
  StatusLog,
  StoreStatus,
} from "./delivery/ports.ts";
import { VERSION } from "./version.ts";
import { constantTimeEqual } from "./constant-time.ts";
import { createWebhookVerifier } from "./webhook.ts";

/** The base path of every route. */
export const BASE_PATH = "/send-sms";

/** Upper bound of one provider's credentials check in deep health. */
export const DEEP_CHECK_MS = 3000;
/** How long health reuses its store check. */
export const HEALTH_CACHE_MS = 5000;
/** A degraded store is logged by health at most this often. */
export const DEGRADED_LOG_INTERVAL_MS = 60_000;

/**
 * True when `authorization` is `Bearer <token>` (compared in constant time). Never a query
 * parameter: URLs end up in access logs.
 */
export function hasHealthToken(token: string | undefined, authorization: string | undefined) {
  if (!token) return false;
  const given = /^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? "";
  const enc = new TextEncoder();
  return constantTimeEqual(enc.encode(given), enc.encode(token));
}

/**
 * What health tells its token holder, and the start-up log everyone: the doors, the providers,
 * the channel order against the channels that have settings. Never a value of a setting.
 */
export function healthDetails(config: Config, providers: readonly Provider[]) {
  const available = CHANNELS.filter((c) => providers.some((p) => p.channels.includes(c)));
  return {
    version: VERSION,
    provider: config.routing.order[0],
    providers: config.routing.order,
    doors: [
      ...(config.supabaseHookSecrets ? ["supabase"] : []),
      ...(config.okta ? ["okta"] : []),
      ...(config.auth0 ? ["auth0"] : []),
    ],
    channels: Object.fromEntries(CHANNELS.map((c) => [c, available.includes(c)])),
    // The order asked for (OTP_CHANNELS) against what has settings: a channel in the order
    // without settings is skipped.
    channelOrder: { configured: config.policy.defaultOrder, available },
  };
}

/** What the app is built from; everything that varies is injected. */
export interface AppDeps {
  readonly config: Config;
  /** Every provider the routing names, each once. */
  readonly providers: readonly Provider[];
  readonly store: DedupeStore;
  /** What health says about the store. */
  readonly storeStatus: () => Promise<StoreStatus>;
  /** Abuse limits and refusals (see delivery/limits.ts). */
  readonly guard?: (request: DeliveryRequest) => Promise<Refusal | undefined>;
  /** The keyed hash of numbers, for the delivery log and opt-outs. */
  readonly hash?: KeyedHash;
  /** Opt-outs reported by providers. */
  readonly optOuts?: OptOutStore;
  /** Provider health of this isolate. */
  readonly bench?: ProviderBench;
  /** Where Twilio's status callbacks are recorded. */
  readonly statusLog?: StatusLog;
  readonly log: Logger;
  readonly now: () => number;
}

function base(log: Logger): Hono {
  const app = new Hono({ strict: false }).basePath(BASE_PATH);
  app.notFound((c) => c.json({ message: "Not found" }, 404));
  app.onError((err, c) => {
    log.error("unhandled_error", { error: err.name });
    return c.json({ message: "Internal error" }, 500);
  });
  return app;
}

/**
 * Builds the app from its dependencies.
 *
 * @example
 * ```ts
 * const app = createApp({ config, providers, store, storeStatus, log, now: Date.now });
 * Deno.serve(app.fetch);
 * ```
 */
export function createApp(deps: AppDeps): Hono {
  const { config } = deps;
  const app = base(deps.log);

  // The store check is cached briefly and its error logged at most once a minute: health is
  // open, and each call used to cost a query and an error line (found in review).
  let storeCheck: { at: number; status: Promise<StoreStatus> } | undefined;
  let lastDegradedLog = -Infinity;
  const storeStatus = (): Promise<StoreStatus> => {
    const at = deps.now();
    if (!storeCheck || at - storeCheck.at >= HEALTH_CACHE_MS) {
      storeCheck = { at, status: deps.storeStatus() };
    }
    return storeCheck.status;
  };

  app.get("/health", async (c) => {
    const deep = c.req.query("deep");
    if (deep === "1" || deep === "true") return await deepHealth(c.req.header("authorization"));
    const store = await storeStatus();
    if (store.state !== "ok" && deps.now() - lastDegradedLog >= DEGRADED_LOG_INTERVAL_MS) {
      lastDegradedLog = deps.now();
      // Loud: deliveries run on memory (or fail, in closed mode) until this is fixed.
      deps.log.error("store_degraded", { store: store.kind, state: store.state });
    }
    // 503 when the shared store is not ok, so monitors notice (deliveries may go on in memory).
    const status = store.state === "ok" ? "ok" : "degraded";
    const code = store.state === "ok" ? 200 : 503;
    // Anonymous callers learn the state only; details need the health token.
    if (!hasHealthToken(config.healthToken, c.req.header("authorization"))) {
      return c.json({ status }, code);
    }
    return c.json({ status, ...healthDetails(config, deps.providers), store }, code);
  });

  /**
   * `?deep=1`: each provider's credentials checked with a cheap authenticated read, and its bench
   * state in this isolate. Only with `Authorization: Bearer <OTP_HEALTH_TOKEN>`, since each call
   * costs the provider reads.
   */
  async function deepHealth(authorization: string | undefined): Promise<Response> {
    const token = config.healthToken;
    if (!hasHealthToken(token, authorization)) {
      deps.log.warn("health_forbidden", { deep: true, configured: Boolean(token) });
      return Response.json({
        message: token ? "Unauthorized" : "Deep health is off: set OTP_HEALTH_TOKEN",
      }, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="otp-relay"' },
      });
    }
    const [store, ...checks] = await Promise.all([
      deps.storeStatus(),
      ...deps.providers.map(async (provider) => {
        const check: ProviderCheck | undefined = provider.check
          ? await provider.check(AbortSignal.timeout(DEEP_CHECK_MS)).catch((): ProviderCheck => ({
            ok: false,
            problem: "unexpected",
          }))
          : undefined;
        return {
          name: provider.name,
          channels: provider.channels,
          credentials: check === undefined ? "not_checked" : check.ok ? "ok" : check.problem,
          ...(check && !check.ok && check.status !== undefined ? { status: check.status } : {}),
          bench: deps.bench?.state(provider.name) ?? { benched: false, failures: 0 },
        };
      }),
    ]);
    const healthy = store.state === "ok" &&
      checks.every((c) => c.credentials === "ok" || c.credentials === "not_checked");
    for (const c of checks) {
      if (c.credentials !== "ok" && c.credentials !== "not_checked") {
        deps.log.error("provider_check_failed", { provider: c.name, problem: c.credentials });
      }
    }
    return Response.json({
      status: healthy ? "ok" : "degraded",
      version: VERSION,
      store,
      providers: checks,
    }, { status: healthy ? 200 : 503 });
  }

  // Every door delivers through the same router, store, limits and messages.
  const delivery: DeliveryDeps = {
    providers: deps.providers,
    routing: config.routing,
    policy: config.policy,
    store: deps.store,
    ...(deps.guard ? { guard: deps.guard } : {}),
    ...(deps.hash ? { hash: deps.hash } : {}),
    ...(deps.optOuts ? { optOuts: deps.optOuts } : {}),
    ...(deps.bench ? { bench: deps.bench } : {}),
    log: deps.log,
    now: deps.now,
    attemptTimeoutMs: config.attemptTimeoutMs,
    dedupeTtlMs: config.dedupeTtlMs,
    messages: createMessages(config.messages),
  };
  // Each door opens only with its secret.
  if (config.supabaseHookSecrets) {
    app.route(
      "/",
      createSupabaseDoor({
        ...delivery,
        verifier: createWebhookVerifier({ secrets: config.supabaseHookSecrets, now: deps.now }),
        deadlineMs: config.deadlineMs,
      }),
    );
  }
  if (config.auth0) {
    app.route(
      "/",
      createAuth0Door({ ...delivery, auth0: config.auth0, useCallerText: config.useCallerText }),
    );
  }
  if (config.okta) {
    app.route(
      "/",
      createOktaDoor({ ...delivery, okta: config.okta, useCallerText: config.useCallerText }),
    );
  }
  // Twilio reports what became of each message when OTP_PUBLIC_URL gave it a StatusCallback.
  const twilio = config.providers.find((p) => p.kind === "twilio");
  if (twilio?.statusCallbackUrl) {
    app.route(
      "/",
      createTwilioStatusDoor({
        authToken: twilio.authToken,
        callbackUrl: twilio.statusCallbackUrl,
        statusLog: deps.statusLog ?? { recordStatus: () => Promise.resolve(false) },
        ...(deps.optOuts ? { optOuts: deps.optOuts } : {}),
        log: deps.log,
        loadSdk: loadTwilioWebhooks,
      }),
    );
  }
  // The fetch providers report through their own routes, each checked with its own signature.
  for (const provider of config.providers) {
    const door = reportDoor(provider);
    if (!door) continue;
    app.route(
      "/",
      createProviderStatusDoor({
        provider: provider.kind,
        callbackUrl: door.callbackUrl,
        read: door.read,
        statusLog: deps.statusLog ?? { recordStatus: () => Promise.resolve(false) },
        ...(deps.optOuts ? { optOuts: deps.optOuts } : {}),
        log: deps.log,
      }),
    );
  }
  return app;
}

/** A reader loaded on the first report: a function that never gets one never loads it. */
function lazyReader(
  load: () => Promise<(input: InboundReport) => Promise<ReportVerdict>>,
): (input: InboundReport) => Promise<ReportVerdict> {
  let reader: Promise<(input: InboundReport) => Promise<ReportVerdict>> | undefined;
  return async (input) => {
    reader ??= load().catch((err) => {
      reader = undefined;
      throw err;
    });
    return await (await reader)(input);
  };
}

/** The report route of a provider whose reports were requested (`OTP_PUBLIC_URL` and its key). */
function reportDoor(
  provider: ProviderConfig,
): { callbackUrl: string; read: (input: InboundReport) => Promise<ReportVerdict> } | undefined {
  switch (provider.kind) {
    case "vonage": {
      const { statusCallbackUrl, signature } = provider;
      if (!statusCallbackUrl || !signature) return undefined;
      return {
        callbackUrl: statusCallbackUrl,
        read: lazyReader(async () =>
          (await import("./providers/vonage/report.ts")).createVonageReportReader(signature)
        ),
      };
    }
    case "plivo": {
      const { statusCallbackUrl, authToken } = provider;
      if (!statusCallbackUrl) return undefined;
      return {
        callbackUrl: statusCallbackUrl,
        read: lazyReader(async () =>
          (await import("./providers/plivo/report.ts")).createPlivoReportReader({ authToken })
        ),
      };
    }
    case "telnyx": {
      const { statusCallbackUrl, publicKey } = provider;
      if (!statusCallbackUrl || !publicKey) return undefined;
      return {
        callbackUrl: statusCallbackUrl,
        read: lazyReader(async () =>
          (await import("./providers/telnyx/report.ts")).createTelnyxReportReader({ publicKey })
        ),
      };
    }
    default:
      return undefined;
  }
}

/**
 * The app of a function whose settings are wrong: it sends nothing, tells Auth that sending
 * failed (so users see an error instead of waiting for a code that never comes), and names the
 * variables to fix on its health route and in its logs. Values are never shown.
 */
export function createMisconfiguredApp(
  error: ConfigError,
  log: Logger,
  healthToken?: string,
): Hono {
  const app = base(log);
  const variables = [...new Set(error.problems.map((p) => p.variable))];
  // The names of the variables to fix (never their values) need the health token; they are
  // in the start-up log too.
  app.get(
    "/health",
    (c) =>
      hasHealthToken(healthToken, c.req.header("authorization"))
        ? c.json({ status: "misconfigured", version: VERSION, variables }, 503)
        : c.json({ status: "misconfigured" }, 503),
  );
  const misconfigured = () =>
    log.error("misconfigured", { variables: variables.join(","), detail: error.message });
  app.post("/", (c) => {
    misconfigured();
    return supabaseFailure(c, "provider_config");
  });
  // Okta sends through its own telephony when a hook answers other than 200: the user still
  // gets a code while the settings are fixed.
  app.post("/okta", (c) => {
    misconfigured();
    return c.json({ message: "otp-relay is misconfigured" }, 503);
  });
  // The Auth0 relay logs the reason in the tenant logs.
  app.post("/auth0", (c) => {
    misconfigured();
    return auth0Failure(c, "provider_config");
  });
  return app;
}
