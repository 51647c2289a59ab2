/**
 * A real PostgreSQL for the tests. With `DATABASE_URL` set, that database is used. Otherwise a
 * throwaway cluster is created in a temporary folder and served on a free loopback port, run as
 * the `postgres` system user when the tests run as root (PostgreSQL refuses root). Supabase's
 * roles are created, then `supabase/migrations` is applied.
 *
 * A missing PostgreSQL is a failure with instructions, never a skip.
 */
import postgres from "postgres";

const root = new URL("..", import.meta.url);

/** A running test database. */
export interface TestDatabase {
  /** Connection URL for the app (`DATABASE_URL`). */
  readonly url: string;
  /** A new client; the caller ends it. */
  client(): postgres.Sql;
  /** Stops the server (fast shutdown): connections fail until `start`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Freezes every server process (SIGSTOP): connections open, nothing answers. */
  pause(): Promise<void>;
  /** Thaws them (SIGCONT). */
  resume(): Promise<void>;
  /** Whether this harness controls the server (false with an external DATABASE_URL). */
  readonly controllable: boolean;
}

const BIN_DIRS = [
  "/usr/lib/postgresql/17/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/15/bin",
];

async function findBinary(name: string): Promise<string | undefined> {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), ...BIN_DIRS]) {
    if (!dir) continue;
    try {
      const path = `${dir}/${name}`;
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function run(cmd: string, args: string[], user?: { uid: number; gid: number }) {
  const out = await new Deno.Command(cmd, {
    args,
    ...(user ?? {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    const err = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${err}`);
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (Deno.uid() !== 0) return undefined; // already unprivileged: run as ourselves
  const id = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, "postgres"], stdout: "piped" })
      .output();
    if (out.code !== 0) {
      throw new Error("running as root, but there is no 'postgres' system user to run PostgreSQL");
    }
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  return { uid: await id("-u"), gid: await id("-g") };
}

/** Applies Supabase's roles and every migration, in file-name order. */
async function migrate(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const role of ["anon", "authenticated", "service_role"]) {
      await sql.unsafe(
        `do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$`,
      );
    }
    // The worst case for the migration: everything new is granted to the API roles by default
    // (Supabase grants broadly in public). Its revokes must hold against this.
    await sql.unsafe(`alter default privileges grant all on tables to anon, authenticated;
      alter default privileges grant all on functions to anon, authenticated;
      alter default privileges grant usage on schemas to anon, authenticated`);
    await applyMigrations(sql);
  } finally {
    await sql.end();
  }
}

/** Applies `supabase/migrations/*.sql` in order, as `supabase db push` would. */
export async function applyMigrations(sql: postgres.Sql): Promise<string[]> {
  const dir = new URL("supabase/migrations/", root);
  const files = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) files.push(entry.name);
  }
  files.sort();
  for (const file of files) await sql.unsafe(await Deno.readTextFile(new URL(file, dir)));
  return files;
}

async function startCluster(): Promise<TestDatabase> {
  const [initdb, pgCtl] = [await findBinary("initdb"), await findBinary("pg_ctl")];
  if (!initdb || !pgCtl) {
    throw new Error(
      "PostgreSQL (initdb, pg_ctl) was not found. The tests need a real PostgreSQL: install it " +
        "(e.g. apt-get install postgresql) or set DATABASE_URL to a database they may use.",
    );
  }
  const user = await postgresUser();
  const dir = await Deno.makeTempDir({ prefix: "otp-relay-pg-" });
  const data = `${dir}/data`;
  if (user) await Deno.chown(dir, user.uid, user.gid);
  const port = freePort();
  await run(
    initdb,
    ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
    user,
  );
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50";
  const start = () =>
    run(pgCtl, ["-D", data, "-o", options, "-l", `${dir}/log`, "-w", "-t", "30", "start"], user);
  const stop = () => run(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"], user);
  await start();

  // Stop the cluster and remove it when the test process ends.
  globalThis.addEventListener("unload", () => {
    try {
      // A test that failed while the cluster was frozen must not leave it frozen.
      new Deno.Command("sh", { args: ["-c", signalScript(data, "CONT")], stderr: "null" })
        .outputSync();
    } catch { /* the stop below may then wait */ }
    try {
      new Deno.Command(pgCtl, {
        args: ["-D", data, "-m", "immediate", "stop"],
        ...(user ?? {}),
        stdout: "null",
        stderr: "null",
      }).outputSync();
      Deno.removeSync(dir, { recursive: true });
    } catch { /* best effort */ }
  });

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await migrate(url);
  return {
    url,
    controllable: true,
    client: () => postgres(url, { max: 2, onnotice: () => {} }),
    stop,
    start,
    pause: () => signalCluster(data, "STOP"),
    resume: () => signalCluster(data, "CONT"),
  };
}

/**
 * Sends SIGSTOP or SIGCONT to the postmaster (from postmaster.pid) and every process it started.
 * A shell does it: Deno reads /proc only with --allow-all. The postmaster is frozen first, so it
 * forks no backend the listing would miss, and thawed last.
 */
function signalScript(data: string, signal: "STOP" | "CONT"): string {
  const pid = `p=$(head -n 1 '${data}/postmaster.pid')`;
  const children = "$(cat /proc/$p/task/$p/children)";
  return signal === "STOP"
    ? `${pid}; kill -STOP $p && for c in ${children}; do kill -STOP $c; done`
    : `${pid}; for c in ${children}; do kill -CONT $c; done; kill -CONT $p`;
}

async function signalCluster(data: string, signal: "STOP" | "CONT"): Promise<void> {
  const out = await new Deno.Command("sh", {
    args: ["-c", signalScript(data, signal)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    if (signal === "STOP") await signalCluster(data, "CONT"); // never leave it half frozen
    throw new Error(`SIG${signal} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

let database: Promise<TestDatabase> | undefined;

/** The test database, started on first use and shared by every test of the run. */
export function testDatabase(): Promise<TestDatabase> {
  database ??= (async () => {
    const external = Deno.env.get("DATABASE_URL");
    if (!external) return await startCluster();
    await migrate(external);
    return {
      url: external,
      controllable: false,
      client: () => postgres(external, { max: 2, onnotice: () => {} }),
      stop: () => Promise.reject(new Error("an external DATABASE_URL cannot be stopped")),
      start: () => Promise.resolve(),
      pause: () => Promise.reject(new Error("an external DATABASE_URL cannot be paused")),
      resume: () => Promise.resolve(),
    };
  })();
  return database;
}

const closers: Array<() => Promise<void>> = [];

/**
 * Ends an app's database pool when the running {@linkcode dbTest} ends, before Deno's leak
 * checks look: an open pool keeps sockets read and timers armed.
 */
export function closeAtTestEnd(boot: { readonly close?: () => Promise<void> }): void {
  if (boot.close) closers.push(boot.close);
}

/**
 * `Deno.test` for tests that build apps on the database: every app registered with
 * {@linkcode closeAtTestEnd} is closed when the test ends, whether it passed or not.
 */
export function dbTest(definition: Deno.TestDefinition): void;
export function dbTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void;
export function dbTest(
  nameOrDefinition: string | Deno.TestDefinition,
  fn?: (t: Deno.TestContext) => void | Promise<void>,
): void {
  const definition: Deno.TestDefinition = typeof nameOrDefinition === "string"
    ? { name: nameOrDefinition, fn: fn! }
    : nameOrDefinition;
  Deno.test({
    ...definition,
    async fn(t) {
      try {
        await definition.fn(t);
      } finally {
        await Promise.all(closers.splice(0).map((close) => close()));
      }
    },
  });
}
