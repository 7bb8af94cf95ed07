import type { Knex } from 'knex';

/**
 * The users primary key carries the columns a member's display name comes from, so the display
 * name of each member of a streamed group is an index-only probe instead of an index probe and a
 * heap fetch (member-reads.repository.ts `displayOf`; measured: a 10,000-member batch ~50 → ~41
 * ms of PostgreSQL time). Those columns are indexed already (their lower() indexes), so updates
 * that could be HOT before still can.
 *
 * The key is swapped in place: the covering unique index is built, the one foreign key that
 * references the key (group_owners) is dropped and re-added around the swap.
 */
export async function up(knex: Knex): Promise<void> {
  await swapKey(knex, 'CREATE UNIQUE INDEX users_pkey_next ON users (tenant_id, id) INCLUDE (display_name, user_name)');
}

export async function down(knex: Knex): Promise<void> {
  await swapKey(knex, 'CREATE UNIQUE INDEX users_pkey_next ON users (tenant_id, id)');
}

async function swapKey(knex: Knex, createIndex: string): Promise<void> {
  await knex.raw(createIndex);
  await knex.raw('ALTER TABLE group_owners DROP CONSTRAINT group_owners_user_fk');
  await knex.raw('ALTER TABLE users DROP CONSTRAINT users_pkey');
  await knex.raw('ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey_next');
  await knex.raw(
    'ALTER TABLE group_owners ADD CONSTRAINT group_owners_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE',
  );
}
