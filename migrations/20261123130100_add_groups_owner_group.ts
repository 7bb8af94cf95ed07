import type { Knex } from 'knex';

/**
 * A group may be owned by another group (easydb `_owner`). The reference is checked by the
 * services; the index answers "which groups does this group own" before a delete.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.uuid('owner_group_id');
  });
  await knex.raw('CREATE INDEX groups_owner_group_idx ON groups (tenant_id, owner_group_id) WHERE owner_group_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS groups_owner_group_idx');
  await knex.schema.alterTable('groups', (t) => {
    t.dropColumn('owner_group_id');
  });
}
