import type { Knex } from 'knex';

/**
 * Attributes only one dialect knows (easydb `displayname`, `frontend_prefs`, group type …),
 * kept per dialect under its own key so they never leak into another dialect's `properties`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.jsonb('vendor_attributes').notNullable().defaultTo('{}');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('groups', (t) => {
    t.dropColumn('vendor_attributes');
  });
}
