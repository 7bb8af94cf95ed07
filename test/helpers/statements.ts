import { testContext } from './context';

/** Statements the authentication and rate limiting of a request issue (another concern's budget). */
const AUTH_TABLES = /api_tokens|rate_limit|login_attempts|signing_secrets/;

/** A statement as Knex's `query` event reports it (`prepared`: run as a named statement by readRows). */
export interface SentQuery {
  sql: string;
  bindings: unknown[];
  prepared?: boolean;
}

/** The statements `fn` sends that `keep` selects, in order. */
export async function queriesOf(fn: () => Promise<unknown>, keep: (q: SentQuery) => boolean): Promise<SentQuery[]> {
  const { db } = testContext();
  const sent: SentQuery[] = [];
  const listener = (q: SentQuery) => {
    if (keep(q)) sent.push(q);
  };
  db.on('query', listener);
  try {
    await fn();
  } finally {
    db.removeListener('query', listener);
  }
  return sent;
}

/**
 * Counts the SQL statements `fn` sends, BEGIN and COMMIT included, leaving out those of
 * authentication. Statements per request decide throughput (issue 7), so the write paths are
 * held to a budget here.
 */
export async function statementsOf(fn: () => Promise<unknown>): Promise<{ count: number; sql: string[] }> {
  const sql = (await queriesOf(fn, (q) => !AUTH_TABLES.test(q.sql))).map((q) => q.sql);
  return { count: sql.length, sql };
}
