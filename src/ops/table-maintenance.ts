import type { Logger } from 'pino';
import type { Db } from '../db/knex';

/**
 * PostgreSQL's autovacuum daemon keeps each table's planner statistics and visibility map up to
 * date; embedded PGlite runs no such daemon, so there the planner worked from defaults forever
 * (one example: it walked a group hierarchy by scanning every group membership once per level)
 * and index-only scans visited the heap for every row. On PGlite, Roster does the daemon's job
 * for its own tables on a timer: `VACUUM (ANALYZE)` of each table that grew since it was last
 * measured. ANALYZE samples a bounded number of rows and VACUUM skips the pages it already
 * found all-visible, so a pass over a million users takes about half a second (measured on
 * PGlite), and passes over unchanged tables do nothing.
 */

/** A table is measured again when it has grown by this share (or by a page) since last time. */
const GROWTH = 0.2;

/**
 * Tables of the current schema that were never measured, or whose size on disk grew past the
 * page count their last VACUUM or ANALYZE recorded. Knex's own bookkeeping tables are left out.
 */
export async function tablesToMaintain(db: Db): Promise<string[]> {
  const result = await db.raw(
    `SELECT c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname NOT LIKE 'knex\\_%'
        AND pg_relation_size(c.oid) > 0
        AND (c.reltuples < 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > c.relpages * (1 + ?::float8) + 1)
      ORDER BY c.relname`,
    [GROWTH],
  );
  return (result.rows as { name: string }[]).map((r) => r.name);
}

/** One pass: vacuums and analyzes the tables that need it; returns their names. */
export async function maintainTables(db: Db): Promise<string[]> {
  const tables = await tablesToMaintain(db);
  // One statement per table, so other queries on the single connection get their turn between them.
  for (const table of tables) await db.raw('VACUUM (ANALYZE) ??', [table]);
  return tables;
}

export interface TableMaintenance {
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/** Runs `maintainTables` shortly after start and then every `intervalMs` (timer unref'd). */
export function startTableMaintenance(opts: { db: Db; logger: Logger; intervalMs: number; firstRunMs?: number }): TableMaintenance {
  const { db, logger, intervalMs } = opts;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = Date.now();
      running = maintainTables(db)
        .then((tables) => {
          if (tables.length) logger.debug({ tables, ms: Date.now() - started }, 'tables vacuumed and analyzed');
        })
        .catch((err: unknown) => logger.warn({ err }, 'table maintenance failed; retrying at the next interval'))
        .finally(() => {
          running = undefined;
          schedule(intervalMs);
        });
    }, ms);
    timer.unref();
  };
  schedule(opts.firstRunMs ?? 1_000);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
