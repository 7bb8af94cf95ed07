import path from 'node:path';
import fs from 'node:fs';
import { knex, Knex } from 'knex';
import { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';

// The contrib entry point ships ESM types only; its CommonJS build loads fine at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm') as { pg_trgm: object };
import { ConfigError, type DbConfig } from '../config';

export type Db = Knex;

/** Where the compiled or source migrations live, relative to this file (works from dist/ too). */
export const migrationsDir = path.resolve(__dirname, '..', '..', 'migrations');
export const seedsDir = path.resolve(__dirname, '..', '..', 'seeds');
/**
 * The project root (where package.json is), from src/db or dist/src/db: relative PGLITE_DIR
 * values resolve against it, so the server, the CLI and the knex tool (which changes into
 * dist/) all open the same data directory.
 */
const projectRoot = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..', '..', '..')].find((d) =>
  fs.existsSync(path.join(d, 'package.json')),
) as string;
const ext = path.extname(__filename) === '.ts' ? '.ts' : '.js';

/** Where Knex's own warnings go (replaced by the server with its pino logger). */
export const knexLog: { warn: (message: unknown) => void } = {
  warn: (message) => process.stderr.write(`knex: ${typeof message === 'string' ? message : JSON.stringify(message)}\n`),
};

/** Knex settings for a database config: PostgreSQL through pg, or embedded PGlite. */
export function knexConfig(db: DbConfig): Knex.Config {
  const common: Partial<Knex.Config> = {
    migrations: { directory: migrationsDir, loadExtensions: [ext], tableName: 'knex_migrations' },
    seeds: { directory: seedsDir, loadExtensions: [ext] },
    acquireConnectionTimeout: 30_000,
    // Knex would print warnings to stdout; errors reach callers as exceptions anyway.
    log: { warn: knexLog.warn, error: knexLog.warn, deprecate: knexLog.warn, debug: () => undefined },
  };
  if (db.kind === 'postgres') {
    return {
      ...common,
      // CASE: when the database stops answering (a network partition, not a refusal), every pooled
      // connection hangs and new requests queue for one: 30 s of waiting outlived Heroku's router
      // (which answers its own 503 at 30 s). 10 s gives the dialect's 503 first; a pool that busy
      // with a healthy database is saturated anyway.
      acquireConnectionTimeout: 10_000,
      client: 'pg',
      connection: {
        connectionString: db.url,
        ssl: db.ssl,
        application_name: 'roster',
        // An unreachable server fails a connection attempt in bounded time (pg waits forever by
        // default), and dead peers are noticed on idle pooled connections.
        connectionTimeoutMillis: 5_000,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        // Sent as a startup parameter; each Execute of a cursor is timed on its own.
        ...(db.statementTimeoutMs > 0 ? { statement_timeout: db.statementTimeoutMs } : {}),
      },
      pool: {
        min: 0,
        max: db.poolMax,
        // CASE: JIT compilation pays off for long analytical queries, never for ours: a statement the
        // planner overestimates (a filter with many terms) spent seconds compiling before it ran
        // (the probe: 16 s of a 19.5 s search). Off for the service's connections; a server
        // without the setting (before PostgreSQL 11) is left as it is.
        afterCreate: (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) => {
          conn.query("DO $$ BEGIN PERFORM set_config('jit', 'off', false); EXCEPTION WHEN OTHERS THEN NULL; END $$", (err) => done(err, conn));
        },
      },
      // Read by src/db/direct.ts (Knex keeps its config object as given).
      preparedStatements: db.preparedStatements,
    } as Knex.Config;
  }
  const dir = db.dir === 'memory://' ? 'memory://' : path.resolve(projectRoot, db.dir);
  if (dir !== 'memory://') fs.mkdirSync(dir, { recursive: true });
  // CASE: Knex calls a function `connection` more than once; a second PGlite on the same data
  // directory corrupts it. One instance per Knex instance, created on first use.
  let instance: PGlite | undefined;
  return {
    ...common,
    // One connection serves every query in turn, and opening a fresh data directory (WASM start,
    // initdb, migrations) can take tens of seconds on a loaded machine: wait longer for it.
    acquireConnectionTimeout: 120_000,
    client: ClientPgLite as unknown as Knex.Config['client'],
    dialect: 'postgres',
    connection: () => ({ pglite: (instance ??= new PGlite(dir, { extensions: { pg_trgm } as never })) }) as object,
  } as Knex.Config;
}

/**
 * The same database without the service's statement timeout: for migrations (an index build may
 * take longer than any request should) and the operator commands.
 */
export function withoutStatementTimeout(db: DbConfig): DbConfig {
  return db.kind === 'postgres' ? { ...db, statementTimeoutMs: 0 } : db;
}

/** Whether a process runs (EPERM: it does, as another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds an embedded database's data directory for this process, with a `roster.pid` file in it:
 * PGlite is single-process, and a second process on the same directory (a second server, or the
 * CLI while the server runs) lost acknowledged writes or crashed in WASM. A file whose process is
 * gone is taken over. Returns the release (also run at exit).
 */
export function holdDataDir(db: DbConfig): () => void {
  if (db.kind !== 'pglite' || db.dir === 'memory://') return () => undefined;
  const dir = path.resolve(projectRoot, db.dir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'roster.pid');
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && running(holder)) {
        const who = holder === process.pid ? 'this process already' : `process ${holder}`;
        throw new ConfigError(`the embedded database in ${dir} is in use by ${who}: PGlite is single-process, so stop that process first (or use PostgreSQL, DATABASE_URL, for several)`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}

/** Opens the database; the caller owns it and must destroy it (which lets go of an embedded one's directory). */
export function createDb(db: DbConfig): Db {
  const release = holdDataDir(db);
  let instance: Db;
  try {
    instance = knex(knexConfig(db));
  } catch (err) {
    release();
    throw err;
  }
  const destroy = instance.destroy.bind(instance);
  // Knex defines `destroy` read-only (but configurable).
  Object.defineProperty(instance, 'destroy', {
    configurable: true,
    value: (callback?: (err?: unknown) => void) => {
      const done = destroy().finally(release);
      if (callback) done.then(() => callback(), callback);
      return done;
    },
  });
  return instance;
}
