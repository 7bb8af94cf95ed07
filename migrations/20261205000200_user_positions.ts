import type { Knex } from 'knex';

/**
 * `roster_user_positions(tenant, offset, limit)`: the positions (`seq`) of a page of a tenant's
 * users in creation order at an offset, from an index-only scan of `(tenant_id, seq)`. A page of
 * users at an offset (SCIM `startIndex` > 1) calls it inside the statement that reads its rows,
 * which stays prepared with one plan, while this small query is planned with its values on every
 * call (`force_custom_plan`): a plan made without them could read a big tenant's users by another
 * index and sort them, and the whole statement planned on every call cost as much as the second
 * statement it saves.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION roster_user_positions(p_tenant uuid, p_offset bigint, p_limit integer) RETURNS bigint[]
    LANGUAGE plpgsql STABLE SET plan_cache_mode = force_custom_plan AS $$
    BEGIN
      RETURN ARRAY(SELECT seq FROM users WHERE tenant_id = p_tenant ORDER BY seq OFFSET p_offset LIMIT p_limit);
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION roster_user_positions(uuid, bigint, integer)');
}
