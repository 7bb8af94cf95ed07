import type { Executor } from '../../db/transaction';

/** A named signing secret (made by its migration), or undefined when the row is missing. */
export async function findSigningSecret(db: Executor, name: string): Promise<Buffer | undefined> {
  const row: { secret: string } | undefined = await db('signing_secrets').select('secret').where({ name }).first();
  return row ? Buffer.from(row.secret, 'base64') : undefined;
}
