import type { Knex } from 'knex';

/** What a group's members may do on external objects (segments, traits, destinations …). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('group_object_permissions', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('group_id').notNullable();
    t.text('object_type').notNullable();
    t.text('object_id').notNullable();
    t.specificType('permissions', 'text[]').notNullable().defaultTo('{}');
    t.primary(['tenant_id', 'group_id', 'object_type', 'object_id'], { constraintName: 'group_object_permissions_pkey' });
    t.foreign(['tenant_id', 'group_id'], 'group_object_permissions_group_fk').references(['tenant_id', 'id']).inTable('groups').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX group_object_permissions_object_idx ON group_object_permissions (tenant_id, object_type, object_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('group_object_permissions');
}
