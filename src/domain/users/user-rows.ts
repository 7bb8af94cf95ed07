import type { User } from './user';

/** A `users` row as the statements read it (never the password hash), and its mapping to User. */
export interface UserRow {
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

/** The columns of a User. */
export const USER_COLUMNS = ['id', 'seq', 'tenant_id', 'user_name', 'external_id', 'display_name', 'active', 'resource', 'version', 'created_at', 'updated_at'];

export const toUser = (r: UserRow): User => ({
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
