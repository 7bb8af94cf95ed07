import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import { InvalidInput, NotFound } from '../errors';
import { isUuid } from '../ids';
import { oauthService } from '../oauth/oauth.service';
import { actorOf, type Principal } from '../principal';
import { tokenAuditView, type TokenRecord } from './token';
import { findLiveManagedTokenIdsByName, findManagedToken, findManagedTokenOwner, findManagedTokenPage } from './token-admin.repository';
import { tokenRuntimeOf } from './token-runtime';
import { revokeAccessTokensOf, revokeTokens } from './tokens.repository';
import { tokensService } from './tokens.service';

export interface NewManagedToken {
  kind: 'token' | 'oauth_client';
  name: string;
  rights: string[];
  userId?: string;
  expiresInSeconds?: number;
}

/** What the audit log keeps of a token: never a secret or a hash. */
const auditView = tokenAuditView;

/**
 * Token lifecycle for a tenant's administrators (the `admin` right) and the operator's `token`
 * command (operatorIn): list, mint and revoke bearer tokens and OAuth clients of the caller's
 * tenant. Secrets are returned once, by create. Every change writes its audit event in the same
 * transaction. `admin` is the tenant's superuser right, so an administrator may grant any right.
 */
export function tokenAdminService(db: Db, oauthTokenTtlSeconds: number) {
  const find = async (p: Principal, id: string, ex: Executor = db, lock = false): Promise<TokenRecord> => {
    const found = isUuid(id) ? await findManagedToken(ex, p.tenantId, id, lock) : undefined;
    if (!found) throw new NotFound('token', id);
    return found;
  };

  // Last uses are written in the background; this instance's pending ones go first, so what
  // an administrator reads here is up to date.
  const writeLastUses = () => tokenRuntimeOf(db).usage.flush();

  return {
    /** Which tenant a token or OAuth client is in, and its kind (the operator names tokens by id alone). */
    ownerOf: (id: string) => (isUuid(id) ? findManagedTokenOwner(db, id) : Promise.resolve(undefined)),

    /** The ids of a tenant's live tokens and clients with a name. */
    liveIdsNamed: (tenantId: string, name: string) => findLiveManagedTokenIdsByName(db, tenantId, name),

    async listTokens(p: Principal, page: { offset: number; limit: number }) {
      await writeLastUses();
      return findManagedTokenPage(db, p.tenantId, page.offset, page.limit);
    },

    async getToken(p: Principal, id: string) {
      await writeLastUses();
      return find(p, id);
    },

    /** Mints a token or registers an OAuth client; `secret` is the token or the client secret. */
    async createToken(p: Principal, input: NewManagedToken): Promise<{ record: TokenRecord; secret: string }> {
      if (input.kind === 'oauth_client' && (input.userId !== undefined || input.expiresInSeconds !== undefined)) {
        throw new InvalidInput('an OAuth client has no userId or expiry; its access tokens expire on their own', { field: 'kind' });
      }
      return inTransaction(db, async (trx) => {
        let id: string;
        let secret: string;
        if (input.kind === 'oauth_client') {
          const client = await oauthService(trx as unknown as Db, oauthTokenTtlSeconds).createClient(p.tenantId, input.name, input.rights);
          ({ clientId: id, clientSecret: secret } = client);
        } else {
          const issued = await tokensService(trx as unknown as Db).issueToken({
            tenantId: p.tenantId,
            name: input.name,
            rights: input.rights,
            userId: input.userId,
            expiresInMs: input.expiresInSeconds === undefined ? undefined : input.expiresInSeconds * 1000,
          });
          ({ token: secret } = issued);
          id = issued.record.id;
        }
        const record = (await findManagedToken(trx, p.tenantId, id)) as TokenRecord;
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'token.created', resourceType: 'token', resourceId: id, after: auditView(record) });
        return { record, secret };
      });
    },

    /**
     * Revokes a token, or an OAuth client with every access token it obtained. Takes effect on
     * the next request here (the cache is emptied once the transaction commits) and on other
     * instances as soon as the trigger's notification reaches them (token-listener.ts).
     * Revoking a revoked token changes nothing.
     */
    async revokeToken(p: Principal, id: string): Promise<void> {
      let announced: Promise<void> = Promise.resolve();
      await inTransaction(db, async (trx) => {
        const before = await find(p, id, trx, true);
        if (before.revokedAt) {
          // CASE: a client revoked before its access tokens were revoked with it: they go now.
          const leftover = before.kind === 'oauth_client' ? await revokeAccessTokensOf(trx, [id]) : [];
          if (leftover.length) announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, leftover);
          return;
        }
        if (before.kind === 'oauth_client') await oauthService(trx as unknown as Db, oauthTokenTtlSeconds).revokeClient(id);
        else await revokeTokens(trx, { id, tenantId: p.tenantId });
        const after = (await findManagedToken(trx, p.tenantId, id)) as TokenRecord;
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'token.revoked', resourceType: 'token', resourceId: id, before: auditView(before), after: auditView(after) });
        // The token's own row announces the change in every case (an OAuth client's row too).
        announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, [id]);
      });
      await announced;
    },
  };
}

export type TokenAdminService = ReturnType<typeof tokenAdminService>;
