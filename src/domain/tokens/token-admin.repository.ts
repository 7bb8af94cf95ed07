import type { Knex } from 'knex';
import type { Executor } from '../../db/transaction';
import type { TokenRecord } from './token';
import { columns, toRecord, type TokenRow } from './tokens.repository';

/** A token's columns over `api_tokens`, and whether the user it acts as is active (the API's `suspended`). */
const managedColumns = (db: Executor): (string | Knex.Raw)[] => [
  ...columns.map((c) => `api_tokens.${c}`),
  db.raw('(SELECT u.active FROM users u WHERE u.tenant_id = api_tokens.tenant_id AND u.id = api_tokens.user_id) AS user_active'),
];

/** The kinds an administrator manages: bearer tokens and OAuth clients (not sessions or access tokens). */
export const MANAGED_KINDS = ['token', 'oauth_client'];

/** A tenant's managed token by id (undefined for another tenant's, or a session's); `lock` holds its row. */
export async function findManagedToken(db: Executor, tenantId: string, id: string, lock = false): Promise<TokenRecord | undefined> {
  const q = db('api_tokens').select(managedColumns(db)).where({ tenant_id: tenantId, id }).whereIn('kind', MANAGED_KINDS).first();
  if (lock) q.forUpdate();
  const row = await q;
  return row ? toRecord(row) : undefined;
}

/** The tenant and kind of a managed token, whichever tenant it is in (for the operator's `token revoke --id`). */
export async function findManagedTokenOwner(db: Executor, id: string): Promise<{ tenantId: string; kind: string; live: boolean } | undefined> {
  const row = await db('api_tokens').select('tenant_id', 'kind', 'revoked_at').where({ id }).whereIn('kind', MANAGED_KINDS).first();
  return row ? { tenantId: row.tenant_id as string, kind: row.kind as string, live: row.revoked_at === null } : undefined;
}

/** The live managed tokens of a tenant with a name (for the operator's `token revoke --name`). */
export async function findLiveManagedTokenIdsByName(db: Executor, tenantId: string, name: string): Promise<string[]> {
  return db('api_tokens').where({ tenant_id: tenantId, name }).whereIn('kind', MANAGED_KINDS).whereNull('revoked_at').orderBy('created_at').pluck('id');
}

/** One page of a tenant's managed tokens, oldest first, and how many there are. */
export async function findManagedTokenPage(db: Executor, tenantId: string, offset: number, limit: number): Promise<{ items: TokenRecord[]; total: number }> {
  const base = () => db('api_tokens').where({ tenant_id: tenantId }).whereIn('kind', MANAGED_KINDS);
  const [rows, [{ count }]] = await Promise.all([
    base().select(managedColumns(db)).orderBy('created_at').orderBy('id').offset(offset).limit(limit),
    base().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: (rows as TokenRow[]).map(toRecord), total: Number(count) };
}
