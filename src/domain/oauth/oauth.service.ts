import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { InvalidInput, NotFound, Unauthenticated } from '../errors';
import { isUuid } from '../ids';
import { isRight, RIGHTS } from '../rights';
import { generateToken, hashToken } from '../tokens/token';
import { tokenRuntimeOf } from '../tokens/token-runtime';
import { insertToken, revokeTokens } from '../tokens/tokens.repository';
import { findActiveSecretHashes, findClient, insertSecret, revokeAccessTokens, revokeOlderSecrets } from './oauth.repository';

/** At most this many secrets of one client are active at once (rotation without downtime). */
export const MAX_ACTIVE_SECRETS = 2;

const newSecret = () => `rsc_${randomBytes(32).toString('base64url')}`;

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4). A client carries a tenant and rights; the access
 * tokens it obtains carry the same, expire after `ttlSeconds`, and are stored hashed like every
 * other token. Secrets are shown once and stored as SHA-256.
 */
export function oauthService(db: Db, ttlSeconds: number) {
  return {
    /** Registers a client; returns its id and first secret (the only time the secret is shown). */
    async createClient(tenantId: string, name: string, rights: string[]): Promise<{ clientId: string; clientSecret: string }> {
      const expanded = rights.flatMap((r) => (r === 'all' ? [...RIGHTS] : [r]));
      const unknown = expanded.filter((r) => !isRight(r));
      if (unknown.length) throw new InvalidInput(`unknown rights: ${unknown.join(', ')}`);
      if (!name.trim()) throw new InvalidInput('a client needs a name');
      const clientSecret = newSecret();
      const clientId = await inTransaction(db, async (trx) => {
        const client = await insertToken(trx, {
          tenantId,
          name,
          kind: 'oauth_client',
          // The client row is never a bearer token: its hash is of a random value nobody holds.
          tokenHash: hashToken(generateToken()),
          rights: [...new Set(expanded)],
        });
        await insertSecret(trx, client.id, hashToken(clientSecret));
        return client.id;
      });
      return { clientId, clientSecret };
    },

    /** Adds a new secret; the previous one stays valid, older ones are revoked. */
    async rotateSecret(clientId: string): Promise<string> {
      if (!isUuid(clientId)) throw new NotFound('oauth client', clientId);
      const secret = newSecret();
      await inTransaction(db, async (trx) => {
        const client = await findClient(trx, clientId);
        if (!client || client.revoked_at) throw new NotFound('oauth client', clientId);
        await insertSecret(trx, clientId, hashToken(secret));
        await revokeOlderSecrets(trx, clientId, MAX_ACTIVE_SECRETS);
      });
      return secret;
    },

    /**
     * Revokes a client and every access token it obtained. The rows' triggers notify every
     * instance at commit; this one forgets its cached tokens as soon as the commit is done.
     */
    async revokeClient(clientId: string): Promise<void> {
      if (!isUuid(clientId)) throw new NotFound('oauth client', clientId);
      let announced: Promise<void> = Promise.resolve();
      await inTransaction(db, async (trx) => {
        const client = await findClient(trx, clientId);
        if (!client) throw new NotFound('oauth client', clientId);
        const revoked = await revokeTokens(trx, { id: clientId });
        const ids = [...revoked.ids, ...revoked.accessTokenIds, ...(await revokeAccessTokens(trx, clientId))];
        announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, ids);
      });
      // CASE: inside a caller's transaction the commit is still to come; the caller waits.
      if (!(db as { isTransaction?: boolean }).isTransaction) await announced;
    },

    /** Exchanges client credentials for an access token; any mismatch is Unauthenticated. */
    async issueAccessToken(clientId: string, clientSecret: string): Promise<{ accessToken: string; expiresIn: number; rights: string[] }> {
      const denied = () => new Unauthenticated('invalid client credentials');
      if (!isUuid(clientId) || !clientSecret || clientSecret.length > 512) throw denied();
      const client = await findClient(db, clientId);
      const presented = Buffer.from(hashToken(clientSecret), 'hex');
      const secrets = client ? await findActiveSecretHashes(db, clientId) : [];
      // Compare against every active secret in constant time, whatever matches.
      let ok = false;
      for (const s of secrets) ok = timingSafeEqual(Buffer.from(s.secret_hash, 'hex'), presented) || ok;
      if (!client || !ok || client.revoked_at || (client.expires_at && client.expires_at < new Date())) throw denied();
      const accessToken = generateToken();
      await insertToken(db, {
        tenantId: client.tenant_id,
        name: `oauth:${clientId}`,
        kind: 'oauth_access',
        tokenHash: hashToken(accessToken),
        rights: client.rights,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      });
      return { accessToken, expiresIn: ttlSeconds, rights: client.rights };
    },
  };
}

export type OauthService = ReturnType<typeof oauthService>;
