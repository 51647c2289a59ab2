// The embedded PostgreSQL that tests/_postgres.ts falls back to when the system has none: the npm
// package's real server, started explicitly here whatever the system has.
import assert from "node:assert/strict";
import { postgresBinaries, startPostgres } from "../_postgres.ts";

Deno.test("embedded PostgreSQL: the npm package's server runs, PostgreSQL 18, its library symlinks rebuilt", async () => {
  const binaries = await postgresBinaries({ embedded: true });
  assert.equal(binaries.source, "embedded");
  assert.equal(binaries.initdb, `${binaries.home}/bin/initdb`);

  // Every symlink of native/pg-symlinks.json was made, relative, and resolves to a file in lib/.
  const links: Array<{ target: string }> = JSON.parse(
    await Deno.readTextFile(`${binaries.home}/pg-symlinks.json`),
  );
  assert.ok(links.some((l) => l.target === "native/lib/libpq.so.5"));
  for (const { target } of links) {
    const path = `${binaries.home}/${target.slice("native/".length)}`;
    assert.ok((await Deno.lstat(path)).isSymlink, `${path} is a symlink`);
    assert.ok(!(await Deno.readLink(path)).startsWith("/"), `${path} is relative`);
    assert.ok((await Deno.stat(path)).isFile, `${path} resolves`);
    assert.ok((await Deno.realPath(path)).startsWith(`${binaries.home}/lib/`));
  }
  if (Deno.uid() === 0) {
    // Root copies the programs out of the Deno cache, to a folder the postgres user owns.
    assert.ok(!binaries.home.includes("/npm/registry.npmjs.org/"), binaries.home);
    assert.notEqual((await Deno.stat(binaries.home)).uid, 0);
  }
  assert.equal(await postgresBinaries({ embedded: true }), binaries, "prepared once per process");

  const cluster = await startPostgres(binaries);
  const sql = cluster.client();
  try {
    const [row] =
      await sql`select version() as version, current_setting('server_version_num')::int as num`;
    assert.match(row!.version, /^PostgreSQL 18\.\d+/);
    assert.ok(row!.num >= 180000 && row!.num < 190000, String(row!.num));
  } finally {
    await sql.end();
    cluster.close();
  }
  // Closed: stopped and removed.
  const again = cluster.client();
  try {
    await assert.rejects(again`select 1`);
  } finally {
    await again.end();
  }
});

Deno.test("embedded PostgreSQL: an OTP_TEST_POSTGRES it doesn't know is an error, not a guess", async () => {
  const before = Deno.env.get("OTP_TEST_POSTGRES");
  Deno.env.set("OTP_TEST_POSTGRES", "embeded");
  try {
    await assert.rejects(postgresBinaries(), /OTP_TEST_POSTGRES=embeded is not understood/);
  } finally {
    if (before === undefined) Deno.env.delete("OTP_TEST_POSTGRES");
    else Deno.env.set("OTP_TEST_POSTGRES", before);
  }
});
