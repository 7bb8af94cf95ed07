import type { Executor } from '../../db/transaction';
import type { TokenRecord } from './token';

export interface TokenRow {
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
  /** Whether the user the token acts as is active (managedColumns only). */
  user_active?: boolean | null;
}

/** The columns of a TokenRecord (never the hash). */
export const columns = ['id', 'tenant_id', 'name', 'kind', 'rights', 'user_id', 'expires_at', 'revoked_at', 'last_used_at', 'created_at'];

export const toRecord = (r: TokenRow): TokenRecord => ({
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
  ...(r.user_active === undefined || r.user_id === null ? {} : { userActive: r.user_active !== false }),
});

export interface NewTokenRow {
  tenantId: string;
  name: string;
  kind: string;
  tokenHash: string;
  rights: string[];
  userId?: string | null;
  expiresAt?: Date | null;
}

export async function insertToken(db: Executor, t: NewTokenRow): Promise<TokenRecord> {
  const [row] = await db('api_tokens')
    .insert({
      tenant_id: t.tenantId,
      name: t.name,
      kind: t.kind,
      token_hash: t.tokenHash,
      rights: t.rights,
      user_id: t.userId ?? null,
      expires_at: t.expiresAt ?? null,
    })
    .returning(columns);
  return toRecord(row);
}

/**
 * One indexed lookup by hash; only live (unrevoked, unexpired) tokens are returned, and a token
 * acting as a user only while that user is active (sessions check their user themselves, with
 * their own answers). Deleting the user revokes its tokens (migration 20261204000100).
 */
export async function findLiveTokenByHash(db: Executor, tokenHash: string): Promise<TokenRecord | undefined> {
  const row = await db('api_tokens as t')
    .select(columns.map((c) => `t.${c}`))
    .where({ 't.token_hash': tokenHash })
    .whereNot({ 't.kind': 'oauth_client' })
    .whereNull('t.revoked_at')
    .where((q) => q.whereNull('t.expires_at').orWhere('t.expires_at', '>', db.fn.now()))
    .where((q) =>
      q
        .whereNull('t.user_id')
        .orWhere('t.kind', 'session')
        .orWhereExists((u) => u.select(db.raw('1')).from('users as u').whereRaw('u.tenant_id = t.tenant_id AND u.id = t.user_id AND u.active')),
    )
    .first();
  return row ? toRecord(row) : undefined;
}

/** The live tokens acting as a user (sessions included), by index. */
export async function findLiveTokensOfUser(db: Executor, tenantId: string, userId: string): Promise<TokenRecord[]> {
  const rows: TokenRow[] = await db('api_tokens').select(columns).where({ tenant_id: tenantId, user_id: userId }).whereNull('revoked_at');
  return rows.map(toRecord);
}

/** Tokens by id (any state). */
export async function findTokensByIds(db: Executor, tenantId: string, ids: string[]): Promise<TokenRecord[]> {
  if (!ids.length) return [];
  const rows: TokenRow[] = await db('api_tokens').select(columns).where({ tenant_id: tenantId }).whereIn('id', ids).orderBy('id');
  return rows.map(toRecord);
}

/**
 * Records when tokens were used, many at once (the usage recorder batches them): each row takes
 * the given time unless it already holds one less than `minIntervalSeconds` older, so instances
 * that saw the same token do not rewrite its row over and over. Rows are updated in id order.
 */
export async function touchTokens(db: Executor, uses: { id: string; at: Date }[], minIntervalSeconds: number): Promise<void> {
  if (!uses.length) return;
  const sorted = [...uses].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await db.raw(
    `UPDATE api_tokens t SET last_used_at = u.at
       FROM (SELECT * FROM unnest(?::uuid[], ?::timestamptz[]) AS x(id, at) ORDER BY id) u
      WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at - make_interval(secs => ?))`,
    [sorted.map((u) => u.id), sorted.map((u) => u.at.toISOString()), minIntervalSeconds],
  );
}

/** The ids of every token of a tenant, live or not (the tenant's deletion ends them all). */
export async function findTokenIdsOfTenant(db: Executor, tenantId: string): Promise<string[]> {
  return db('api_tokens').where({ tenant_id: tenantId }).pluck('id');
}

export async function findTokens(db: Executor, tenantId?: string): Promise<TokenRecord[]> {
  const q = db('api_tokens').select(columns).whereIn('kind', ['token', 'oauth_client']).orderBy('created_at').orderBy('id');
  if (tenantId) q.where({ tenant_id: tenantId });
  return (await q).map(toRecord);
}

/**
 * Revokes a token by id (or by name within a tenant); returns the ids revoked. An OAuth client
 * revoked so takes every access token it obtained with it (`accessTokenIds`), whichever path
 * revoked it: the generic revoke used to leave them working until they expired.
 */
export async function revokeTokens(db: Executor, where: { id?: string; tenantId?: string; name?: string }): Promise<{ ids: string[]; accessTokenIds: string[] }> {
  // An empty filter would revoke every token of every tenant: never.
  if (!where.id && !where.name) throw new Error('revokeTokens needs an id or a name');
  const q = db('api_tokens').whereNull('revoked_at');
  if (where.id) q.where({ id: where.id });
  if (where.tenantId) q.where({ tenant_id: where.tenantId });
  if (where.name) q.where({ name: where.name });
  const rows: { id: string; kind: string }[] = await q.update({ revoked_at: db.fn.now() }).returning(['id', 'kind']);
  const clients = rows.filter((r) => r.kind === 'oauth_client').map((r) => r.id);
  const accessTokenIds = clients.length ? await revokeAccessTokensOf(db, clients) : [];
  return { ids: rows.map((r) => r.id), accessTokenIds };
}

/** Ends a user's sessions (easydb logins); returns their ids. */
export async function revokeSessionsOf(db: Executor, tenantId: string, userId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('api_tokens')
    .where({ tenant_id: tenantId, user_id: userId, kind: 'session' })
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() })
    .returning('id');
  return rows.map((r) => r.id);
}

/** Revokes every live access token the clients obtained (their names are `oauth:<client id>`); returns their ids. */
export async function revokeAccessTokensOf(db: Executor, clientIds: string[]): Promise<string[]> {
  if (!clientIds.length) return [];
  const rows: { id: string }[] = await db('api_tokens')
    .where({ kind: 'oauth_access' })
    .whereIn('name', clientIds.map((id) => `oauth:${id}`))
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() })
    .returning('id');
  return rows.map((r) => r.id);
}
