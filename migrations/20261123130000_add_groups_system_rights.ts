import type { Knex } from 'knex';

/**
 * The system rights a group gives its members (an easydb rights specification: right name →
 * parameters). A session user's rights are the union over every group it belongs to.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.jsonb('system_rights').notNullable().defaultTo('{}');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.dropColumn('system_rights');
  });
}
