import type { Knex } from 'knex';
import { setTimeout as sleep } from 'node:timers/promises';
import { translateDbError } from './pg-errors';

/** A query executor: the database itself or an open transaction. Services pass it opaquely. */
export type Executor = Knex | Knex.Transaction;

/**
 * SQLSTATEs of a transaction PostgreSQL rolled back because of a concurrent one (deadlock
 * detected, serialization failure): nothing of it stayed, and the same work run again succeeds
 * or fails on its own merits.
 */
const CONFLICTS = new Set(['40P01', '40001']);

/** Runs of a transaction that lost to a concurrent one, before its error goes to the client. */
export const CONFLICT_ATTEMPTS = 4;

export function isConcurrencyConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && CONFLICTS.has((err as { code?: string }).code ?? '');
}

/**
 * Runs `run` (a whole transaction) again when PostgreSQL rolled it back for a concurrent one,
 * after a short random pause that grows with each attempt, up to CONFLICT_ATTEMPTS runs. Two
 * writers that lock the same rows in opposite orders (deleting a user while adding it to a
 * group, nesting two groups in each other at once) deadlock; PostgreSQL cancels one, and that
 * one is run again instead of answering 500.
 */
export async function retryingConflicts<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= CONFLICT_ATTEMPTS || !isConcurrencyConflict(err)) throw err;
      await sleep(Math.round(Math.random() * 10 * 2 ** attempt));
    }
  }
}

/**
 * Runs fn in a transaction: joins the caller's transaction when `db` already is one, otherwise
 * opens one and commits or rolls back around fn, running it again when it lost to a concurrent
 * transaction (retryingConflicts). Database errors leave as domain errors.
 */
export async function inTransaction<T>(db: Executor, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return fn(db as Knex.Transaction);
  try {
    return await retryingConflicts(() => (db as Knex).transaction(fn));
  } catch (err) {
    throw translateDbError(err);
  }
}
