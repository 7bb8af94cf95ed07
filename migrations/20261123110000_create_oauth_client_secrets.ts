import type { Knex } from 'knex';

/**
 * Secrets of OAuth 2.0 clients (client credentials grant). The client itself is an api_tokens
 * row of kind 'oauth_client'; it may have two active secrets at once so they can be rotated.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_client_secrets', (t) => {
    t.uuid('id').primary({ constraintName: 'oauth_client_secrets_pkey' }).defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('client_id').notNullable();
    t.text('secret_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
    t.foreign('client_id', 'oauth_client_secrets_client_fk').references('api_tokens.id').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX oauth_client_secrets_client_idx ON oauth_client_secrets (client_id, created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_client_secrets');
}
