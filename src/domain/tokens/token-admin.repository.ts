import type { Executor } from '../../db/transaction';
import type { TokenRecord } from './token';

/** The kinds an administrator manages: bearer tokens and OAuth clients (not sessions or access tokens). */
export const MANAGED_KINDS = ['token', 'oauth_client'];

interface Row {
  id: string;
  tenant_id: string;
  name: string;
  kind: string;
  rights: string[];
  user_id: string | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

const columns = ['id', 'tenant_id', 'name', 'kind', 'rights', 'user_id', 'expires_at', 'revoked_at', 'last_used_at', 'created_at'];

const toRecord = (r: Row): TokenRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  kind: r.kind,
  rights: r.rights,
  userId: r.user_id,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
});

/** A tenant's managed token by id (undefined for another tenant's, or a session's); `lock` holds its row. */
export async function findManagedToken(db: Executor, tenantId: string, id: string, lock = false): Promise<TokenRecord | undefined> {
  const q = db('api_tokens').select(columns).where({ tenant_id: tenantId, id }).whereIn('kind', MANAGED_KINDS).first();
  if (lock) q.forUpdate();
  const row = await q;
  return row ? toRecord(row) : undefined;
}

/** One page of a tenant's managed tokens, oldest first, and how many there are. */
export async function findManagedTokenPage(db: Executor, tenantId: string, offset: number, limit: number): Promise<{ items: TokenRecord[]; total: number }> {
  const base = () => db('api_tokens').where({ tenant_id: tenantId }).whereIn('kind', MANAGED_KINDS);
  const [rows, [{ count }]] = await Promise.all([
    base().select(columns).orderBy('created_at').orderBy('id').offset(offset).limit(limit),
    base().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: (rows as Row[]).map(toRecord), total: Number(count) };
}
