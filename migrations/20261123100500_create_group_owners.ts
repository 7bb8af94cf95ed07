import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('group_owners', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('group_id').notNullable();
    t.uuid('user_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'group_id', 'user_id'], { constraintName: 'group_owners_pkey' });
    t.foreign(['tenant_id', 'group_id'], 'group_owners_group_fk').references(['tenant_id', 'id']).inTable('groups').onDelete('CASCADE');
    t.foreign(['tenant_id', 'user_id'], 'group_owners_user_fk').references(['tenant_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX group_owners_user_idx ON group_owners (tenant_id, user_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('group_owners');
}
