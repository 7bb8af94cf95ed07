import type { Knex } from 'knex';

/**
 * Sessions that are started but not authenticated yet (easydb `GET /api/v1/session`). They may
 * not know their tenant until the login, so they cannot live in api_tokens; once authenticated,
 * the same token becomes an api_tokens row of kind 'session'. Only the SHA-256 is kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pending_sessions', (t) => {
    t.uuid('id').primary({ constraintName: 'pending_sessions_pkey' }).defaultTo(knex.raw('gen_random_uuid()'));
    t.text('token_hash').notNullable();
    t.uuid('tenant_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.unique(['token_hash'], { indexName: 'pending_sessions_hash_unique' });
    t.foreign('tenant_id', 'pending_sessions_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX pending_sessions_expires_idx ON pending_sessions (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('pending_sessions');
}
