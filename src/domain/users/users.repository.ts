import type { Executor } from '../../db/transaction';
import type { NewUser, User, UserChanges, UserListQuery } from './user';

interface UserRow {
  id: string;
  seq: string | number;
  tenant_id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const columns = ['id', 'seq', 'tenant_id', 'user_name', 'external_id', 'display_name', 'active', 'resource', 'version', 'created_at', 'updated_at'];

const toUser = (r: UserRow): User => ({
  id: r.id,
  seq: Number(r.seq),
  tenantId: r.tenant_id,
  userName: r.user_name,
  externalId: r.external_id,
  displayName: r.display_name,
  active: r.active,
  resource: r.resource,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

function toColumns(u: UserChanges): Record<string, unknown> {
  const map: Record<string, unknown> = {
    user_name: u.userName,
    external_id: u.externalId,
    display_name: u.displayName,
    active: u.active,
    resource: u.resource === undefined ? undefined : JSON.stringify(u.resource),
  };
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== undefined));
}

export async function insertUser(db: Executor, tenantId: string, u: NewUser): Promise<User> {
  const [row] = await db('users').insert({ tenant_id: tenantId, ...toColumns(u) }).returning(columns);
  return toUser(row);
}

export async function findUserById(db: Executor, tenantId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<User | undefined> {
  const q = db('users').select(columns).where({ tenant_id: tenantId, id }).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toUser(row) : undefined;
}

export async function findUserPage(db: Executor, tenantId: string, query: UserListQuery): Promise<User[]> {
  const q = db('users').select(columns).where('tenant_id', tenantId).orderBy([{ column: 'seq' }]).offset(query.offset).limit(query.limit);
  if (query.userName !== undefined) q.whereRaw('lower(user_name) = lower(?)', [query.userName]);
  return (await q).map(toUser);
}

export async function countUsers(db: Executor, tenantId: string, query: Pick<UserListQuery, 'userName'>): Promise<number> {
  const q = db('users').where('tenant_id', tenantId).count({ count: '*' });
  if (query.userName !== undefined) q.whereRaw('lower(user_name) = lower(?)', [query.userName]);
  const [{ count }] = await q;
  return Number(count);
}

export async function updateUser(db: Executor, tenantId: string, id: string, changes: UserChanges): Promise<User> {
  const [row] = await db('users')
    .where({ tenant_id: tenantId, id })
    .update({ ...toColumns(changes), version: db.raw('version + 1'), updated_at: db.fn.now() })
    .returning(columns);
  return toUser(row);
}

export async function deleteUserRow(db: Executor, tenantId: string, id: string): Promise<void> {
  await db('users').where({ tenant_id: tenantId, id }).delete();
}
