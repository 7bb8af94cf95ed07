import type { Knex } from 'knex';

/** SCIM `displayName eq` on users uses this index (case-insensitive, like the filter). */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX users_display_name_idx ON users (tenant_id, lower(display_name))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX users_display_name_idx');
}
