import { sortExpression } from '../../db/criteria-sql';
import type { Knex } from 'knex';
import { readRows, readShapedRows } from '../../db/direct';
import type { Executor } from '../../db/transaction';
import type { Criteria } from '../criteria';
import type { Group, GroupListQuery, GroupViewer } from './group';
import { ownerIdsColumn, toGroup, type GroupRow } from './group-rows';
import { groupFields } from './groups.fields';
import { filtered } from './groups.repository';
import { own } from '../own';

/**
 * A page of groups and how many match, in ONE statement (Groups v2 list and search): the page's
 * ids come from an ordered, limited scan (top-N, never a sort of every match), the full rows are
 * joined back for those ids only, and the total is a scalar subquery beside them — a count over
 * the same conditions, or the tenant's striped counters when there are none. The conditions are
 * groups.repository.ts's `filtered` (ids, criteria, visibility for a user-acting viewer).
 */

/** ORDER BY over alias `g`: the sort keys (default: name), then the id. */
function orderOf(query: GroupListQuery): string {
  if (query.sort?.length) {
    const keys = query.sort.map((key) => `${sortExpression(groupFields, key.field)} ${key.order === 'desc' ? 'DESC' : 'ASC'} NULLS LAST`);
    return [...keys, 'g.id ASC'].join(', ');
  }
  const dir = query.sortOrder === 'desc' ? 'DESC' : 'ASC';
  return `lower(g.name) ${dir}, g.id ${dir}`;
}

/**
 * Whether the conditions name one group at most: a name equal to a value (names are unique per
 * tenant, case-insensitively: groups_name_unique on lower(name), the expression the comparison
 * compiles to), alone or ANDed with anything else.
 */
function namesOneGroup(c: Criteria | undefined): boolean {
  if (!c) return false;
  if (c.op === 'and') return c.items.some(namesOneGroup);
  if (c.op !== 'cmp' || c.cmp !== 'eq' || typeof c.value !== 'string') return false;
  const def = own(groupFields, c.field.toLowerCase());
  return def?.kind === 'scalar' && def.sql === 'g.name' && !def.caseExact;
}

export async function findGroupPageWithTotal(db: Executor, tenantId: string, query: GroupListQuery, viewer?: GroupViewer): Promise<{ items: Group[]; total: number }> {
  const c = query.criteria;
  // CASE: a search by name (the commonest: an integration looking a group up) is kept prepared:
  // whatever the values, its best plan is the unique name index (planning it cost more than
  // running it: ~0.36 vs ~0.26 ms). Any other search stays unnamed: its plan depends on its values.
  // Alone, sorted by at most one key and for a token acting as nobody, its text is the same for
  // every name, so it is built once per shape (readShapedRows), and searches that arrive while it
  // runs run together as one statement (read-batches.ts).
  const rows =
    c?.op === 'cmp' && typeof c.value === 'string' && namesOneGroup(c) && !viewer && !query.ids && (query.sort?.length ?? 0) <= 1
      ? await readShapedRows<PageRow, LookupValues>(
          db,
          `groups.page.lookup:${c.field.toLowerCase()}:${c.cmp}:${orderOf(query)}:${query.offset > 0 ? 1 : 0}`,
          { tenantId, value: c.value, limit: Math.max(0, query.limit), offset: query.offset > 0 ? query.offset : undefined },
          (v) => pageStatement(db, v.tenantId, { ...query, criteria: { ...c, value: v.value }, offset: v.offset ?? 0, limit: v.limit }),
          { prepared: true, batchBy: { name: 'value', type: 'text' } },
        )
      : await readRows<PageRow>(db, pageStatement(db, tenantId, query, viewer), { prepared: namesOneGroup(c) });
  return { items: rows.filter((r) => r.id !== null).map(toGroup), total: Number(rows[0]?.total ?? 0) };
}

type PageRow = GroupRow & { total: string | number };

type LookupValues = { tenantId: string; value: string; limit: number; offset?: number };

/** findGroupPageWithTotal's one statement (see the top of this file). */
function pageStatement(db: Executor, tenantId: string, query: GroupListQuery, viewer?: GroupViewer): Knex.QueryBuilder {
  const order = orderOf(query);
  const unconditioned = !query.ids && !query.criteria && !viewer;
  const total = unconditioned
    ? db('tenant_counters').where({ tenant_id: tenantId, kind: 'groups' }).select(db.raw('coalesce(sum(n), 0)::bigint'))
    : filtered(db, tenantId, query, viewer).select(db.raw('count(*)::bigint'));
  const page = filtered(db, tenantId, query, viewer)
    .select('g.id')
    .orderByRaw(order)
    .offset(query.offset)
    .limit(Math.max(0, query.limit));
  // The page's rows sort again by the same keys: they are few, and the join does not keep order.
  return db
    .with('page', page)
    .with('total', total)
    .select(db.raw('(SELECT * FROM total) AS total'), 'g.*', db.raw(ownerIdsColumn('g')))
    .from(db.raw('(SELECT 1) AS one'))
    .joinRaw('LEFT JOIN (page JOIN groups g ON g.tenant_id = ? AND g.id = page.id) ON true', [tenantId])
    .orderByRaw(order);
}
