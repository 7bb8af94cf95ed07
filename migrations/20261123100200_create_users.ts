import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('id').notNullable().defaultTo(knex.raw('gen_random_uuid()'));
    t.specificType('seq', 'bigint GENERATED ALWAYS AS IDENTITY').notNullable();
    t.text('user_name').notNullable();
    t.text('external_id');
    t.text('display_name');
    t.boolean('active').notNullable().defaultTo(true);
    t.jsonb('resource').notNullable().defaultTo('{}');
    t.text('password_hash');
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['tenant_id', 'id'], { constraintName: 'users_pkey' });
    t.unique(['seq'], { indexName: 'users_seq_unique' });
    t.foreign('tenant_id', 'users_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  // Case-insensitive uniqueness of the user name per tenant (Okta looks users up in capitals).
  await knex.raw('CREATE UNIQUE INDEX users_user_name_unique ON users (tenant_id, lower(user_name))');
  await knex.raw('CREATE INDEX users_external_id_idx ON users (tenant_id, external_id)');
  await knex.raw('CREATE INDEX users_user_name_trgm ON users USING gin (lower(user_name) gin_trgm_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
}
