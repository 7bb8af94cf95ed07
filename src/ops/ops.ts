import type { Logger } from 'pino';
import type { Deps } from '../container';
import { changesService, type ChangesService } from '../domain/audit/changes.service';
import { postgresRateLimitStore } from '../domain/ratelimit/postgres.store';
import { idleSecondsFor, type RateLimitStore } from '../domain/ratelimit/rate-limit';
import { redisRateLimitStore } from '../domain/ratelimit/redis.store';
import { startHousekeeping, type Housekeeping } from './housekeeping';
import { createMetrics, type Metrics } from './metrics';
import { startTableMaintenance, type TableMaintenance } from '../db/table-maintenance';

/**
 * What operating one instance needs beyond the services: metrics, the rate-limit store and the
 * background pruning. Built once per app; `close()` releases what it holds (the Redis connection).
 */
export interface Ops {
  metrics: Metrics;
  rateLimitStore: RateLimitStore;
  changes: ChangesService;
  /**
   * Starts background pruning, and on PGlite the table maintenance PostgreSQL's autovacuum would
   * do (the server does; tests call `runOnce` and `maintainTables` of their own).
   */
  startHousekeeping(logger: Logger, timing?: { intervalMs?: number; firstRunMs?: number }): Housekeeping;
  close(): Promise<void>;
}

export function createOps(deps: Deps, opts: { rateLimitStore?: RateLimitStore } = {}): Ops {
  const { config, db } = deps;
  const store = opts.rateLimitStore ?? (config.ops.redisUrl ? redisRateLimitStore(config.ops.redisUrl) : postgresRateLimitStore(db));
  const changes = changesService(db);
  let housekeeping: Housekeeping | undefined;
  let maintenance: TableMaintenance | undefined;
  return {
    metrics: createMetrics(db),
    rateLimitStore: store,
    changes,
    startHousekeeping(logger, timing = {}) {
      housekeeping ??= startHousekeeping({
        changes,
        store,
        retentionDays: config.ops.auditRetentionDays,
        bucketIdleSeconds: idleSecondsFor([config.ops.rateLimit, config.ops.rateLimitUnauth]),
        logger,
        ...timing,
      });
      if (config.db.kind === 'pglite' && config.db.vacuumIntervalSeconds > 0) {
        maintenance ??= startTableMaintenance({ db, logger, intervalMs: config.db.vacuumIntervalSeconds * 1000 });
      }
      return housekeeping;
    },
    async close() {
      await housekeeping?.stop();
      await maintenance?.stop();
      await store.close();
    },
  };
}
