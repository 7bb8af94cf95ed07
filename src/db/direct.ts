import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { batchedSql, ReadLanes, rowsByPosition, type BatchedStatement } from './read-batches';
import { shapedStatement, type ShapeValues } from './shapes';
import { retryingConflicts, type Executor } from './transaction';

// pg's own wire-protocol serializer and value preparation (dates, arrays, JSON), used to talk to
// PGlite in one protocol round trip: both ship with pg, which Roster depends on.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serialize } = require('pg-protocol') as { serialize: ProtocolSerializer };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue(v: unknown): string | Buffer | null };

interface ProtocolSerializer {
  parse(m: { name: string; text: string; types: number[] }): Buffer;
  bind(m: { statement: string; values: (string | Buffer | null)[] }): Buffer;
  describe(m: { type: 'P' | 'S' }): Buffer;
  execute(m: Record<string, never>): Buffer;
  sync(): Buffer;
}

/** A connection of Knex's pool on PostgreSQL: a pg Client. */
interface PgConnection {
  query(config: { text: string; values: readonly unknown[]; name?: string }): Promise<{ rows: unknown[] }>;
}

/** The PGlite instance knex-pglite hands out as its one connection (its public protocol entry). */
interface PgliteConnection {
  execProtocol(message: Uint8Array): Promise<{ messages: ProtocolMessage[] }>;
  parsers: Record<number, (text: string, typeId: number) => unknown>;
}

interface ProtocolMessage {
  name: string;
  fields?: unknown[];
}

interface PooledClient<C> {
  config: { client?: unknown; preparedStatements?: boolean };
  pglite?: unknown;
  acquireConnection(): Promise<C>;
  releaseConnection(c: C): Promise<unknown>;
}

/** Which driver `db` runs on, when it is the database itself (not a transaction). */
function pooledDriver(db: Executor): 'pg' | 'pglite' | undefined {
  if ((db as Knex.Transaction).isTransaction) return undefined;
  const client = (db as Knex).client as PooledClient<unknown>;
  if (client.config.client === 'pg') return 'pg';
  return typeof client.pglite === 'object' && client.pglite !== null ? 'pglite' : undefined;
}

export interface StatementOptions {
  /**
   * Keep the statement prepared on every connection of the pool: the database parses it once
   * per connection instead of on every request, and after a few executions may keep one generic
   * plan instead of planning each time. Only for statements whose best plan does not depend on
   * their values (lookups and writes by primary or unique key, arrays of ids): never for
   * offsets, filters or ranges as such, where a generic plan can be far worse (measured: a
   * Groups v2 member page went from 0.6 ms to 82 ms on a generic plan), unless the statement is
   * written so that no plan can use them (findPeoplePageOfPlainGroup). Ignored in transactions,
   * and on PostgreSQL when PG_PREPARED_STATEMENTS is off.
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

/** The statements PGlite has prepared under our names (one set per PGlite instance). */
const pgliteParsed = new WeakMap<object, Set<string>>();

/**
 * One statement on PGlite in ONE protocol exchange (parse unless already prepared, bind,
 * describe, execute, sync), rows parsed with PGlite's own type parsers. PGlite's `query()` makes
 * six exchanges with the WASM backend per statement (it describes the statement first to
 * serialize the values by type); here the values go as text, typed by the server as usual.
 */
async function queryPglite<T>(pglite: PgliteConnection, sql: string, bindings: readonly unknown[], name: string | undefined): Promise<T[]> {
  let parsed = pgliteParsed.get(pglite);
  if (!parsed) pgliteParsed.set(pglite, (parsed = new Set()));
  const statement = name ?? '';
  const parts: Buffer[] = [];
  if (!name) parts.push(serialize.parse({ name: '', text: sql, types: [] }));
  else if (!parsed.has(name)) {
    // A named statement is prepared in an exchange of its own, so that it is known to exist
    // whatever happens to its first execution (a value of the wrong type, say).
    await pglite.execProtocol(Buffer.concat([serialize.parse({ name, text: sql, types: [] }), serialize.sync()]));
    parsed.add(name);
  }
  parts.push(serialize.bind({ statement, values: bindings.map((v) => prepareValue(v)) }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync());
  const { messages } = await pglite.execProtocol(Buffer.concat(parts));
  const description = messages.find((m) => m.name === 'rowDescription') as { fields: { name: string; dataTypeID: number }[] } | undefined;
  if (!description) return [];
  const columns = description.fields.map((f) => ({ name: f.name, typeId: f.dataTypeID, parse: pglite.parsers[f.dataTypeID] }));
  const rows: T[] = [];
  for (const m of messages) {
    if (m.name !== 'dataRow') continue;
    const row: Record<string, unknown> = {};
    const fields = m.fields as (string | null)[];
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i];
      const text = fields[i];
      row[c.name] = text === null ? null : c.parse ? c.parse(text, c.typeId) : text;
    }
    rows.push(row as T);
  }
  return rows;
}

/**
 * Runs one statement on the connection of Knex's own pool, outside Knex's query runner: on
 * PostgreSQL with pg's `query`, on PGlite in one protocol exchange (queryPglite). Knex's query
 * runner (query ids, events, response processing, error rewriting) costs about as much CPU as
 * the statement itself on a small indexed read (measured: ~50 µs of ~200 µs); the hot statements
 * skip it. Knex's `query` event is still emitted (with `direct: true`, and `prepared` when it
 * runs as a named statement, and `batch`, the number of lookups, when it runs several together) for
 * those who listen (statement counting in tests, debugging).
 */
async function runOnPool<T>(db: Knex, driver: 'pg' | 'pglite', sql: string, bindings: readonly unknown[], opts: StatementOptions, batch?: number): Promise<T[]> {
  const client = db.client as unknown as PooledClient<PooledConnection>;
  const name = preparedName(client, driver, sql, opts.prepared);
  const connection = await client.acquireConnection();
  try {
    try {
      return await execute<T>(db, driver, connection, sql, bindings, name, batch);
    } catch (err) {
      // Nothing ran: the server refused the prepared form itself. Stop using it and run unnamed.
      if (!forgetRefusedForm(client, sql, name, err)) throw err;
      return await execute<T>(db, driver, connection, sql, bindings, undefined, batch);
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

type PooledConnection = PgConnection & PgliteConnection;

/** The name `sql` runs under on `client`'s connections when it asks to be prepared, if it may. */
function preparedName(client: PooledClient<PooledConnection>, driver: 'pg' | 'pglite', sql: string, prepared: boolean | undefined): string | undefined {
  const allowed = driver === 'pglite' || client.config.preparedStatements === true;
  return prepared === true && allowed && !noPrepare.has(client) && !unnamed.has(sql) ? nameOf(sql) : undefined;
}

/**
 * After `err` from `sql` run as `name`: when the server refused the prepared form itself
 * (preparedFormFailed), stops using it (the statement's, or the pool's, prepared forms) and
 * answers true, so the caller runs it again unnamed.
 */
function forgetRefusedForm(client: PooledClient<PooledConnection>, sql: string, name: string | undefined, err: unknown): boolean {
  const failed = name ? preparedFormFailed(err) : undefined;
  if (failed === 'pool') noPrepare.add(client);
  else if (failed === 'statement') unnamed.add(sql);
  return failed !== undefined;
}

/** One statement on a connection of the pool, emitting Knex's `query` event (see runOnPool). */
function execute<T>(db: Knex, driver: 'pg' | 'pglite', connection: PooledConnection, sql: string, bindings: readonly unknown[], name: string | undefined, batch?: number): Promise<T[]> {
  if (db.listenerCount('query') > 0) db.emit('query', { sql, bindings, direct: true, prepared: name !== undefined, ...(batch ? { batch } : {}) });
  return driver === 'pg' ? connection.query({ text: sql, values: bindings, name }).then((r) => r.rows as T[]) : queryPglite<T>(connection, sql, bindings, name);
}

/**
 * The rows of one read statement (a query builder or a raw statement; not `.first()`), run
 * straight on the connection of Knex's pool when `db` is the database itself (see runOnPool).
 * Knex still builds the SQL and its bindings, and still owns the connections. In a transaction
 * the statement runs through Knex as usual.
 */
export async function readRows<T>(db: Executor, query: Knex.QueryBuilder | Knex.Raw, opts: StatementOptions = {}): Promise<T[]> {
  const driver = pooledDriver(db);
  if (!driver) {
    const result = (await query) as T[] | { rows: T[] };
    return Array.isArray(result) ? result : result.rows;
  }
  const { sql, bindings } = query.toSQL().toNative();
  return runOnPool<T>(db as Knex, driver, sql, bindings, opts);
}

/** A value of a shaped read that differs between lookups run together (read-batches.ts). */
export interface BatchBy {
  /** The value's name among the statement's values. */
  name: string;
  /** Its type in the statement (what PostgreSQL makes of its placeholder): `text`, `uuid`. */
  type: string;
}

/**
 * readRows for a statement whose text depends on its shape only (shapes.ts): `key` names that
 * shape, `values` what varies, `build` makes the statement from them. On the pool its text is
 * built once per shape; in a transaction it is built and run through Knex as usual. With
 * `batchBy`, lookups of the same statement and constants that differ only in that value and
 * arrive while it runs run together as one statement (read-batches.ts).
 */
export async function readShapedRows<T, V extends ShapeValues>(
  db: Executor,
  key: string,
  values: V,
  build: (values: V) => Knex.QueryBuilder | Knex.Raw,
  opts: StatementOptions & { batchBy?: BatchBy } = {},
): Promise<T[]> {
  const driver = pooledDriver(db);
  if (!driver) return readRows<T>(db, build(values), opts);
  const { sql, bindings, from } = shapedStatement(`${driver}:${key}`, values, build);
  const by = opts.batchBy;
  const value = by ? values[by.name] : undefined;
  const batched = by && from && typeof value === 'string' ? batchedForm(sql, from, by) : undefined;
  if (!batched) return runOnPool<T>(db as Knex, driver, sql, bindings, opts);
  return readInLane<T>(db as Knex, driver, { sql, bindings, from: from!, name: by!.name, batched }, value as string, opts);
}

/** A shaped lookup that may run with others: its text, bindings, which of them is the value, and its batched form. */
interface LaneStatement {
  sql: string;
  bindings: readonly unknown[];
  from: readonly (string | undefined)[];
  name: string;
  batched: BatchedStatement;
}

/** readShapedRows of a lookup through its lane (read-batches.ts): alone when the lane has room, else together. */
function readInLane<T>(db: Knex, driver: 'pg' | 'pglite', s: LaneStatement, value: string, opts: StatementOptions): Promise<T[]> {
  const alone = (v: string) => runOnPool<T>(db, driver, s.sql, s.bindings.map((b, i) => (s.from[i] === s.name ? v : b)), opts);
  const laneKey = `${driver}\u0000${s.sql}\u0000${JSON.stringify(s.bindings.map((b, i) => (s.from[i] === s.name ? null : b)))}`;
  return lanesOf(db, driver).read<T>(laneKey, value, {
    alone,
    together: async (vs) => {
      const runEach = () => Promise.allSettled(vs.map(alone));
      if (unbatchable.has(s.sql)) return runEach();
      try {
        const rows = await runOnPool<Record<string, unknown>>(db, driver, s.batched.sql, s.batched.bindings(s.bindings, vs), opts, vs.length);
        return rowsByPosition<T>(rows, vs.length).map((rowsOfOne) => ({ status: 'fulfilled', value: rowsOfOne }));
      } catch (err) {
        // CASE: no SQLSTATE (the connection failed): every lookup of the batch fails with it.
        const code = (err as { code?: unknown }).code;
        if (typeof code !== 'string') throw err;
        // CASE: the server refused the batched text itself (class 42: a type or a construct that
        // does not fit the rewriting): this statement runs alone from now on.
        if (code.startsWith('42')) unbatchable.add(s.sql);
        // Any error of the database: one value may have caused it (a text it cannot take), and it
        // is that lookup's error alone, so each runs alone and gets its own rows or error.
        return runEach();
      }
    },
  });
}

/** The lanes of each pool (read-batches.ts). */
const lanesByPool = new WeakMap<object, ReadLanes>();
function lanesOf(db: Knex, driver: 'pg' | 'pglite'): ReadLanes {
  let lanes = lanesByPool.get(db.client);
  if (!lanes) lanesByPool.set(db.client, (lanes = driver === 'pglite' ? new ReadLanes(1, true) : new ReadLanes()));
  return lanes;
}

/** Lookups running and waiting in the pool's lanes (for tests). */
export function readLaneCounts(db: Knex): { lanes: number; running: number; waiting: number } {
  return lanesByPool.get(db.client)?.counts() ?? { lanes: 0, running: 0, waiting: 0 };
}

/** Batched forms by value, type and statement text (null: it cannot be batched). */
const batchedForms = new Map<string, BatchedStatement | null>();
/** Statement texts whose batched form the server refused. */
const unbatchable = new Set<string>();

function batchedForm(sql: string, from: readonly (string | undefined)[], by: BatchBy): BatchedStatement | undefined {
  const key = `${by.name}\u0000${by.type}\u0000${sql}`;
  let form = batchedForms.get(key);
  if (form === undefined) {
    if (batchedForms.size >= MAX_NAMED) return undefined;
    const places = from.flatMap((name, i) => (name === by.name ? [i] : []));
    form = batchedSql(sql, from.length, places, by.type) ?? null;
    batchedForms.set(key, form);
  }
  return form ?? undefined;
}


/**
 * The rows of one raw statement (`?` placeholders), which may write: a statement that is a
 * transaction on its own. Outside a transaction it runs like readRows (and runs again when it lost
 * to a concurrent transaction: retryingConflicts); in one, through Knex. Errors are the driver's
 * (SQLSTATE and constraint kept) either way.
 */
export async function runStatement<T>(db: Executor, sql: string, bindings: readonly unknown[], opts: StatementOptions = {}): Promise<T[]> {
  const raw = db.raw(sql, bindings as Knex.RawBinding[]);
  const driver = pooledDriver(db);
  if (!driver) return ((await raw) as { rows: T[] }).rows;
  const native = raw.toSQL().toNative();
  return retryingConflicts(() => runOnPool<T>(db as Knex, driver, native.sql, native.bindings, opts));
}

/** A raw statement (`?` placeholders) for runInOneTransaction. */
export interface Statement {
  sql: string;
  bindings: readonly unknown[];
  /** As StatementOptions.prepared. */
  prepared?: boolean;
}

/**
 * Statements run in order in ONE transaction (BEGIN, the statements, COMMIT) on one connection of
 * Knex's pool, each kept prepared when it asks to be, as runStatement runs it alone. Each is sent
 * as the one before completes (in the same turn of the event loop: a promise continuation). If
 * one fails, the transaction is rolled back (nothing of any of them stays) and its error is
 * thrown, as the driver raised it; but when the server refused a prepared form itself (see
 * preparedFormFailed), the whole transaction runs again once with that statement, or the pool's
 * statements, unnamed. In a caller's transaction, or without a pool of ours, they run one after
 * another in a transaction of Knex's. A transaction that lost to a concurrent one (a deadlock)
 * runs again (retryingConflicts).
 */
export async function runInOneTransaction<T>(db: Executor, statements: readonly Statement[]): Promise<T[][]> {
  const driver = pooledDriver(db);
  if (!driver) {
    const run = async (trx: Executor) => {
      const out: T[][] = [];
      for (const s of statements) out.push(((await trx.raw(s.sql, s.bindings as Knex.RawBinding[])) as { rows: T[] }).rows);
      return out;
    };
    return (db as Knex.Transaction).isTransaction ? run(db) : retryingConflicts(() => (db as Knex).transaction(run));
  }
  return retryingConflicts(() => runPooledTransaction<T>(db as Knex, driver, statements));
}

/** runInOneTransaction on a connection of the pool: BEGIN, the statements, COMMIT. */
async function runPooledTransaction<T>(knexDb: Knex, driver: 'pg' | 'pglite', statements: readonly Statement[]): Promise<T[][]> {
  const client = knexDb.client as unknown as PooledClient<PooledConnection>;
  const connection = await client.acquireConnection();
  const run = (sql: string, bindings: readonly unknown[], name?: string) => execute<T>(knexDb, driver, connection, sql, bindings, name);
  try {
    for (let attempt = 1; ; attempt++) {
      let current: { sql: string; name?: string } | undefined;
      await run('BEGIN', []);
      try {
        const out: T[][] = [];
        for (const s of statements) {
          const { sql, bindings } = knexDb.raw(s.sql, s.bindings as Knex.RawBinding[]).toSQL().toNative();
          current = { sql, name: preparedName(client, driver, sql, s.prepared) };
          out.push(await run(sql, bindings, current.name));
        }
        current = undefined;
        await run('COMMIT', []);
        return out;
      } catch (err) {
        await run('ROLLBACK', []).catch(() => undefined);
        // As in runOnPool, but for the whole transaction, once (nothing of the first attempt stayed).
        if (attempt > 1 || !current || !forgetRefusedForm(client, current.sql, current.name, err)) throw err;
      }
    }
  } finally {
    await client.releaseConnection(connection);
  }
}
