import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { resolveSessionRights } from '../access/access.service';
import type { RightsSpec } from '../access/rights-spec';
import { insertAuditEvent } from '../audit/audit.repository';
import { findGroupBriefsByIds, findUserBriefsByIds, type GroupBrief, type UserBrief } from '../directory/directory.repository';
import { InvalidInput } from '../errors';
import { findTenantByIdOrName } from '../tenants/tenants.repository';
import { generateToken, hashToken } from '../tokens/token';
import { findLiveTokenByHash, insertToken } from '../tokens/tokens.repository';
import { hashPassword, verifyPassword } from '../users/passwords';
import {
  AuthenticationMethodNotAllowed,
  LoginBlocked,
  LoginDisabled,
  LoginFailed,
  SessionNotAuthenticated,
  SessionNotFound,
  UsernameOrPasswordEmpty,
} from './session.errors';
import {
  clearLoginAttempts,
  deletePendingSession,
  deleteSessionToken,
  ensureLoginAttempts,
  findCredentials,
  loginKey,
  findLoginAttempts,
  findPendingSession,
  findSoleTenantId,
  insertPendingSession,
  lockSessionToken,
  purgeExpiredPendingSessions,
  saveLoginAttempts,
} from './sessions.repository';

/** How long sessions live and how hard repeated failed logins are throttled. */
export interface SessionPolicy {
  pendingTtlMs: number;
  sessionTtlMs: number;
  /** Failures within `failureWindowMs` that block the login … */
  maxFailures: number;
  failureWindowMs: number;
  /** … for this long. */
  blockMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  pendingTtlMs: 60 * 60 * 1000,
  sessionTtlMs: 24 * 60 * 60 * 1000,
  maxFailures: 5,
  failureWindowMs: 15 * 60 * 1000,
  blockMs: 15 * 60 * 1000,
};

export const AUTHENTICATION_METHODS = ['easydb'] as const;

/** A session as the core knows it; `authenticated` is null until a login succeeds. */
export interface SessionView {
  token: string;
  authenticated: null | {
    method: 'easydb';
    at: Date;
    user: UserBrief;
    groups: GroupBrief[];
    systemRights: RightsSpec;
  };
}

export interface AuthenticateInput {
  token: string;
  login?: string;
  password?: string;
  /** Comma-separated methods to try in order; only "easydb" exists. */
  method?: string;
  /** Tenant name or id; needed only when the session has none and several tenants exist. */
  tenant?: string;
}

/** Principal stand-in for a session that is not authenticated: it may only authenticate itself. */
export function pendingSessionPrincipal(err: SessionNotAuthenticated) {
  return { tenantId: err.tenantId ?? '', tokenId: err.sessionId, rights: new Set<string>() };
}

/**
 * Throws SessionNotAuthenticated when the hash belongs to a started but unauthenticated session,
 * so callers can tell "not logged in yet" from "unknown token".
 */
export async function assertNotPendingSession(db: Executor, tokenHash: string): Promise<void> {
  const pending = await findPendingSession(db, tokenHash);
  if (pending) throw new SessionNotAuthenticated(pending.id, pending.tenantId);
}

let dummyHash: Promise<string> | undefined;
/** A hash to verify against when the login is unknown, so timing does not tell whether it exists. */
const dummy = () => (dummyHash ??= hashPassword('roster-dummy-password'));

/** Sessions: start, describe, authenticate with login and password, deauthenticate. */
export function sessionsService(db: Db, policy: SessionPolicy = DEFAULT_SESSION_POLICY) {
  async function authenticatedView(token: string, record: { tenantId: string; userId: string | null; createdAt: Date }): Promise<SessionView> {
    if (!record.userId) throw new SessionNotFound();
    const rights = await resolveSessionRights(db, record.tenantId, record.userId);
    const [user] = await findUserBriefsByIds(db, record.tenantId, [record.userId]);
    if (!rights || !user) throw new SessionNotFound();
    const groups = await findGroupBriefsByIds(db, record.tenantId, rights.groupIds);
    return { token, authenticated: { method: 'easydb', at: record.createdAt, user, groups, systemRights: rights.spec } };
  }

  async function resolveTenant(ref: string | undefined, sessionTenant: string | null): Promise<string> {
    if (ref !== undefined) {
      const tenant = await findTenantByIdOrName(db, ref);
      if (!tenant) throw new LoginFailed();
      return tenant.id;
    }
    if (sessionTenant) return sessionTenant;
    const sole = await findSoleTenantId(db);
    if (!sole) throw new InvalidInput('several tenants exist: name yours with the "tenant" parameter', { field: 'tenant' });
    return sole;
  }

  /**
   * Takes one attempt of the login's budget before its password is checked, so that attempts in
   * flight count: `maxFailures` attempts without a success in the window may be checked, the next
   * one starts the block (LoginBlocked), as does any attempt while it lasts. Counting after the
   * check let parallel guesses all through before the first failure was written. A success
   * clears the count (in the same transaction as the session).
   */
  async function takeAttempt(tenantId: string, login: string): Promise<void> {
    await inTransaction(db, async (trx) => {
      await ensureLoginAttempts(trx, tenantId, login);
      const a = (await findLoginAttempts(trx, tenantId, login, { forUpdate: true }))!;
      const now = new Date();
      if (a.blockedUntil && a.blockedUntil.getTime() > now.getTime()) throw new LoginBlocked(a.blockedUntil);
      const fresh = now.getTime() - a.windowStartedAt.getTime() > policy.failureWindowMs;
      const taken = fresh ? 0 : a.failures;
      if (taken >= policy.maxFailures) {
        const until = new Date(now.getTime() + policy.blockMs);
        await saveLoginAttempts(trx, tenantId, login, { failures: 0, windowStartedAt: now, blockedUntil: until });
        // CASE: the block must stay although the request fails: it is written before the error leaves.
        return until;
      }
      await saveLoginAttempts(trx, tenantId, login, { failures: taken + 1, windowStartedAt: fresh ? now : a.windowStartedAt, blockedUntil: a.blockedUntil });
      return undefined;
    }).then((until) => {
      if (until) throw new LoginBlocked(until);
    });
  }

  return {
    /** Starts an unauthenticated session; the token is shown once, only its hash is kept. */
    async startSession(): Promise<SessionView> {
      await purgeExpiredPendingSessions(db, 100);
      const token = generateToken();
      await insertPendingSession(db, { tokenHash: hashToken(token), tenantId: null, expiresAt: new Date(Date.now() + policy.pendingTtlMs) });
      return { token, authenticated: null };
    },

    /** The session behind a token; api tokens and unknown or expired tokens are SessionNotFound. */
    async describeSession(token: string): Promise<SessionView> {
      if (token.length > 512) throw new SessionNotFound();
      const hash = hashToken(token);
      if (await findPendingSession(db, hash)) return { token, authenticated: null };
      const record = await findLiveTokenByHash(db, hash);
      if (!record || record.kind !== 'session') throw new SessionNotFound();
      return authenticatedView(token, record);
    },

    /**
     * Authenticates the session as the user with this login and password. A failure leaves an
     * earlier authentication of the session in place; repeated failures block the login.
     */
    async authenticate(input: AuthenticateInput): Promise<SessionView> {
      const methods = (input.method ?? 'easydb').split(',').map((m) => m.trim()).filter(Boolean);
      const unsupported = methods.find((m) => !(AUTHENTICATION_METHODS as readonly string[]).includes(m));
      if (unsupported || !methods.length) throw new AuthenticationMethodNotAllowed(unsupported ?? '');
      if (input.token.length > 512) throw new SessionNotFound();
      const hash = hashToken(input.token);
      const pending = await findPendingSession(db, hash);
      const current = pending ? undefined : await findLiveTokenByHash(db, hash);
      if (!pending && current?.kind !== 'session') throw new SessionNotFound();
      const login = (input.login ?? '').trim();
      if (!login || !input.password) throw new UsernameOrPasswordEmpty();
      if (login.length > 512 || input.password.length > 1024) throw new LoginFailed();

      const tenantId = await resolveTenant(input.tenant, pending ? pending.tenantId : current!.tenantId);
      const key = await loginKey(db, login);
      await takeAttempt(tenantId, key);

      const creds = await findCredentials(db, tenantId, login);
      const ok = await verifyPassword(input.password, creds?.passwordHash ?? (await dummy()));
      if (!creds || !creds.passwordHash || !ok) throw new LoginFailed();
      if (!creds.active) throw new LoginDisabled();

      const record = await inTransaction(db, async (trx) => {
        // CASE: the same token moves from pending (or from an earlier login) to a session row.
        const stillPending = await findPendingSession(trx, hash, { forUpdate: true });
        if (stillPending) await deletePendingSession(trx, stillPending.id);
        else {
          const previous = await lockSessionToken(trx, hash);
          if (!previous) throw new SessionNotFound();
          await deleteSessionToken(trx, previous.id);
        }
        await clearLoginAttempts(trx, tenantId, key);
        const created = await insertToken(trx, {
          tenantId,
          name: 'session',
          kind: 'session',
          tokenHash: hash,
          rights: [],
          userId: creds.id,
          expiresAt: new Date(Date.now() + policy.sessionTtlMs),
        });
        await insertAuditEvent(trx, { tenantId, actorTokenId: created.id, actorUserId: creds.id, action: 'session.authenticated', resourceType: 'token', resourceId: created.id });
        return created;
      });
      return authenticatedView(input.token, record);
    },

    /** Ends the authentication; the token stays usable as an unauthenticated session. */
    async deauthenticate(token: string): Promise<SessionView> {
      if (token.length > 512) throw new SessionNotFound();
      const hash = hashToken(token);
      return inTransaction(db, async (trx) => {
        if (await findPendingSession(trx, hash)) return { token, authenticated: null };
        const session = await lockSessionToken(trx, hash);
        const live = session && (await findLiveTokenByHash(trx, hash));
        if (!session || !live) throw new SessionNotFound();
        await deleteSessionToken(trx, session.id);
        await insertPendingSession(trx, { tokenHash: hash, tenantId: session.tenantId, expiresAt: new Date(Date.now() + policy.pendingTtlMs) });
        await insertAuditEvent(trx, { tenantId: session.tenantId, actorTokenId: session.id, actorUserId: live.userId, action: 'session.deauthenticated', resourceType: 'token', resourceId: session.id });
        return { token, authenticated: null };
      });
    },
  };
}

export type SessionsService = ReturnType<typeof sessionsService>;
