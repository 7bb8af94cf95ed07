import type { Knex } from 'knex';
import { testContext } from './context';

/** Statements the authentication and rate limiting of a request issue (another concern's budget). */
const AUTH_TABLES = /api_tokens|rate_limit|login_attempts|signing_secrets/;

/**
 * Counts the SQL statements `fn` sends, BEGIN and COMMIT included, leaving out those of
 * authentication. Statements per request decide throughput (issue 7), so the write paths are
 * held to a budget here.
 */
export async function statementsOf(fn: () => Promise<unknown>): Promise<{ count: number; sql: string[] }> {
  const { db } = testContext();
  const sql: string[] = [];
  const listener = (q: Knex.Sql & { sql: string }) => {
    if (!AUTH_TABLES.test(q.sql)) sql.push(q.sql);
  };
  db.on('query', listener);
  try {
    await fn();
  } finally {
    db.removeListener('query', listener);
  }
  return { count: sql.length, sql };
}
