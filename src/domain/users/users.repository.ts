import type { Executor } from '../../db/transaction';
import { compileCriteria, sortExpression } from '../../db/criteria-sql';
import type { Knex } from 'knex';
import type { User, UserChanges, UserGroupRef, UserListQuery } from './user';
import { userFields } from './users.fields';
import { USER_COLUMNS as columns, toUser, type UserRow } from './user-rows';

/** Columns to write; `passwordHash` is the already-hashed password (null clears it). */
function toColumns(u: Omit<UserChanges, 'password'> & { passwordHash?: string | null }): Record<string, unknown> {
  const map: Record<string, unknown> = {
    password_hash: u.passwordHash,
    user_name: u.userName,
    external_id: u.externalId,
    display_name: u.displayName,
    active: u.active,
    resource: u.resource === undefined ? undefined : JSON.stringify(u.resource),
  };
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== undefined));
}

export async function insertUser(db: Executor, tenantId: string, u: Omit<UserChanges, 'password'> & { userName: string; passwordHash?: string | null }): Promise<User> {
  const [row] = await db('users').insert({ tenant_id: tenantId, ...toColumns(u) }).returning(columns);
  return toUser(row);
}

export async function findUserById(db: Executor, tenantId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<User | undefined> {
  const q = db('users').select(columns).where({ tenant_id: tenantId, id }).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toUser(row) : undefined;
}

function filtered(db: Executor, tenantId: string, query: UserListQuery): Knex.QueryBuilder {
  const q = db('users as u').where('u.tenant_id', tenantId);
  if (query.userName !== undefined) q.whereRaw('lower(u.user_name) = lower(?)', [query.userName]);
  if (query.criteria) {
    const { sql, bindings } = compileCriteria(query.criteria, userFields);
    q.whereRaw(sql, bindings as Knex.RawBinding[]);
  }
  return q;
}

/**
 * One page of users in a deterministic order (sort attribute, then creation order). The common
 * case — creation order, no filter, a startIndex past the first page — first finds the page's
 * positions with an index-only scan of (tenant_id, seq) and only then reads those rows, so the
 * rows skipped by the offset are never fetched.
 */
export async function findUserPage(db: Executor, tenantId: string, query: UserListQuery): Promise<User[]> {
  if (query.limit <= 0) return [];
  const plain = !query.sortBy && !query.criteria && query.userName === undefined && query.afterSeq === undefined && query.beforeSeq === undefined;
  if (plain && query.offset > 0) {
    const positions = db('users').select('seq').where('tenant_id', tenantId).orderBy('seq').offset(query.offset).limit(query.limit);
    const rows = await db('users as u')
      .select(columns.map((c) => `u.${c}`))
      .where('u.tenant_id', tenantId)
      .whereIn('u.seq', positions)
      .orderBy('u.seq');
    return rows.map(toUser);
  }
  const q = filtered(db, tenantId, query).select(columns.map((c) => `u.${c}`));
  const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
  if (query.afterSeq !== undefined) q.where('u.seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) q.where('u.seq', '<', query.beforeSeq);
  if (query.sortBy) q.orderByRaw(`${sortExpression(userFields, query.sortBy)} ${dir} NULLS LAST`);
  q.orderBy('u.seq', query.beforeSeq !== undefined ? 'desc' : query.sortBy ? dir : 'asc');
  const rows = await q.offset(query.offset).limit(query.limit);
  const users = rows.map(toUser);
  return query.beforeSeq !== undefined ? users.reverse() : users;
}

export async function countUsers(db: Executor, tenantId: string, query: UserListQuery): Promise<number> {
  // CASE: no condition: the counter rows know the total without scanning the tenant's users.
  if (query.userName === undefined && !query.criteria) return countTenantRows(db, tenantId, 'users');
  const [{ count }] = await filtered(db, tenantId, query).count({ count: '*' });
  return Number(count);
}

/** Direct group memberships of several users, in one statement. */
export async function findGroupsOfUsers(db: Executor, tenantId: string, userIds: string[]): Promise<Map<string, UserGroupRef[]>> {
  const out = new Map<string, UserGroupRef[]>(userIds.map((id) => [id, []]));
  if (!userIds.length) return out;
  const rows: { member_id: string; id: string; name: string }[] = await db('group_members as gm')
    .join('groups as g', function () {
      this.on('g.tenant_id', 'gm.tenant_id').andOn('g.id', 'gm.group_id');
    })
    .where('gm.tenant_id', tenantId)
    .where('gm.member_kind', 'user')
    .whereIn('gm.member_id', userIds)
    .select('gm.member_id', 'g.id', 'g.name')
    .orderBy('g.name');
  for (const r of rows) out.get(r.member_id)?.push({ id: r.id, name: r.name });
  return out;
}

/** The stored password hash of a user (never part of User). */
export async function findPasswordHash(db: Executor, tenantId: string, id: string): Promise<string | null | undefined> {
  const row = await db('users').select('password_hash').where({ tenant_id: tenantId, id }).first();
  return row ? row.password_hash : undefined;
}

export async function updateUser(db: Executor, tenantId: string, id: string, changes: Omit<UserChanges, 'password'> & { passwordHash?: string | null }): Promise<User> {
  const [row] = await db('users')
    .where({ tenant_id: tenantId, id })
    .update({ ...toColumns(changes), version: db.raw('version + 1'), updated_at: db.fn.now() })
    .returning(columns);
  return toUser(row);
}

export async function deleteUserRow(db: Executor, tenantId: string, id: string): Promise<void> {
  await db('users').where({ tenant_id: tenantId, id }).delete();
}

/** Exact number of users (or groups) of a tenant, from the trigger-maintained striped counters. */
export async function countTenantRows(db: Executor, tenantId: string, kind: 'users' | 'groups'): Promise<number> {
  const [{ total }] = await db('tenant_counters').where({ tenant_id: tenantId, kind }).sum({ total: 'n' });
  return Number(total ?? 0);
}
