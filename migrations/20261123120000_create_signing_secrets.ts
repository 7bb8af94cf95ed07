import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * Secrets the service signs opaque client-held values with (Groups v2 search `q64` page links).
 * Kept in the database so every web instance signs and verifies alike with no extra setup; the
 * secret is random per database, made here once. Deleting the row (and re-running this insert by
 * hand) rotates it, which invalidates outstanding page links.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('signing_secrets', (t) => {
    t.text('name').notNullable();
    t.text('secret').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['name'], { constraintName: 'signing_secrets_pkey' });
  });
  await knex('signing_secrets').insert({ name: 'groups_v2_q64', secret: randomBytes(32).toString('base64') });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('signing_secrets');
}
