import type { Knex } from 'knex';

/**
 * SCIM lists users of one tenant in creation order (`ORDER BY seq`), by index (startIndex) or
 * by cursor (`seq > ?`). With this index both are a range scan inside the tenant, and the
 * index-only inner query of findUserPage skips the rows before startIndex without reading them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX users_tenant_seq_idx ON users (tenant_id, seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX users_tenant_seq_idx');
}
