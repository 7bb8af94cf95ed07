import type { Knex } from 'knex';

/**
 * Commit order for the change feed. A bigserial id is drawn when a row is inserted, not when its
 * transaction commits, so a reader following `id > cursor` skips a slow writer's events. Here
 * every audit event records its transaction (`txid`), and a deferred constraint trigger — which
 * runs at COMMIT — gives each writing transaction the tenant's next number in `audit_commits`
 * while holding the tenant's row in `audit_feed_heads`. The lock is held from then until the
 * commit is visible, so per tenant the numbers are handed out in commit order and every snapshot
 * sees a gap-free prefix of them: a reader that resumes after (seq, id) never skips or repeats.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE audit_events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()');
  await knex.raw('CREATE INDEX audit_events_tx_idx ON audit_events (tenant_id, txid, id)');
  // Retention deletes by age; a BRIN index stays tiny on an append-only, time-ordered table.
  await knex.raw('CREATE INDEX audit_events_created_brin ON audit_events USING brin (created_at)');

  await knex.schema.createTable('audit_feed_heads', (t) => {
    t.uuid('tenant_id').primary({ constraintName: 'audit_feed_heads_pkey' });
    t.bigInteger('seq').notNullable();
    t.foreign('tenant_id', 'audit_feed_heads_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  await knex.schema.createTable('audit_commits', (t) => {
    t.uuid('tenant_id').notNullable();
    t.bigInteger('seq').notNullable();
    t.specificType('txid', 'xid8').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'seq'], { constraintName: 'audit_commits_pkey' });
    t.unique(['tenant_id', 'txid'], { indexName: 'audit_commits_tx_unique' });
    t.foreign('tenant_id', 'audit_commits_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX audit_commits_created_brin ON audit_commits USING brin (created_at)');

  await knex.raw(`
    CREATE FUNCTION roster_audit_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      next_seq bigint;
    BEGIN
      -- One number per transaction and tenant: later events of the same transaction share it.
      IF EXISTS (SELECT 1 FROM audit_commits WHERE tenant_id = NEW.tenant_id AND txid = pg_current_xact_id()) THEN
        RETURN NULL;
      END IF;
      INSERT INTO audit_feed_heads AS h (tenant_id, seq) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1
        RETURNING h.seq INTO next_seq;
      INSERT INTO audit_commits (tenant_id, seq, txid) VALUES (NEW.tenant_id, next_seq, pg_current_xact_id());
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE CONSTRAINT TRIGGER audit_events_commit_order AFTER INSERT ON audit_events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION roster_audit_commit()`);

  // Events written before this migration all carry this transaction's id: one commit per tenant.
  await knex.raw(`
    INSERT INTO audit_commits (tenant_id, seq, txid)
      SELECT DISTINCT tenant_id, 1::bigint, pg_current_xact_id() FROM audit_events`);
  await knex.raw('INSERT INTO audit_feed_heads (tenant_id, seq) SELECT tenant_id, 1 FROM audit_commits');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER audit_events_commit_order ON audit_events');
  await knex.raw('DROP FUNCTION roster_audit_commit()');
  await knex.schema.dropTable('audit_commits');
  await knex.schema.dropTable('audit_feed_heads');
  await knex.raw('DROP INDEX audit_events_created_brin');
  await knex.raw('DROP INDEX audit_events_tx_idx');
  await knex.raw('ALTER TABLE audit_events DROP COLUMN txid');
}
