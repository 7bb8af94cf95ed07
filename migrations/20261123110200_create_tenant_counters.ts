import type { Knex } from 'knex';

/**
 * Exact per-tenant row counts of users and groups, kept by statement-level triggers, so an
 * unfiltered list's total is a sum over 16 striped counter rows instead of a count(*) over every
 * row of the tenant. Striping spreads concurrent inserts over rows, so writers rarely wait.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant_counters', (t) => {
    t.uuid('tenant_id').notNullable();
    t.text('kind').notNullable();
    t.smallint('slot').notNullable();
    t.bigInteger('n').notNullable().defaultTo(0);
    t.primary(['tenant_id', 'kind', 'slot'], { constraintName: 'tenant_counters_pkey' });
    t.foreign('tenant_id', 'tenant_counters_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  await knex.raw(`
    CREATE FUNCTION roster_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO tenant_counters (tenant_id, kind, slot, n)
          SELECT r.tenant_id, TG_ARGV[0], (random() * 15)::int, count(*) FROM new_rows r GROUP BY r.tenant_id
          ON CONFLICT (tenant_id, kind, slot) DO UPDATE SET n = tenant_counters.n + EXCLUDED.n;
      ELSE
        INSERT INTO tenant_counters (tenant_id, kind, slot, n)
          SELECT r.tenant_id, TG_ARGV[0], (random() * 15)::int, -count(*) FROM old_rows r
           WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id)
           GROUP BY r.tenant_id
          ON CONFLICT (tenant_id, kind, slot) DO UPDATE SET n = tenant_counters.n + EXCLUDED.n;
      END IF;
      RETURN NULL;
    END $$`);
  for (const [table, kind] of [['users', 'users'], ['groups', 'groups']]) {
    await knex.raw(`CREATE TRIGGER ${table}_count_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_count_rows('${kind}')`);
    await knex.raw(`CREATE TRIGGER ${table}_count_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION roster_count_rows('${kind}')`);
  }
  // Existing rows (databases migrated before this change).
  await knex.raw(`INSERT INTO tenant_counters (tenant_id, kind, slot, n) SELECT tenant_id, 'users', 0, count(*) FROM users GROUP BY tenant_id`);
  await knex.raw(`INSERT INTO tenant_counters (tenant_id, kind, slot, n) SELECT tenant_id, 'groups', 0, count(*) FROM groups GROUP BY tenant_id`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['users', 'groups']) {
    await knex.raw(`DROP TRIGGER ${table}_count_insert ON ${table}`);
    await knex.raw(`DROP TRIGGER ${table}_count_delete ON ${table}`);
  }
  await knex.raw('DROP FUNCTION roster_count_rows()');
  await knex.schema.dropTable('tenant_counters');
}
