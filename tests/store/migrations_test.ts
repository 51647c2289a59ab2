import assert from "node:assert/strict";
import { applyMigrations, cliDbUrl, supabaseCli, testDatabase } from "../_postgres.ts";

Deno.test("migrations: apply on an empty database and again without effect", async () => {
  const db = await testDatabase();
  const sql = db.client();
  try {
    const before = await sql`select value from otp_relay.settings where name = 'hash_key'`;
    assert.equal(before.length, 1);
    assert.match(before[0]!.value, /^[0-9a-f]{64}$/);
    const files = await applyMigrations(sql); // a second time
    assert.ok(files.length >= 1);
    const after = await sql`select value from otp_relay.settings where name = 'hash_key'`;
    assert.deepEqual(after, before, "re-applying keeps the generated hash key");
  } finally {
    await sql.end();
  }
});

Deno.test("supabase db push (the real CLI) applied every migration; a second push finds nothing to do", async () => {
  const db = await testDatabase();
  const sql = db.client();
  try {
    // The CLI records what it applied: every file of supabase/migrations, by version.
    const files: string[] = [];
    for await (const e of Deno.readDir(new URL("../../supabase/migrations/", import.meta.url))) {
      if (e.name.endsWith(".sql")) files.push(e.name.split("_")[0]!);
    }
    const rows = await sql`select version from supabase_migrations.schema_migrations order by 1`;
    assert.deepEqual(rows.map((r) => r.version), files.sort());
    const again = await supabaseCli(["db", "push", "--db-url", cliDbUrl(db.url), "--yes"]);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /Remote database is up to date/);
    assert.doesNotMatch(again.output, /Disabling phone login/);
    const after = await sql`select count(*)::int as n from supabase_migrations.schema_migrations`;
    assert.equal(after[0]!.n, files.length);
  } finally {
    await sql.end();
  }
});

Deno.test("migrations: RLS on, nothing granted to anon or authenticated", async () => {
  const db = await testDatabase();
  const sql = db.client();
  try {
    const tables = await sql`
      select c.relname, c.relrowsecurity from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'otp_relay' and c.relkind = 'r' order by 1`;
    assert.deepEqual(tables.map((t) => [t.relname, t.relrowsecurity]), [
      ["deliveries", true],
      ["limit_counters", true],
      ["maintenance", true],
      ["opt_outs", true],
      ["settings", true],
    ]);
    for (const role of ["anon", "authenticated"]) {
      const [usage] = await sql`select has_schema_privilege(${role}, 'otp_relay', 'USAGE') as ok`;
      assert.equal(usage!.ok, false, `${role} has no usage on the schema`);
      for (
        const table of [
          "otp_relay.deliveries",
          "otp_relay.limit_counters",
          "otp_relay.maintenance",
          "otp_relay.opt_outs",
          "otp_relay.settings",
          "otp_relay.delivery_stats_24h",
          "otp_relay.provider_attempts_24h",
        ]
      ) {
        const [priv] = await sql`
          select has_table_privilege(${role}, ${table}, 'SELECT, INSERT, UPDATE, DELETE') as ok`;
        assert.equal(priv!.ok, false, `${role} on ${table}`);
      }
    }
  } finally {
    await sql.end();
  }
});
