import type { Knex } from 'knex';

/**
 * New users and groups get time-ordered ids: UUID version 7 (RFC 9562 §5.7), the creation time in
 * milliseconds followed by 74 random bits, written by `roster_uuid_v7()` (PostgreSQL 15 has no
 * built-in one; 18 does). Random (version 4) ids put consecutive users far apart in every index
 * keyed by id, so the memberships of one page of 100 users were 100 probes into random pages of
 * `group_members_member_idx` — on a tenant of 1,000,000 users, ~1.2 ms of the page's ~1.5 ms of
 * database time, the index being far bigger than the caches. With ids in creation order, the
 * users of a page sit side by side there, and inserting users and memberships appends to the
 * id indexes instead of touching a random page each. Ids stay opaque, unique and unguessable
 * (74 random bits); what they tell, the creation time, is the resource's `meta.created`.
 * Existing ids are left as they are.
 */
export async function up(knex: Knex): Promise<void> {
  // A version 4 UUID with its first 48 bits replaced by the Unix time in ms and its version set to
  // 7 (bits 52 and 53 of the bytes added to version 4's 0100); its variant bits are already 10.
  await knex.raw(`
    CREATE FUNCTION roster_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
      SELECT encode(
        set_bit(set_bit(
          overlay(uuid_send(gen_random_uuid())
                  PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                  FROM 1 FOR 6),
          52, 1), 53, 1),
        'hex')::uuid
    $$`);
  await knex.raw('ALTER TABLE users ALTER COLUMN id SET DEFAULT roster_uuid_v7()');
  await knex.raw('ALTER TABLE groups ALTER COLUMN id SET DEFAULT roster_uuid_v7()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE users ALTER COLUMN id SET DEFAULT gen_random_uuid()');
  await knex.raw('ALTER TABLE groups ALTER COLUMN id SET DEFAULT gen_random_uuid()');
  await knex.raw('DROP FUNCTION roster_uuid_v7()');
}
