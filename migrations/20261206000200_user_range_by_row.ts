import type { Knex } from 'knex';

/**
 * `roster_user_range(tenant, after, before, limit)`: the positions (`seq`) of a page of a tenant's
 * users in creation order from a position (a cursor page after or before it; the first page with
 * both null), read so that only `users_tenant_seq_idx` can serve them, whatever the statistics.
 *
 * It bounds the tenant's rows by row comparisons on `(tenant_id, seq)` and orders them by
 * `tenant_id, seq`. No index on `seq` alone gives that order, so PostgreSQL cannot walk
 * `users_seq_unique` filtering by tenant, as it could with `tenant_id = … ORDER BY seq` where a
 * tenant held most users and its rows were not all visible yet (for a page at the end of a
 * tenant's import, that walk reads every user imported after it). Another index that starts with
 * `tenant_id` (the display name's, the user name's) could give the order only by an incremental
 * sort, which PostgreSQL costs as nearly free on the statistics of many small tenants while it
 * reads and sorts all of the tenant's users; the function runs with `enable_incremental_sort` off
 * (its own setting, restored when it returns), so the only ordered read left is
 * `(tenant_id, seq)`, stopped by the page size. With no other plan to weigh, its plan is made once
 * a connection without the values (`force_generic_plan`): left to choose, PostgreSQL planned it on
 * every call, since a plan made without the values costs the LIMIT of an average tenant, which cost
 * ~0.15 ms a page.
 *
 * Pages at an offset keep `roster_user_positions` (migration 20261205000200): the same row
 * comparisons cost each of the rows an offset skips two more key comparisons, measured ~0.1 ms
 * slower at offsets up to 9,900 (bench/HISTORY.md, twenty-eighth part).
 */
const MIN = '-9223372036854775808';
const MAX = '9223372036854775807';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION roster_user_range(p_tenant uuid, p_after bigint, p_before bigint, p_limit integer) RETURNS bigint[]
    LANGUAGE plpgsql STABLE SET enable_incremental_sort = off SET plan_cache_mode = force_generic_plan AS $$
    BEGIN
      IF p_before IS NOT NULL THEN
        RETURN ARRAY(SELECT seq FROM users WHERE (tenant_id, seq) < (p_tenant, p_before) AND (tenant_id, seq) >= (p_tenant, '${MIN}'::bigint)
          ORDER BY tenant_id DESC, seq DESC LIMIT p_limit);
      END IF;
      RETURN ARRAY(SELECT seq FROM users WHERE (tenant_id, seq) > (p_tenant, coalesce(p_after, '${MIN}'::bigint)) AND (tenant_id, seq) <= (p_tenant, '${MAX}'::bigint)
        ORDER BY tenant_id, seq LIMIT p_limit);
    END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION roster_user_range(uuid, bigint, bigint, integer)');
}
