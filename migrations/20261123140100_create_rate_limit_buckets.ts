import type { Knex } from 'knex';

/**
 * Token buckets for rate limiting, shared by every instance (when Redis is not configured).
 * Unlogged: the counters are worth nothing after a crash, and skipping the WAL keeps the one
 * upsert per request cheap. Idle rows are pruned in the background.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE UNLOGGED TABLE rate_limit_buckets (
      key text NOT NULL CONSTRAINT rate_limit_buckets_pkey PRIMARY KEY,
      tokens double precision NOT NULL,
      allowed boolean NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limit_buckets');
}
