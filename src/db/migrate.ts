import fs from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError, type DbConfig } from '../config';
import { createDb, migrationsDir, type Db } from './knex';

/** The PostgreSQL advisory lock instances hold while they migrate (any constant of our own). */
export const MIGRATION_LOCK = 0x526f7374; // "Rost"

/**
 * Runs the pending migrations (MIGRATE_ON_START). On PostgreSQL they run through connections of
 * their own, without the statement timeout, as `npm run migrate` does (knexfile.ts): an index
 * build on a big table may take longer than any request should. One instance migrates at a time:
 * the others wait on an advisory lock, then find nothing left to do. (Two instances starting on a
 * new database both created Knex's lock table, both failed, and left it holding two rows, which
 * refused every later migration until someone ran `knex migrate:unlock`.)
 */
export async function migrateLatest(dbConfig: DbConfig, db: Db, logger: Pick<Logger, 'info'>): Promise<string[]> {
  if (dbConfig.kind !== 'postgres') return applyLatest(db, logger);
  const migrator = createDb({ ...dbConfig, statementTimeoutMs: 0, poolMax: 2 });
  try {
    // The lock is held by a connection taken out of the pool; the migrations run on the other.
    const holder = await migrator.client.acquireConnection();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        return await applyLatest(migrator, logger);
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      await migrator.client.releaseConnection(holder);
    }
  } finally {
    await migrator.destroy();
  }
}

async function applyLatest(db: Db, logger: Pick<Logger, 'info'>): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [unknown, string[]];
  if (applied.length) logger.info({ migrations: applied }, 'migrations applied');
  return applied;
}

/**
 * Readiness: the database answers and holds Roster's schema (`tenants`, which every migrated
 * database has); throws otherwise.
 */
export async function checkReady(db: Db): Promise<void> {
  await db.raw('select 1 from tenants limit 1');
}

/** A migration file's name without its extension: `.ts` under ts-node, `.js` once compiled. */
const stem = (name: string): string => name.replace(/\.(?:ts|js)$/, '');

/**
 * The migrations of this build that the database has not run, by name (extension aside, so a
 * database migrated by the compiled build and one migrated under ts-node read the same). Reads
 * only: unlike Knex's own `migrate.list()`, it creates no table on a database never migrated.
 */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const files = fs
    .readdirSync(migrationsDir)
    .filter((f) => /\.(?:ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map(stem)
    .sort();
  const done = (await db.schema.hasTable('knex_migrations')) ? new Set(((await db('knex_migrations').pluck('name')) as string[]).map(stem)) : new Set<string>();
  return files.filter((f) => !done.has(f));
}

/**
 * Refuses to serve from a database whose schema is behind this build (MIGRATE_ON_START off and
 * `npm run migrate` not run): every request would otherwise be a 500 about a missing table or column.
 */
export async function assertSchemaCurrent(db: Db): Promise<void> {
  const pending = await pendingMigrations(db);
  if (pending.length) {
    throw new SchemaBehindError(
      `the database schema is behind this build: ${pending.length} migration${pending.length === 1 ? '' : 's'} pending (${pending[0]}${pending.length > 1 ? ', …' : ''}). ` +
        'Run `npm run migrate` (on Heroku the release phase does; a server started with MIGRATE_ON_START=1 does too).',
    );
  }
}

/** A configuration error: the deployment skipped its migrations. */
export class SchemaBehindError extends ConfigError {}
