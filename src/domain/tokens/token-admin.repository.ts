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

/** One page of a tenant's managed tokens, oldest first, and how many there are. */
export async function findManagedTokenPage(db: Executor, tenantId: string, offset: number, limit: number): Promise<{ items: TokenRecord[]; total: number }> {
  const base = () => db('api_tokens').where({ tenant_id: tenantId }).whereIn('kind', MANAGED_KINDS);
  const [rows, [{ count }]] = await Promise.all([
    base().select(managedColumns(db)).orderBy('created_at').orderBy('id').offset(offset).limit(limit),
    base().count<{ count: string | number }[]>({ count: '*' }),
  ]);
  return { items: (rows as TokenRow[]).map(toRecord), total: Number(count) };
}
