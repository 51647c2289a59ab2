import assert from "node:assert/strict";
import { applyMigrations, testDatabase } from "../_postgres.ts";

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
      ["settings", true],
    ]);
    for (const role of ["anon", "authenticated"]) {
      const [usage] = await sql`select has_schema_privilege(${role}, 'otp_relay', 'USAGE') as ok`;
      assert.equal(usage!.ok, false, `${role} has no usage on the schema`);
      for (
        const table of ["otp_relay.deliveries", "otp_relay.limit_counters", "otp_relay.settings"]
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
