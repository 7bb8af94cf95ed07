import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Executor } from './transaction';

interface PgConnection {
  query(config: { text: string; values: readonly unknown[]; name?: string }): Promise<{ rows: unknown[] }>;
}

interface PooledClient {
  config: { client?: unknown; preparedStatements?: boolean };
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(c: PgConnection): Promise<unknown>;
}

/** Whether `db` is the database itself on PostgreSQL through `pg` (not a transaction, not PGlite). */
function isPooledPg(db: Executor): db is Knex {
  return !(db as Knex.Transaction).isTransaction && (db as Knex).client.config.client === 'pg';
}

export interface StatementOptions {
  /**
   * Keep the statement prepared on every connection of the pool: PostgreSQL parses it once per
   * connection instead of on every request, and after a few executions may keep one generic plan
   * instead of planning each time. Only for statements whose best plan does not depend on their
   * values (lookups and writes by primary or unique key, arrays of ids): never for offsets,
   * filters or ranges, where a generic plan can be far worse (measured: a Groups v2 member page
   * went from 0.6 ms to 82 ms on a generic plan). Ignored in transactions and on PGlite, and
   * when PG_PREPARED_STATEMENTS is off.
   */
  prepared?: boolean;
}

/** At most this many distinct statement texts get a name; the rest run unnamed. */
const MAX_NAMED = 256;
const names = new Map<string, string>();
/** Texts that must run unnamed from now on (their prepared form stopped working). */
const unnamed = new Set<string>();
/** Pools whose server turned out not to keep prepared statements (a pooler in between). */
const noPrepare = new WeakSet<object>();

/** The name of a statement text: the same on every connection, different for any other text. */
function nameOf(text: string): string | undefined {
  const known = names.get(text);
  if (known !== undefined || names.size >= MAX_NAMED) return known;
  const name = `roster_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  names.set(text, name);
  return name;
}

/**
 * Errors raised before a prepared statement ran, after which the same statement runs unnamed:
 * `0A000` "cached plan must not change result type" (a migration changed the columns a
 * statement returns while this process kept its prepared form), `26000` "prepared statement
 * does not exist" and `42P05` "already exists" (a transaction-mode pooler between us and the
 * server hands each statement to another server connection).
 */
function preparedFormFailed(err: unknown): 'statement' | 'pool' | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === '0A000' && /cached plan must not change result type/.test(String((err as Error).message))) return 'statement';
  if (code === '26000' || code === '42P05') return 'pool';
  return undefined;
}

/**
 * Runs one statement on a connection of Knex's own pool (PostgreSQL outside a transaction).
 * Knex's query runner (query ids, events, response processing, error rewriting) costs about as
 * much CPU as the statement itself on a small indexed read (measured: ~50 µs of ~200 µs); the
 * hot statements skip it. Knex's `query` event is still emitted (with `direct: true`, and
 * `prepared` when it runs as a named statement) for those who listen (statement counting in
 * tests, debugging).
 */
async function runOnPool<T>(db: Knex, sql: string, bindings: readonly unknown[], opts: StatementOptions): Promise<T[]> {
  const client = db.client as unknown as PooledClient;
  const prepare = opts.prepared === true && client.config.preparedStatements === true && !noPrepare.has(client) && !unnamed.has(sql);
  const name = prepare ? nameOf(sql) : undefined;
  if (db.listenerCount('query') > 0) db.emit('query', { sql, bindings, direct: true, prepared: name !== undefined });
  const connection = await client.acquireConnection();
  try {
    try {
      return (await connection.query({ text: sql, values: bindings, name })).rows as T[];
    } catch (err) {
      const failed = name ? preparedFormFailed(err) : undefined;
      if (!failed) throw err;
      // Nothing ran: the server refused the prepared form itself. Stop using it and run unnamed.
      if (failed === 'pool') noPrepare.add(client);
      else unnamed.add(sql);
      return (await connection.query({ text: sql, values: bindings })).rows as T[];
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * The rows of one read statement (a query builder or a raw statement; not `.first()`), run
 * straight on a connection of Knex's pool when `db` is PostgreSQL outside a transaction (see
 * runOnPool). Knex still builds the SQL and its bindings, and still owns the connections. In a
 * transaction or on PGlite the statement runs through Knex as usual.
 */
export async function readRows<T>(db: Executor, query: Knex.QueryBuilder | Knex.Raw, opts: StatementOptions = {}): Promise<T[]> {
  if (!isPooledPg(db)) {
    const result = (await query) as T[] | { rows: T[] };
    return Array.isArray(result) ? result : result.rows;
  }
  const { sql, bindings } = query.toSQL().toNative();
  return runOnPool<T>(db, sql, bindings, opts);
}

/**
 * The rows of one raw statement (`?` placeholders), which may write: a statement that is a
 * transaction on its own. On PostgreSQL outside a transaction it runs like readRows; otherwise
 * through Knex. Errors are the driver's (SQLSTATE and constraint kept) either way.
 */
export async function runStatement<T>(db: Executor, sql: string, bindings: readonly unknown[], opts: StatementOptions = {}): Promise<T[]> {
  const raw = db.raw(sql, bindings as Knex.RawBinding[]);
  if (!isPooledPg(db)) return ((await raw) as { rows: T[] }).rows;
  const native = raw.toSQL().toNative();
  return runOnPool<T>(db, native.sql, native.bindings, opts);
}
