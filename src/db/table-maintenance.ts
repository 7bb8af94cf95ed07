import type { Logger } from 'pino';
import type { Db } from './knex';

/**
 * PostgreSQL's autovacuum daemon keeps each table's planner statistics and visibility map up to
 * date and freezes old rows before transaction ids wrap around; embedded PGlite runs no such
 * daemon. There the planner worked from defaults forever, index-only scans visited the heap for
 * every row, and a busy instance would, after about two billion write transactions, reach the
 * wraparound limit at which PostgreSQL stops accepting writes. On PGlite, Roster does the
 * daemon's job on a timer: `VACUUM (ANALYZE)` of each of its tables that was never measured or
 * grew by a fifth since, and `VACUUM` of any table (system catalogs included) whose oldest
 * unfrozen transaction id is older than `vacuum_freeze_table_age`, which makes that VACUUM
 * freeze it. ANALYZE samples a bounded number of rows and VACUUM skips the pages it already
 * found all-visible: a pass over a million users took about half a second on PGlite, and
 * passes with nothing to do cost one catalog query.
 */

/** A table is measured again when it has grown by this share (or by a page) since last time. */
const GROWTH = 0.2;

/**
 * What a pass would do, in order: Roster's tables that were never measured or outgrew the page
 * count their last VACUUM or ANALYZE recorded (to analyze), and tables whose transaction ids
 * are older than `freezeAge` (default: the server's vacuum_freeze_table_age; to freeze). Knex's
 * own bookkeeping tables are only ever frozen.
 */
export async function tablesToMaintain(db: Db, opts: { freezeAge?: number } = {}): Promise<{ name: string; stale: boolean }[]> {
  const result = await db.raw(
    `SELECT name, stale FROM (
       SELECT format('%I.%I', n.nspname, c.relname) AS name,
              n.nspname = current_schema() AND c.relname NOT LIKE 'knex\\_%' AND pg_relation_size(c.oid) > 0
                AND (c.reltuples < 0 OR pg_relation_size(c.oid) / current_setting('block_size')::int > c.relpages * (1 + ?::float8) + 1) AS stale,
              age(c.relfrozenxid) > coalesce(?::int, current_setting('vacuum_freeze_table_age')::int) AS aged
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname IN (current_schema(), 'pg_catalog')
     ) t WHERE stale OR aged
     ORDER BY name`,
    [GROWTH, opts.freezeAge ?? null],
  );
  return result.rows as { name: string; stale: boolean }[];
}

/** One pass: vacuums (and analyzes) the tables that need it; returns their names. */
export async function maintainTables(db: Db, opts: { freezeAge?: number } = {}): Promise<string[]> {
  const tables = await tablesToMaintain(db, opts);
  // One statement per table, so other queries on the single connection get their turn between them.
  // The names come from format('%I.%I'), quoted as identifiers.
  for (const t of tables) await db.raw(`VACUUM ${t.stale ? '(ANALYZE) ' : ''}${t.name}`);
  return tables.map((t) => t.name);
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
          if (tables.length) logger.debug({ tables, ms: Date.now() - started }, 'tables vacuumed');
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
