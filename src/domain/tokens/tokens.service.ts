import type { Db } from '../../db/knex';
import { resolveSessionRights } from '../access/access.service';
import { InvalidInput } from '../errors';
import type { Principal } from '../principal';
import { isUuid } from '../ids';
import { isRight, RIGHTS } from '../rights';
import { findUserById } from '../users/users.repository';
import { assertNotPendingSession } from '../sessions/sessions.service';
import { generateToken, hashToken, type TokenRecord } from './token';
import { findLiveTokenByHash, findTokens, insertToken, revokeTokens, touchToken } from './tokens.repository';

export interface IssueTokenInput {
  tenantId: string;
  name: string;
  rights: string[];
  userId?: string | null;
  expiresInMs?: number;
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
      if (input.userId && !(isUuid(input.userId) && (await findUserById(db, input.tenantId, input.userId)))) {
        throw new InvalidInput(`user ${input.userId} is not a user of this tenant`);
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

    /** The principal for a presented token, or undefined when it is unknown, revoked or expired. */
    async verifyToken(token: string): Promise<Principal | undefined> {
      if (token.length > 512) return undefined;
      const hash = hashToken(token);
      const record = await findLiveTokenByHash(db, hash);
      if (!record) {
        // CASE: a started but unauthenticated session throws SessionNotAuthenticated (still a 401 outside the session dialect).
        await assertNotPendingSession(db, hash);
        return undefined;
      }
      touchToken(db, record.id).catch(() => undefined);
      // CASE: a session's rights are the union of the system rights of its user's groups, read now.
      const session = record.kind === 'session' && record.userId ? await resolveSessionRights(db, record.tenantId, record.userId) : undefined;
      if (record.kind === 'session' && !session) return undefined;
      return {
        tenantId: record.tenantId,
        tokenId: record.id,
        rights: session ? session.rights : new Set(record.rights),
        ...(record.userId ? { userId: record.userId } : {}),
      };
    },

    listTokens: (tenantId?: string): Promise<TokenRecord[]> => findTokens(db, tenantId),

    revokeToken: (where: { id?: string; tenantId?: string; name?: string }): Promise<number> => revokeTokens(db, where),
  };
}

export type TokensService = ReturnType<typeof tokensService>;
