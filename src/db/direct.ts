import type { Knex } from 'knex';
import type { Executor } from './transaction';

interface PgConnection {
  query(text: string, values: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

/** Whether `db` is the database itself on PostgreSQL through `pg` (not a transaction, not PGlite). */
function isPooledPg(db: Executor): db is Knex {
  return !(db as Knex.Transaction).isTransaction && (db as Knex).client.config.client === 'pg';
}

/**
 * The rows of one read statement (a query builder or a raw statement; not `.first()`), run
 * straight on a connection of Knex's own pool when `db` is PostgreSQL outside a transaction.
 * Knex's query runner (query ids, events, response processing, error rewriting) costs about as
 * much CPU as the statement itself on a small indexed read (measured: ~50 µs of ~200 µs); the
 * hot reads skip it. Knex still builds the SQL and its bindings, and still owns the connections.
 * In a transaction or on PGlite the statement runs through Knex as usual. Knex's `query` event
 * is still emitted (with `direct: true`) for those who listen.
 */
export async function readRows<T>(db: Executor, query: Knex.QueryBuilder | Knex.Raw): Promise<T[]> {
  if (!isPooledPg(db)) {
    const result = (await query) as T[] | { rows: T[] };
    return Array.isArray(result) ? result : result.rows;
  }
  const { sql, bindings } = query.toSQL().toNative();
  // Listeners of Knex's 'query' event (statement counting in tests, debugging) still see it.
  if (db.listenerCount('query') > 0) db.emit('query', { sql, bindings, direct: true });
  const client = db.client as { acquireConnection(): Promise<PgConnection>; releaseConnection(c: PgConnection): Promise<unknown> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query(sql, bindings)).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}
