import type { Executor } from '../../db/transaction';
import { isUuid } from '../ids';

export interface Tenant {
  id: string;
  name: string;
  pid: number;
  createdAt: Date;
}

interface TenantRow {
  id: string;
  name: string;
  pid: number;
  created_at: Date;
}

const toTenant = (r: TenantRow): Tenant => ({ id: r.id, name: r.name, pid: Number(r.pid), createdAt: r.created_at });

export async function insertTenant(db: Executor, name: string): Promise<Tenant> {
  const [row] = await db('tenants').insert({ name }).returning('*');
  return toTenant(row);
}

export async function findTenantByIdOrName(db: Executor, ref: string): Promise<Tenant | undefined> {
  const uuid = isUuid(ref);
  const row = await db('tenants')
    .where((q) => {
      q.where('name', ref);
      if (uuid) q.orWhere('id', ref);
    })
    .first();
  return row ? toTenant(row) : undefined;
}

/**
 * Deletes a tenant and, by the foreign keys' cascades, everything it holds: users, groups and
 * their memberships, ACLs and permissions, tokens (their NOTIFY trigger tells every instance's
 * cache), sessions, audit events. Returns whether there was one.
 */
export async function deleteTenantById(db: Executor, id: string): Promise<boolean> {
  return (await db('tenants').where({ id }).delete().returning('id')).length > 0;
}

export async function findAllTenants(db: Executor): Promise<Tenant[]> {
  const rows = await db('tenants').orderBy('created_at', 'asc').orderBy('id', 'asc');
  return rows.map(toTenant);
}

export async function countTenants(db: Executor): Promise<number> {
  const [{ count }] = await db('tenants').count({ count: '*' });
  return Number(count);
}
