/**
 * The PostgreSQL dedupe store: one row per delivery in `otp_relay.deliveries`, shared by every
 * instance of the function. A claim is one `insert … on conflict`; the instance whose insert
 * wins delivers, the others wait for its outcome by polling the row.
 *
 * Every query has a short client-side timeout (cancelled on expiry) so a slow database cannot
 * eat the caller's budget. No prepared statements: Supabase's transaction pooler can't keep them.
 *
 * @module
 */
import type postgres from "postgres";
import type { Outcome } from "../delivery/types.ts";
import { isFinal } from "./memory.ts";
import type {
  Claim,
  ClaimOptions,
  CounterStore,
  DedupeStore,
  DeliveryRecord,
  OptOutStore,
  StatusLog,
  StoreStatus,
} from "../delivery/ports.ts";

/** Options of {@linkcode createPostgresDedupeStore}. */
export interface PostgresStoreOptions {
  /** Creates the client on first use (keeps start-up light); called again after a failure. */
  readonly connect: () => Promise<postgres.Sql>;
  /** Upper bound of one query. */
  readonly timeoutMs: number;
  /** How often a duplicate looks at the row of the copy that is delivering. */
  readonly pollMs?: number;
  /** A row still `sending` after this long belongs to an instance that died mid-delivery. */
  readonly staleSendingMs?: number;
  readonly now?: () => number;
}

/** The migration was never applied: the schema or table is missing. */
export class MigrationMissingError extends Error {
  constructor(options?: ErrorOptions) {
    super("The otp_relay schema is missing: apply supabase/migrations", options);
    this.name = "MigrationMissingError";
  }
}

/** A query took longer than its budget and was cancelled. */
export class StoreTimeoutError extends Error {
  constructor() {
    super("The database did not answer in time");
    this.name = "StoreTimeoutError";
  }
}

/** Undefined table, undefined schema: what a database without the migration answers. */
const MISSING = new Set(["42P01", "3F000"]);

function translate(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && MISSING.has(code)
    ? new MigrationMissingError({ cause: err })
    : err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Errors of a connection that died under the query, as the `postgres` package reports them. */
const DROPPED = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "ECONNRESET", "EPIPE"]);
function isDroppedConnection(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" && DROPPED.has(code);
}

/** Per-query options of {@linkcode QueryRunner.query}. */
export interface QueryOptions {
  /** Repeat once on a connection the server dropped; only for statements safe to repeat. */
  readonly retry?: boolean;
  /** Overrides the runner's timeout (background work such as retention). */
  readonly timeoutMs?: number;
}

/** Runs queries with a timeout, on a client created on first use. */
export interface QueryRunner {
  query<T>(
    build: (sql: postgres.Sql) => postgres.PendingQuery<postgres.Row[]>,
    options?: QueryOptions,
  ): Promise<T[]>;
  /**
   * Ends the client, if one was created, once its queries are done. An Edge isolate never needs
   * this (its connections die with it); tests and scripts that build many apps do.
   */
  close?(): Promise<void>;
}

/** The database failed recently: queries fail at once instead of waiting for their timeout. */
export class StoreCircuitOpenError extends Error {
  constructor() {
    super("The database failed recently; not waiting on it");
    this.name = "StoreCircuitOpenError";
  }
}

/**
 * Creates a {@linkcode QueryRunner}: every query gets `timeoutMs` and is cancelled when late;
 * errors of a database without the migration become {@linkcode MigrationMissingError}.
 *
 * A circuit breaker bounds what a failing database costs one request: after a timeout or a
 * connection failure, queries fail at once for `breakMs`, then one is let through to probe.
 * Without it, a database that accepts connections but never answers would cost every query
 * of a request its full timeout, one after another, past the caller's deadline.
 */
export function createQueryRunner(options: {
  connect: () => Promise<postgres.Sql>;
  timeoutMs: number;
  breakMs?: number;
  now?: () => number;
}): QueryRunner {
  const breakMs = options.breakMs ?? 5_000;
  const now = options.now ?? Date.now;
  let openUntil = 0;
  let client: Promise<postgres.Sql> | undefined;
  const sql = (): Promise<postgres.Sql> =>
    client ??= options.connect().catch((err) => {
      client = undefined;
      throw err;
    });
  return {
    async query<T>(
      build: (sql: postgres.Sql) => postgres.PendingQuery<postgres.Row[]>,
      queryOptions: QueryOptions = {},
    ) {
      if (now() < openUntil) throw new StoreCircuitOpenError();
      let timedOut = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new StoreTimeoutError());
        }, queryOptions.timeoutMs ?? options.timeoutMs);
      });
      let pending: postgres.PendingQuery<postgres.Row[]> | undefined;
      const attempt = async () => {
        const s = await sql();
        // Too late: a statement started now could commit after its caller gave up on it.
        if (timedOut) throw new StoreTimeoutError();
        pending = build(s);
        return await pending;
      };
      try {
        const run = attempt().catch((err) => {
          // A connection the server dropped (a restart, an idle timeout) fails once and is
          // replaced: statements safe to repeat try again on a fresh one, in the same budget.
          if (queryOptions.retry !== false && isDroppedConnection(err)) return attempt();
          throw err;
        });
        return await Promise.race([run, late]) as unknown as T[];
      } catch (err) {
        if (err instanceof StoreTimeoutError) pending?.cancel();
        const translated = translate(err);
        if (!(translated instanceof MigrationMissingError) && isUnavailable(translated)) {
          openUntil = now() + breakMs;
        }
        throw translated;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const open = client;
      client = undefined;
      if (!open) return;
      try {
        await (await open).end({ timeout: 1 });
      } catch { /* it never connected: nothing to end */ }
    },
  };
}

/** Timeouts and connection failures (not SQL errors) open the circuit. */
function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreTimeoutError) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" &&
    (DROPPED.has(code) || code === "ECONNREFUSED" || code === "CONNECT_TIMEOUT" ||
      code === "CONNECTION_ENDED" || code === "ENOTFOUND" || code === "ETIMEDOUT");
}

/** A PostgreSQL-backed {@linkcode DedupeStore} with a health check. */
export interface PostgresDedupeStore extends DedupeStore {
  status(): Promise<StoreStatus>;
}

/**
 * Creates the store.
 *
 * @example
 * ```ts
 * const store = createPostgresDedupeStore({
 *   connect: async () => postgres(url, { prepare: false }),
 *   timeoutMs: 800,
 * });
 * ```
 */
export function createPostgresDedupeStore(
  options:
    | PostgresStoreOptions
    | (Omit<PostgresStoreOptions, "connect" | "timeoutMs"> & {
      runner: QueryRunner;
    }),
): PostgresDedupeStore {
  const pollMs = options.pollMs ?? 100;
  const staleMs = options.staleSendingMs ?? 60_000;
  const now = options.now ?? Date.now;
  const { query } = "runner" in options ? options.runner : createQueryRunner(options);

  /** Waits for the outcome of the copy that holds the key, until the caller's deadline. */
  async function outcomeOf(key: string, deadline: number): Promise<Outcome> {
    while (now() < deadline) {
      let rows: { state: string; outcome: Outcome | null; age_ms: number }[];
      try {
        rows = await query((s) =>
          s`select state, outcome,
              (extract(epoch from (now() - updated_at)) * 1000)::float8 as age_ms
            from otp_relay.deliveries where dedupe_key = ${key}`
        );
      } catch {
        break; // the database went away: leave it to the deadline
      }
      const row = rows[0];
      if (row && row.state !== "sending" && row.outcome) return row.outcome;
      if (!row || row.age_ms > staleMs) {
        // The instance that claimed it died mid-delivery: the message may or may not have left.
        return {
          ok: false,
          reason: "internal",
          sent: "unknown",
          attempts: [],
          detail: "the delivering instance did not finish",
        };
      }
      await sleep(Math.min(pollMs, Math.max(0, deadline - now())));
    }
    return new Promise<never>(() => {}); // still in flight at the deadline
  }

  // The token of each claim this instance holds: a settle writes only over its own claim. If the
  // claim expired meanwhile and another instance re-claimed the key, the row is that instance's
  // (found in review: settle matched on the key and 'sending' alone).
  const tokens = new Map<string, string>();
  return {
    async claim(key: string, { ttlMs, deadline, door }: ClaimOptions): Promise<Claim> {
      const token = crypto.randomUUID();
      // One statement that says who holds the key: the upsert wins when the key is new,
      // expired, or settled as a failure that certainly didn't send; otherwise the existing
      // holder's token comes back. Repeating it (after a dropped connection) is harmless: a
      // replayed insert that had won returns this claim's own token.
      const rows = await query<{ claim_token: string | null }>((s) =>
        s`with won as (
            insert into otp_relay.deliveries as d (dedupe_key, door, dedupe_until, claim_token)
            values (${key}, ${door}, now() + ${ttlMs} * interval '1 millisecond', ${token})
            on conflict (dedupe_key) do update set
              state = 'sending', outcome = null, retry_allowed = false, door = excluded.door,
              created_at = now(), updated_at = now(), dedupe_until = excluded.dedupe_until,
              claim_token = excluded.claim_token
            where d.dedupe_until <= now() or (d.state = 'failed' and d.retry_allowed)
            returning claim_token
          )
          select claim_token from won
          union all
          select claim_token from otp_relay.deliveries
          where dedupe_key = ${key} and not exists (select 1 from won)`
      );
      if (rows[0]?.claim_token === token) {
        tokens.set(key, token);
        return { kind: "first" };
      }
      return { kind: "duplicate", outcome: outcomeOf(key, deadline) };
    },
    async settle(key: string, outcome: Outcome, record?: DeliveryRecord): Promise<void> {
      const token = tokens.get(key) ?? null;
      tokens.delete(key);
      const retryAllowed = !isFinal(outcome);
      const last = outcome.attempts.at(-1);
      const toHash = record?.toHash ? await record.toHash() : null;
      await query((s) =>
        s`update otp_relay.deliveries set
            state = ${outcome.ok ? "sent" : "failed"},
            outcome = ${s.json(JSON.parse(JSON.stringify(outcome)))},
            retry_allowed = ${retryAllowed}, updated_at = now(),
            channel = ${outcome.ok ? outcome.channel : last?.channel ?? null},
            provider = ${outcome.ok ? outcome.provider : last?.provider ?? null},
            provider_id = ${outcome.ok && outcome.id ? outcome.id : null},
            reason = ${outcome.ok ? null : outcome.reason},
            to_masked = ${record?.toMasked ?? null}, to_hash = ${toHash},
            country = ${record?.country ?? null}, number_type = ${record?.numberType ?? null},
            ms = ${record?.ms ?? null}
          where dedupe_key = ${key} and state = 'sending'
            and claim_token is not distinct from ${token}::uuid`
      );
    },
    async status(): Promise<StoreStatus> {
      try {
        // The newest migration's table too: a database left at the first one needs a push.
        await query((s) =>
          s`select (select 1 from otp_relay.deliveries limit 1),
              (select 1 from otp_relay.opt_outs limit 1)`
        );
        return { kind: "postgres", state: "ok" };
      } catch (err) {
        return {
          kind: "postgres",
          state: err instanceof MigrationMissingError ? "migration_missing" : "unreachable",
        };
      }
    },
  };
}

/**
 * Abuse-limit counters in `otp_relay.limit_counters`: every hit of a request is one upsert,
 * atomic under concurrency, shared by every instance.
 */
export function createPostgresCounterStore(runner: QueryRunner): CounterStore {
  return {
    async hit(hits) {
      if (hits.length === 0) return [];
      const rows = await runner.query<{ i: number; count: number }>(
        (s) =>
          s`insert into otp_relay.limit_counters as c (scope, key, bucket, count, expires_at)
          select t.scope, t.key, t.bucket, 1, to_timestamp((t.bucket + 1) * t.window_ms / 1000.0)
          from unnest(
            ${s.array(hits.map((h) => h.scope))}::text[],
            ${s.array(hits.map((h) => h.key))}::text[],
            ${s.array(hits.map((h) => String(h.bucket)))}::bigint[],
            ${s.array(hits.map((h) => String(h.windowMs)))}::bigint[]
          ) as t(scope, key, bucket, window_ms)
          on conflict (scope, key, bucket) do update set count = c.count + 1
          returning scope, key, count`,
        // Not safe to repeat: a replayed hit would count twice.
        { retry: false },
      ) as unknown as { scope: string; key: string; count: number }[];
      return hits.map((h) => rows.find((r) => r.scope === h.scope && r.key === h.key)?.count ?? 0);
    },
    async undo(hits) {
      if (hits.length === 0) return;
      await runner.query(
        (s) =>
          s`update otp_relay.limit_counters as c set count = greatest(c.count - 1, 0)
          from unnest(
            ${s.array(hits.map((h) => h.scope))}::text[],
            ${s.array(hits.map((h) => h.key))}::text[],
            ${s.array(hits.map((h) => String(h.bucket)))}::bigint[]
          ) as t(scope, key, bucket)
          where c.scope = t.scope and c.key = t.key and c.bucket = t.bucket`,
        { retry: false },
      );
    },
  };
}

/** The hash key the migration generated (`otp_relay.settings`). */
export async function readHashKey(runner: QueryRunner): Promise<string> {
  const rows = await runner.query<{ value: string }>((s) =>
    s`select value from otp_relay.settings where name = 'hash_key'`
  );
  if (!rows[0]) throw new MigrationMissingError();
  return rows[0].value;
}

/**
 * Deletes deliveries older than `retentionDays` and expired counters, if no instance has done so
 * within the hour: each run is claimed atomically in the database (`otp_relay.purge_if_due`).
 * Returns the rows removed, or `undefined` when it was not due.
 */
export async function purgeIfDue(
  runner: QueryRunner,
  retentionDays: number,
): Promise<number | undefined> {
  // Background work: a longer budget than the hook's queries.
  const rows = await runner.query<{ removed: number | null }>(
    (s) => s`select otp_relay.purge_if_due(${retentionDays}) as removed`,
    { timeoutMs: 10_000, retry: false },
  );
  return rows[0]?.removed ?? undefined;
}

/** Delivery statuses from the provider's callbacks, on the delivery log. */
export function createPostgresStatusLog(runner: QueryRunner): StatusLog {
  return {
    async recordStatus(provider, providerId, status, errorCode) {
      // Callbacks can arrive out of order: a status never replaces one of a higher rank
      // (otp_relay.status_rank: sent < delivered/undelivered/failed < read), and a final status
      // is never replaced by another final one (a replayed 'failed' after 'delivered').
      const rows = await runner.query((s) =>
        s`update otp_relay.deliveries set
            delivery_status = ${status}, delivery_error_code = ${errorCode ?? null},
            delivery_updated_at = now()
          where provider = ${provider} and provider_id = ${providerId}
            and (otp_relay.status_rank(${status})
                > otp_relay.status_rank(coalesce(delivery_status, ''))
              or (otp_relay.status_rank(${status})
                  = otp_relay.status_rank(coalesce(delivery_status, ''))
                and otp_relay.status_rank(coalesce(delivery_status, '')) < 2))
          returning 1`
      );
      return rows.length > 0;
    },
  };
}

/**
 * Opt-outs in `otp_relay.opt_outs`, shared by every instance, under `hash` of the number: the
 * shared key (a hash under an isolate's own key would never be found again), so `hash` must
 * reject rather than fall back when the key can't be read.
 */
export function createPostgresOptOutStore(
  runner: QueryRunner,
  hash: (value: string) => Promise<string>,
): OptOutStore {
  const keyOf = (e164: string) => hash(`number:${e164}`);
  return {
    async find(e164) {
      const numberHash = await keyOf(e164);
      const rows = await runner.query<{ provider: string }>((s) =>
        s`select provider from otp_relay.opt_outs where to_hash = ${numberHash}`
      );
      return rows.map((r) => r.provider);
    },
    async record(e164, provider, source) {
      const numberHash = await keyOf(e164);
      await runner.query((s) =>
        s`insert into otp_relay.opt_outs (to_hash, provider, source)
          values (${numberHash}, ${provider}, ${source})
          on conflict (to_hash, provider) do update set
            source = excluded.source, reported_at = now()`
      );
    },
    async clear(e164, provider) {
      const numberHash = await keyOf(e164);
      await runner.query((s) =>
        provider === undefined
          ? s`delete from otp_relay.opt_outs where to_hash = ${numberHash}`
          : s`delete from otp_relay.opt_outs
              where to_hash = ${numberHash} and provider = ${provider}`
      );
    },
  };
}
