import type { Knex } from 'knex';
import { compileCriteria, sortExpression } from '../../db/criteria-sql';
import type { Executor } from '../../db/transaction';
import type { Criteria } from '../criteria';
import { groupFields } from '../groups/groups.fields';
import { countTenantRows } from '../users/users.repository';

export interface GroupQuery {
  criteria?: Criteria;
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  offset: number;
  limit: number;
  afterSeq?: number;
  beforeSeq?: number;
}

function filtered(db: Executor, tenantId: string, criteria?: Criteria): Knex.QueryBuilder {
  const q = db('groups as g').where('g.tenant_id', tenantId);
  if (criteria) {
    const { sql, bindings } = compileCriteria(criteria, groupFields);
    q.whereRaw(sql, bindings as Knex.RawBinding[]);
  }
  return q;
}

/** Ids (with seq) of one page of groups matching criteria, in a deterministic order. */
export async function findGroupIdPage(db: Executor, tenantId: string, query: GroupQuery): Promise<{ id: string; seq: number }[]> {
  if (query.limit <= 0) return [];
  const q = filtered(db, tenantId, query.criteria).select('g.id', 'g.seq');
  const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
  if (query.afterSeq !== undefined) q.where('g.seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) q.where('g.seq', '<', query.beforeSeq);
  if (query.sortBy) q.orderByRaw(`${sortExpression(groupFields, query.sortBy)} ${dir} NULLS LAST`);
  q.orderBy('g.seq', query.beforeSeq !== undefined ? 'desc' : query.sortBy ? dir : 'asc');
  const rows: { id: string; seq: string }[] = await q.offset(query.offset).limit(query.limit);
  const out = rows.map((r) => ({ id: r.id, seq: Number(r.seq) }));
  return query.beforeSeq !== undefined ? out.reverse() : out;
}

export async function countGroupsWhere(db: Executor, tenantId: string, criteria?: Criteria): Promise<number> {
  if (!criteria) return countTenantRows(db, tenantId, 'groups');
  const [{ count }] = await filtered(db, tenantId, criteria).count({ count: '*' });
  return Number(count);
}
