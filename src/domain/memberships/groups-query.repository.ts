import { sortExpression } from '../../db/criteria-sql';
import type { Executor } from '../../db/transaction';
import type { Criteria } from '../criteria';
import type { GroupViewer } from '../groups/group';
import { groupFields } from '../groups/groups.fields';
import { filtered } from '../groups/groups.repository';
import { countTenantRows } from '../users/users.repository';

export interface GroupQuery {
  criteria?: Criteria;
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  offset: number;
  limit: number;
  afterSeq?: number;
  beforeSeq?: number;
  /**
   * Set for a token acting as a user: only the groups it may see (groups.repository.ts's
   * `filtered`, as Groups v2 lists them). Unset: every group of the tenant.
   */
  viewer?: GroupViewer;
}

/** Ids (with seq) of one page of groups matching criteria, in a deterministic order. */
export async function findGroupIdPage(db: Executor, tenantId: string, query: GroupQuery): Promise<{ id: string; seq: number }[]> {
  if (query.limit <= 0) return [];
  const q = filtered(db, tenantId, { criteria: query.criteria }, query.viewer).select('g.id', 'g.seq');
  const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
  if (query.afterSeq !== undefined) q.where('g.seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) q.where('g.seq', '<', query.beforeSeq);
  // RFC 7644 §3.4.2.3: resources without a value sort last ascending, first descending.
  if (query.sortBy) q.orderByRaw(`${sortExpression(groupFields, query.sortBy)} ${dir} NULLS ${dir === 'desc' ? 'FIRST' : 'LAST'}`);
  q.orderBy('g.seq', query.beforeSeq !== undefined ? 'desc' : query.sortBy ? dir : 'asc');
  const rows: { id: string; seq: string }[] = await q.offset(query.offset).limit(query.limit);
  const out = rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
  return query.beforeSeq !== undefined ? out.reverse() : out;
}

/** How many groups match the criteria (and show to the viewer, when given). */
export async function countGroupsWhere(db: Executor, tenantId: string, criteria?: Criteria, viewer?: GroupViewer): Promise<number> {
  if (!criteria && !viewer) return countTenantRows(db, tenantId, 'groups');
  const [{ count }] = await filtered(db, tenantId, { criteria }, viewer).count({ count: '*' });
  return Number(count);
}
