import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { resolveSessionRights } from '../access/access.service';
import { InvalidInput } from '../errors';
import type { Principal } from '../principal';
import { isUuid } from '../ids';
import { isRight, RIGHTS } from '../rights';
import { findUserById } from '../users/users.repository';
import { assertNotPendingSession } from '../sessions/sessions.service';
import { generateToken, hashToken, type TokenRecord } from './token';
import { tokenRuntimeOf } from './token-runtime';
import { findLiveTokenByHash, findTokens, insertToken, revokeTokens } from './tokens.repository';

export interface IssueTokenInput {
  tenantId: string;
  name: string;
  rights: string[];
  userId?: string | null;
  expiresInMs?: number;
}

/** The principal a token record stands for (a fresh rights set: callers may not share it). */
function principalOf(record: TokenRecord, rights: Set<string> = new Set(record.rights)): Principal {
  return { tenantId: record.tenantId, tokenId: record.id, rights, ...(record.userId ? { userId: record.userId } : {}) };
}

/** Issues, verifies and revokes bearer tokens. Tokens are stored as SHA-256 and shown once. */
export function tokensService(db: Db) {
  return {
    /** Mints a token; the returned `token` is the only time the secret exists outside the caller. */
    async issueToken(input: IssueTokenInput): Promise<{ token: string; record: TokenRecord }> {
      const rights = input.rights.flatMap((r) => (r === 'all' ? [...RIGHTS] : [r]));
      const unknown = rights.filter((r) => !isRight(r));
      if (unknown.length) throw new InvalidInput(`unknown rights: ${unknown.join(', ')} (known: ${RIGHTS.join(', ')}, or "all")`);
      if (!input.name.trim()) throw new InvalidInput('a token needs a name');
      if (input.userId) {
        const user = isUuid(input.userId) ? await findUserById(db, input.tenantId, input.userId) : undefined;
        if (!user) throw new InvalidInput(`user ${input.userId} is not a user of this tenant`);
        // A token acting as a deactivated user would be refused on every request (tokens.repository.ts).
        if (!user.active) throw new InvalidInput(`user ${input.userId} is deactivated`);
      }
      const token = generateToken();
      const record = await insertToken(db, {
        tenantId: input.tenantId,
        name: input.name,
        kind: 'token',
        tokenHash: hashToken(token),
        rights: [...new Set(rights)],
        userId: input.userId ?? null,
        expiresAt: input.expiresInMs === undefined ? null : new Date(Date.now() + input.expiresInMs),
      });
      return { token, record };
    },

    /**
     * The principal for a presented token, or undefined when it is unknown, revoked or expired.
     * A warm bearer or OAuth access token is answered from the in-process cache without SQL
     * (see token-cache.ts for why that stays exact); sessions are always looked up, their rights
     * come from the user's groups at the time of the request.
     */
    async verifyToken(token: string): Promise<Principal | undefined> {
      if (token.length > 512) return undefined;
      const hash = hashToken(token);
      const runtime = tokenRuntimeOf(db);
      const cached = runtime.cache.get(hash);
      if (cached) {
        runtime.usage.used(cached.id);
        return principalOf(cached);
      }
      const epoch = runtime.cache.epoch;
      const record = await findLiveTokenByHash(db, hash);
      if (!record) {
        // CASE: a started but unauthenticated session throws SessionNotAuthenticated (still a 401 outside the session dialect).
        await assertNotPendingSession(db, hash);
        return undefined;
      }
      runtime.usage.used(record.id);
      if (record.kind !== 'session') {
        runtime.cache.set(hash, record, epoch);
        return principalOf(record);
      }
      // CASE: a session's rights are the union of the system rights of its user's groups, read now.
      const session = record.userId ? await resolveSessionRights(db, record.tenantId, record.userId) : undefined;
      return session ? principalOf(record, session.rights) : undefined;
    },

    listTokens: (tenantId?: string): Promise<TokenRecord[]> => findTokens(db, tenantId),

    /** Revokes by id or by name; returns once this instance has heard the change announced (see token-runtime.ts). */
    async revokeToken(where: { id?: string; tenantId?: string; name?: string }): Promise<number> {
      let announced: Promise<void> = Promise.resolve();
      // In a transaction, so that the wait for the announcement is in place before it is sent.
      const ids = await inTransaction(db, async (trx) => {
        const { ids, accessTokenIds } = await revokeTokens(trx, where);
        const all = [...ids, ...accessTokenIds];
        if (all.length) announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, all);
        return ids;
      });
      await announced;
      return ids.length;
    },
  };
}

export type TokensService = ReturnType<typeof tokensService>;
