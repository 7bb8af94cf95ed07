import type { Knex } from 'knex';

/**
 * Bearer tokens (and, later, sessions and OAuth clients). Only the SHA-256 of a token is kept;
 * the token itself is shown once when it is minted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.uuid('id').primary({ constraintName: 'api_tokens_pkey' }).defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable();
    t.text('name').notNullable();
    t.text('kind').notNullable().defaultTo('token');
    t.text('token_hash').notNullable();
    t.specificType('rights', 'text[]').notNullable().defaultTo('{}');
    t.uuid('user_id');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['token_hash'], { indexName: 'api_tokens_hash_unique' });
    t.foreign('tenant_id', 'api_tokens_tenant_fk').references('tenants.id').onDelete('CASCADE');
    t.check("kind IN ('token', 'session', 'oauth_client', 'oauth_access')", [], 'api_tokens_kind_check');
  });
  await knex.raw('CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id, created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
