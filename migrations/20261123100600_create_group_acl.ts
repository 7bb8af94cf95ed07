import type { Knex } from 'knex';

/** Object-level rights on a group (the v1 bag ACLs): who (user, group or token) may do what. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('group_acl', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('group_id').notNullable();
    t.text('who_kind').notNullable();
    t.uuid('who_id').notNullable();
    t.specificType('rights', 'text[]').notNullable().defaultTo('{}');
    t.primary(['tenant_id', 'group_id', 'who_kind', 'who_id'], { constraintName: 'group_acl_pkey' });
    t.foreign(['tenant_id', 'group_id'], 'group_acl_group_fk').references(['tenant_id', 'id']).inTable('groups').onDelete('CASCADE');
    t.check("who_kind IN ('user', 'group', 'token')", [], 'group_acl_who_kind_check');
  });
  await knex.raw('CREATE INDEX group_acl_who_idx ON group_acl (tenant_id, who_kind, who_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('group_acl');
}
