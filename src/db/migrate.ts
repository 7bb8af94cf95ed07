import type { Logger } from 'pino';
import type { DbConfig } from '../config';
import { createDb, type Db } from './knex';

/**
 * Runs the pending migrations (MIGRATE_ON_START). On PostgreSQL with a statement timeout they run
 * through a connection of their own without it, as `npm run migrate` does (knexfile.ts): an index
 * build on a big table may take longer than any request should.
 */
export async function migrateLatest(dbConfig: DbConfig, db: Db, logger: Pick<Logger, 'info'>): Promise<string[]> {
  const migrator = dbConfig.kind === 'postgres' && dbConfig.statementTimeoutMs > 0 ? createDb({ ...dbConfig, statementTimeoutMs: 0, poolMax: 1 }) : db;
  try {
    const [, applied] = (await migrator.migrate.latest()) as [unknown, string[]];
    if (applied.length) logger.info({ migrations: applied }, 'migrations applied');
    return applied;
  } finally {
    if (migrator !== db) await migrator.destroy();
  }
}
