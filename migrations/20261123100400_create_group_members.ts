import type { Knex } from 'knex';

/**
 * Memberships: a member is a user or a group (nested groups; cycles are refused by the service).
 * The member id is polymorphic, so rows are removed by the services that delete users and groups.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('group_members', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('group_id').notNullable();
    t.text('member_kind').notNullable();
    t.uuid('member_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'group_id', 'member_kind', 'member_id'], { constraintName: 'group_members_pkey' });
    t.foreign(['tenant_id', 'group_id'], 'group_members_group_fk').references(['tenant_id', 'id']).inTable('groups').onDelete('CASCADE');
    t.check("member_kind IN ('user', 'group')", [], 'group_members_kind_check');
  });
  // Reverse index: "which groups is this user (or group) in".
  await knex.raw('CREATE INDEX group_members_member_idx ON group_members (tenant_id, member_kind, member_id, group_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('group_members');
}
