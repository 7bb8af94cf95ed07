import type { Knex } from 'knex';

/** Every change, in the same transaction as the change; the id orders the change feed. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary({ constraintName: 'audit_events_pkey' });
    t.uuid('tenant_id').notNullable();
    t.uuid('actor_token_id');
    t.uuid('actor_user_id');
    t.text('action').notNullable();
    t.text('resource_type').notNullable();
    t.text('resource_id').notNullable();
    t.jsonb('before');
    t.jsonb('after');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign('tenant_id', 'audit_events_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX audit_events_tenant_idx ON audit_events (tenant_id, id)');
  await knex.raw('CREATE INDEX audit_events_resource_idx ON audit_events (tenant_id, resource_type, resource_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
}
