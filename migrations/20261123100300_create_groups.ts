import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('groups', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('id').notNullable().defaultTo(knex.raw('gen_random_uuid()'));
    t.specificType('seq', 'bigint GENERATED ALWAYS AS IDENTITY').notNullable();
    t.text('name').notNullable();
    t.text('key');
    t.text('external_id');
    t.text('description');
    t.text('type').notNullable().defaultTo('official');
    t.text('visibility').notNullable().defaultTo('public');
    t.text('state').notNullable().defaultTo('active');
    t.boolean('rules_visible').notNullable().defaultTo(false);
    t.jsonb('images').notNullable().defaultTo('[]');
    t.jsonb('addresses').notNullable().defaultTo('[]');
    t.jsonb('properties').notNullable().defaultTo('{}');
    t.specificType('wildcards', 'text[]').notNullable().defaultTo('{}');
    t.boolean('system').notNullable().defaultTo(false);
    t.uuid('owner_user_id');
    t.uuid('owner_token_id');
    t.integer('member_count').notNullable().defaultTo(0);
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'id'], { constraintName: 'groups_pkey' });
    t.unique(['seq'], { indexName: 'groups_seq_unique' });
    t.foreign('tenant_id', 'groups_tenant_fk').references('tenants.id').onDelete('CASCADE');
    t.check("type IN ('official', 'social')", [], 'groups_type_check');
    t.check("visibility IN ('public', 'members', 'owners')", [], 'groups_visibility_check');
    t.check("state IN ('active', 'inactive', 'deleted')", [], 'groups_state_check');
    t.check('member_count >= 0', [], 'groups_member_count_check');
  });
  await knex.raw('CREATE UNIQUE INDEX groups_name_unique ON groups (tenant_id, lower(name))');
  await knex.raw('CREATE UNIQUE INDEX groups_key_unique ON groups (tenant_id, key) WHERE key IS NOT NULL');
  await knex.raw('CREATE INDEX groups_external_id_idx ON groups (tenant_id, external_id)');
  await knex.raw('CREATE INDEX groups_name_trgm ON groups USING gin (lower(name) gin_trgm_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('groups');
}
