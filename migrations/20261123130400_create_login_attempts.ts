import type { Knex } from 'knex';

/** Failed logins per tenant and (lower-cased) login, so repeated failures block the login a while. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('login_attempts', (t) => {
    t.uuid('tenant_id').notNullable();
    t.text('login').notNullable();
    t.integer('failures').notNullable().defaultTo(0);
    t.timestamp('window_started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('blocked_until', { useTz: true });
    t.primary(['tenant_id', 'login'], { constraintName: 'login_attempts_pkey' });
    t.foreign('tenant_id', 'login_attempts_tenant_fk').references('tenants.id').onDelete('CASCADE');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_attempts');
}
