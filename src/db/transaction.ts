import type { Knex } from 'knex';
import { translateDbError } from './pg-errors';

/** A query executor: the database itself or an open transaction. Services pass it opaquely. */
export type Executor = Knex | Knex.Transaction;

/**
 * Runs fn in a transaction: joins the caller's transaction when `db` already is one, otherwise
 * opens one and commits or rolls back around fn. Database errors leave as domain errors.
 */
export async function inTransaction<T>(db: Executor, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return fn(db as Knex.Transaction);
  try {
    return await (db as Knex).transaction(fn);
  } catch (err) {
    throw translateDbError(err);
  }
}
