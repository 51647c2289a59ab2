/**
 * Wiring: turns the environment into a running app. The only module that picks adapters.
 *
 * @module
 */
import type { Hono } from "hono";
import { createApp, createMisconfiguredApp, healthDetails } from "./app.ts";
import { keepAlive, raceAbort } from "./async.ts";
import {
  type Config,
  ConfigError,
  configuredChannels,
  configWarnings,
  loadConfig,
  type LogLevel,
  type ProviderConfig,
} from "./config.ts";
import { createProviderBench } from "./delivery/bench.ts";
import { createMessages, segmentReport } from "./delivery/messages.ts";
import { createLogger, type Logger } from "./log.ts";
import { createConsoleProvider } from "./providers/console.ts";
import { createTwilioProvider } from "./providers/twilio/index.ts";
import { checkLimits, createKeyedHash, type KeyedHash } from "./delivery/limits.ts";
import type { Channel, DeliveryRequest } from "./delivery/types.ts";
import {
  createMemoryCounterStore,
  createMemoryDedupeStore,
  createMemoryOptOutStore,
} from "./store/memory.ts";
import {
  createPostgresCounterStore,
  createPostgresDedupeStore,
  createPostgresOptOutStore,
  createPostgresStatusLog,
  createQueryRunner,
  purgeIfDue,
  readHashKey,
} from "./store/postgres.ts";
import {
  createResilientCounters,
  createResilientOptOuts,
  createResilientStore,
} from "./store/resilient.ts";
import type {
  CounterStore,
  DedupeStore,
  OptOutStore,
  Provider,
  ProviderCheck,
  StatusLog,
  StoreStatus,
} from "./delivery/ports.ts";

/**
 * Connections each instance's PostgreSQL pool opens at most. A function runs as many isolates,
 * each with its own pool, and a database's connections are the scarcer resource (a small
 * Supabase database allows few direct ones, and the pooler caps its clients by compute size):
 * 4 would double one isolate's throughput under load (bench/OPTIMISATIONS.md) and double what a
 * burst of isolates holds, so it stays at 2.
 */
export const POOL_MAX = 2;

/** Options of {@linkcode appFromEnv}. */
export interface BootstrapOptions {
  /** Where log lines go (tests capture them); defaults to the console. */
  write?: (level: LogLevel, line: string) => void;
  /** Where the console provider prints; defaults to `console.log`. */
  print?: (line: string) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The app, and the configuration or the error that built it. */
export type Bootstrapped =
  | {
    readonly app: Hono;
    readonly config: Config;
    readonly log: Logger;
    /**
     * Ends the database pool, if one was opened. A deployed function never calls it (the pool
     * lives as long as the isolate); tests and scripts that build many apps do.
     */
    readonly close: () => Promise<void>;
  }
  | { readonly app: Hono; readonly error: ConfigError; readonly log: Logger };

/**
 * A provider whose module is imported on its first send or check: a function asked only for its
 * health, or whose first provider never fails, does not load the others.
 *
 * `checks` says whether the provider has a credentials check ({@linkcode Provider.check}): the
 * wrapper can't ask the module before loading it, and a provider without one must not seem to
 * have one.
 *
 * @example
 * ```ts
 * const vonage = lazyProvider("vonage", ["sms"], true, async () => {
 *   const { createVonageProvider } = await import("./providers/vonage/index.ts");
 *   return createVonageProvider(config);
 * });
 * await vonage.check?.(AbortSignal.timeout(1500)); // loads the module, then reads the balance
 * ```
 */
export function lazyProvider(
  name: string,
  channels: readonly Channel[],
  checks: boolean,
  load: () => Promise<Provider>,
): Provider {
  let loaded: Promise<Provider> | undefined;
  /** The provider, or a rejection when its module did not load before `signal` aborted. */
  const ready = (signal: AbortSignal): Promise<Provider> => {
    loaded ??= load().catch((err) => {
      loaded = undefined; // let the next send or check try again
      throw err;
    });
    return raceAbort(loaded, signal);
  };
  const lazy: Provider = {
    name,
    channels,
    async send(message, options) {
      let provider: Provider;
      try {
        provider = await ready(options.signal);
      } catch {
        // Nothing was sent: the module did not load in time.
        return {
          ok: false,
          reason: "provider_unavailable",
          sent: "no",
          detail: `${name} not loaded`,
        };
      }
      return await provider.send(message, options);
    },
  };
  if (!checks) return lazy;
  return {
    ...lazy,
    async check(signal): Promise<ProviderCheck> {
      let provider: Provider;
      try {
        provider = await ready(signal);
      } catch {
        return { ok: false, problem: "unreachable" };
      }
      // `checks` said it has one: a provider without is wiring gone wrong, not the provider.
      return provider.check ? await provider.check(signal) : { ok: false, problem: "unexpected" };
    },
  };
}

function providerFor(
  provider: ProviderConfig,
  config: Config,
  log: Logger,
  options: BootstrapOptions,
): Provider {
  const deps = { fetch: options.fetch };
  const channels = configuredChannels(provider);
  switch (provider.kind) {
    case "twilio":
      // Loads its SDK on the first send itself.
      return createTwilioProvider(provider, deps);
    case "vonage":
      return lazyProvider("vonage", channels, true, async () => {
        const { createVonageProvider } = await import("./providers/vonage/index.ts");
        return createVonageProvider(provider, deps);
      });
    case "plivo":
      return lazyProvider("plivo", channels, true, async () => {
        const { createPlivoProvider } = await import("./providers/plivo/index.ts");
        return createPlivoProvider(provider, deps);
      });
    case "telnyx":
      return {
        ...lazyProvider("telnyx", channels, true, async () => {
          const { createTelnyxProvider } = await import("./providers/telnyx/index.ts");
          return createTelnyxProvider(provider, deps);
        }),
        // It refuses an opted-out number at send time (40300), as its adapter says.
        refusesOptedOutAtSend: true,
      };
    case "http":
      return {
        // No check: the gateway contract has no read endpoint (providers/http/index.ts).
        ...lazyProvider("http", channels, false, async () => {
          const { createHttpProvider } = await import("./providers/http/index.ts");
          return createHttpProvider(provider, {
            ...deps,
            ...(options.now ? { now: () => Math.floor(options.now!() / 1000) } : {}),
          });
        }),
        // The gateway contract: a 4xx with reason opted_out at send time.
        refusesOptedOutAtSend: true,
      };
    case "console": {
      if (config.deployed) {
        log.warn("console_provider_deployed", {
          detail: "the console provider on a deployed function: codes are logged, not sent",
        });
      }
      // Muted with the logs: OTP_LOG_LEVEL=warn silences it (benchmarks do).
      const muted = config.logLevel === "warn" || config.logLevel === "error";
      return createConsoleProvider({ print: muted ? () => {} : options.print });
    }
  }
}

/** Shared state: dedupe store, abuse-limit counters, and the hash that keys the counters. */
interface SharedState {
  store: DedupeStore;
  storeStatus: () => Promise<StoreStatus>;
  counters: CounterStore;
  hash: KeyedHash;
  optOuts: OptOutStore;
  statusLog: StatusLog;
  close: () => Promise<void>;
}

function randomKey(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** The memory stores, or PostgreSQL (loaded and connected on first use) with memory fallback. */
function sharedStateFor(config: Config, log: Logger, now: () => number): SharedState {
  const memory = createMemoryDedupeStore({ maxEntries: config.memoryMaxEntries, now });
  const memoryCounters = createMemoryCounterStore({
    maxEntries: config.memoryMaxEntries,
    now,
    log,
  });
  // Without a database the hash key only has to be stable within this instance.
  const localHash = createKeyedHash(config.hashKey ?? randomKey());
  const memoryOptOuts = createMemoryOptOutStore({
    maxEntries: config.memoryMaxEntries,
    hash: localHash,
  });
  if (config.store.kind === "memory") {
    return {
      store: memory,
      storeStatus: () => Promise.resolve({ kind: "memory", state: "ok" }),
      counters: memoryCounters,
      hash: localHash,
      optOuts: memoryOptOuts,
      // Without a delivery log, statuses are only logged.
      statusLog: { recordStatus: () => Promise.resolve(false) },
      close: () => Promise.resolve(),
    };
  }
  const { url, timeoutMs, onFailure } = config.store;
  const runner = createQueryRunner({
    timeoutMs,
    connect: async () => {
      const { default: postgres } = await import("postgres");
      // No prepared statements (Supabase's transaction pooler). Without them postgres.js runs a
      // statement with parameters in two round trips (describe, then execute), one statement per
      // connection at a time, and defers each write to `setImmediate`, a ~1 ms timer on Deno 2.1
      // (denoland/deno#28016): a statement holds its connection ~3 ms, and an instance tops out
      // near 200 deliveries/s with its CPU idle between wake-ups (see POOL_MAX).
      return postgres(url, {
        max: POOL_MAX,
        prepare: false,
        connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
        idle_timeout: 30,
        connection: { application_name: "otp-relay" },
        onnotice: () => {},
      });
    },
  });
  const store = createResilientStore({
    primary: createPostgresDedupeStore({ runner }),
    fallback: memory,
    mode: onFailure,
    log,
  });
  const counters = createResilientCounters({
    primary: createPostgresCounterStore(runner),
    fallback: memoryCounters,
    mode: onFailure,
    log,
  });
  // Every instance must hash alike: use the key the migration generated, read once.
  let sharedHash: Promise<KeyedHash> | undefined;
  const strictHash: KeyedHash = config.hashKey ? localHash : async (value) => {
    sharedHash ??= readHashKey(runner).then(createKeyedHash).catch((err) => {
      sharedHash = undefined; // read again next time
      throw err;
    });
    return await (await sharedHash)(value);
  };
  // Limits and the delivery log count locally while the key can't be read; opt-outs never do
  // (a record under an isolate's own key could never be found again): they use strictHash, and
  // its failure is the store's failure (memory in open mode, a refusal in closed mode).
  const hash: KeyedHash = config.hashKey ? localHash : async (value) => {
    try {
      return await strictHash(value);
    } catch {
      return await localHash(value);
    }
  };
  // Retention without pg_cron, after a delivery settles: each instance asks at most once an hour,
  // and the database lets one run an hour through in all (purge_if_due claims it atomically).
  let lastPurge = 0;
  const settle: DedupeStore["settle"] = async (key, outcome, record) => {
    await store.settle(key, outcome, record);
    if (now() - lastPurge < 3_600_000) return;
    lastPurge = now();
    keepAlive(
      purgeIfDue(runner, config.logRetentionDays).then(
        (removed) => {
          if (removed !== undefined) {
            log.info("retention", { removed, days: config.logRetentionDays });
          }
        },
        (err) => log.warn("retention_failed", { error: err instanceof Error ? err.name : "?" }),
      ),
    );
  };
  return {
    store: { claim: store.claim, settle },
    storeStatus: () => store.status(),
    counters,
    hash,
    optOuts: createResilientOptOuts({
      primary: createPostgresOptOutStore(runner, strictHash),
      fallback: memoryOptOuts,
      mode: onFailure,
      log,
    }),
    statusLog: createPostgresStatusLog(runner),
    close: () => runner.close?.() ?? Promise.resolve(),
  };
}

/** Logs what each language's SMS costs; warns where an owner template needs several segments. */
function reportSegments(config: Config, log: Logger): void {
  const report = segmentReport(createMessages(config.messages), config.messages);
  log.info("sms_segments", {
    code_digits: 10,
    languages: Object.fromEntries(
      report.map((r) => [r.language, `${r.encoding}, ${r.segments} segment(s), ${r.template}`]),
    ),
  });
  if (config.messages.androidAppHash) {
    // Android's SMS Retriever reads only messages of at most 140 bytes: one segment.
    const over = report.filter((r) => r.segments > 1).map((r) => r.language);
    if (over.length > 0) {
      log.warn("sms_retriever_too_long", {
        languages: over.join(","),
        detail: "these messages take more than one segment (140 bytes), so Android's SMS " +
          "Retriever will not read them: shorten OTP_APP_NAME, drop OTP_VALIDITY_MINUTES or use " +
          "shorter templates",
      });
    }
  }
  for (const line of report) {
    if (line.template !== "built-in" && line.segments > 1) {
      log.warn("sms_template_segments", {
        variable: line.template,
        language: line.language,
        encoding: line.encoding,
        segments: line.segments,
        detail: "this template needs more than one SMS segment with a 10-digit code",
      });
    }
  }
}

/**
 * Builds the app from environment variables. Bad settings never crash the function: they give
 * the misconfigured app, which answers every hook with an error and names the variables.
 *
 * @example
 * ```ts
 * Deno.serve(appFromEnv(Deno.env.toObject()).app.fetch);
 * ```
 */
export function appFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: BootstrapOptions = {},
): Bootstrapped {
  const now = options.now ?? Date.now;
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const log = createLogger({ level: "info", write: options.write, now });
    log.error("misconfigured", {
      variables: [...new Set(err.problems.map((p) => p.variable))].join(","),
      detail: err.message,
    });
    // The token may be the one setting that is right: details then stay reachable.
    const token = env.OTP_HEALTH_TOKEN?.trim();
    const healthToken = token && token.length >= 32 && !err.problems.some((p) =>
        p.variable === "OTP_HEALTH_TOKEN"
      )
      ? token
      : undefined;
    return { app: createMisconfiguredApp(err, log, healthToken), error: err, log };
  }
  const log = createLogger({ level: config.logLevel, write: options.write, now });
  for (const warning of configWarnings(env, config)) log.warn("configuration", { detail: warning });
  reportSegments(config, log);
  const providers = config.providers.map((p) => providerFor(p, config, log, options));
  const { store, storeStatus, counters, hash, optOuts, statusLog, close } = sharedStateFor(
    config,
    log,
    now,
  );
  const guard = (request: DeliveryRequest) =>
    checkLimits({ to: request.to, ip: request.ip }, config.limits, { counters, hash, now });
  const app = createApp({
    config,
    providers,
    store,
    storeStatus,
    guard,
    hash,
    optOuts,
    bench: createProviderBench({ ...config.bench, now, log }),
    statusLog,
    log,
    now,
  });
  // What anonymous health no longer shows, in the start-up log.
  log.info("started", { ...healthDetails(config, providers), store: config.store.kind });
  return { app, config, log, close };
}
