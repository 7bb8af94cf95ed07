import type { Executor } from '../../db/transaction';

/** A started session that is not authenticated (yet, or any more). */
export interface PendingSession {
  id: string;
  tenantId: string | null;
  createdAt: Date;
  expiresAt: Date;
}

const toPending = (r: { id: string; tenant_id: string | null; created_at: Date; expires_at: Date }): PendingSession => ({
  id: r.id,
  tenantId: r.tenant_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

export async function insertPendingSession(db: Executor, s: { tokenHash: string; tenantId: string | null; expiresAt: Date }): Promise<PendingSession> {
  const [row] = await db('pending_sessions')
    .insert({ token_hash: s.tokenHash, tenant_id: s.tenantId, expires_at: s.expiresAt })
    .returning(['id', 'tenant_id', 'created_at', 'expires_at']);
  return toPending(row);
}

/** A live (unexpired) pending session by token hash; `forUpdate` locks it for a state change. */
export async function findPendingSession(db: Executor, tokenHash: string, opts: { forUpdate?: boolean } = {}): Promise<PendingSession | undefined> {
  const q = db('pending_sessions')
    .select('id', 'tenant_id', 'created_at', 'expires_at')
    .where('token_hash', tokenHash)
    .where('expires_at', '>', db.fn.now())
    .first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toPending(row) : undefined;
}

export async function deletePendingSession(db: Executor, id: string): Promise<void> {
  await db('pending_sessions').where('id', id).delete();
}

/** Removes a bounded number of expired pending sessions (called as sessions start). */
export async function purgeExpiredPendingSessions(db: Executor, limit: number): Promise<void> {
  await db.raw('DELETE FROM pending_sessions WHERE id IN (SELECT id FROM pending_sessions WHERE expires_at < now() LIMIT ?)', [limit]);
}

/** Locks the live session token row with this hash, if there is one. */
export async function lockSessionToken(db: Executor, tokenHash: string): Promise<{ id: string; tenantId: string } | undefined> {
  const row = await db('api_tokens')
    .select('id', 'tenant_id')
    .where({ token_hash: tokenHash, kind: 'session' })
    .whereNull('revoked_at')
    .forUpdate()
    .first();
  return row ? { id: row.id, tenantId: row.tenant_id } : undefined;
}

/** Session tokens are removed outright (not revoked) so the same token can become pending again. */
export async function deleteSessionToken(db: Executor, id: string): Promise<void> {
  await db('api_tokens').where({ id, kind: 'session' }).delete();
}

/** What a login needs to know about a user: its id, whether it is active, its password hash. */
/**
 * The key failed logins are counted under: the login lowered by PostgreSQL, as findCredentials
 * compares it. Lowered in JavaScript, spellings PostgreSQL takes for the same user (`alİce` and
 * `alice`) were counted apart, each with its own attempts, and one got past a block.
 */
export async function loginKey(db: Executor, login: string): Promise<string> {
  const result = await db.raw('SELECT lower(?::text) AS k', [login]);
  return (result.rows as { k: string }[])[0].k;
}

export async function findCredentials(db: Executor, tenantId: string, login: string): Promise<{ id: string; active: boolean; passwordHash: string | null } | undefined> {
  const row = await db('users').select('id', 'active', 'password_hash').where('tenant_id', tenantId).whereRaw('lower(user_name) = lower(?)', [login]).first();
  return row ? { id: row.id, active: row.active, passwordHash: row.password_hash } : undefined;
}

/** The tenant's id when exactly one tenant exists (a single-tenant deployment needs no tenant parameter). */
export async function findSoleTenantId(db: Executor): Promise<string | undefined> {
  const rows: { id: string }[] = await db('tenants').select('id').limit(2);
  return rows.length === 1 ? rows[0].id : undefined;
}

export interface LoginAttempts {
  failures: number;
  windowStartedAt: Date;
  blockedUntil: Date | null;
}

export async function findLoginAttempts(db: Executor, tenantId: string, login: string, opts: { forUpdate?: boolean } = {}): Promise<LoginAttempts | undefined> {
  const q = db('login_attempts').select('failures', 'window_started_at', 'blocked_until').where({ tenant_id: tenantId, login }).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? { failures: row.failures, windowStartedAt: row.window_started_at, blockedUntil: row.blocked_until } : undefined;
}

/** Makes sure the row exists, so concurrent failures serialise on its lock. */
export async function ensureLoginAttempts(db: Executor, tenantId: string, login: string): Promise<void> {
  await db('login_attempts').insert({ tenant_id: tenantId, login, failures: 0 }).onConflict(['tenant_id', 'login']).ignore();
}

export async function saveLoginAttempts(db: Executor, tenantId: string, login: string, a: LoginAttempts): Promise<void> {
  await db('login_attempts')
    .where({ tenant_id: tenantId, login })
    .update({ failures: a.failures, window_started_at: a.windowStartedAt, blocked_until: a.blockedUntil });
}

export async function clearLoginAttempts(db: Executor, tenantId: string, login: string): Promise<void> {
  await db('login_attempts').where({ tenant_id: tenantId, login }).delete();
}
