import type { Executor } from '../../db/transaction';

export interface ClientRow {
  id: string;
  tenant_id: string;
  name: string;
  rights: string[];
  revoked_at: Date | null;
  expires_at: Date | null;
}

export async function findClient(db: Executor, clientId: string): Promise<ClientRow | undefined> {
  return db('api_tokens').select('id', 'tenant_id', 'name', 'rights', 'revoked_at', 'expires_at').where({ id: clientId, kind: 'oauth_client' }).first();
}

/** Hashes of a client's active secrets, newest first. */
export async function findActiveSecretHashes(db: Executor, clientId: string): Promise<{ id: string; secret_hash: string }[]> {
  return db('oauth_client_secrets').select('id', 'secret_hash').where({ client_id: clientId }).whereNull('revoked_at').orderBy('created_at', 'desc').orderBy('id', 'desc');
}

export async function insertSecret(db: Executor, clientId: string, secretHash: string): Promise<void> {
  await db('oauth_client_secrets').insert({ client_id: clientId, secret_hash: secretHash });
}

/** Keeps the newest `keep` secrets active and revokes the rest. */
export async function revokeOlderSecrets(db: Executor, clientId: string, keep: number): Promise<number> {
  const active = await findActiveSecretHashes(db, clientId);
  const doomed = active.slice(keep).map((s) => s.id);
  if (!doomed.length) return 0;
  return db('oauth_client_secrets').whereIn('id', doomed).update({ revoked_at: db.fn.now() });
}

/** Revokes every live access token issued to a client; returns their ids. */
export async function revokeAccessTokens(db: Executor, clientId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('api_tokens').where({ kind: 'oauth_access', name: `oauth:${clientId}` }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }).returning('id');
  return rows.map((r) => r.id);
}
