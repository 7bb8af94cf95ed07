import type { Logger } from 'pino';
import type { ChangesService } from '../domain/audit/changes.service';
import type { RateLimitStore } from '../domain/ratelimit/rate-limit';

export interface HousekeepingResult {
  auditEvents: number;
  rateLimitBuckets: number;
}

export interface Housekeeping {
  /** One pass: prunes expired audit events and idle rate-limit buckets, in batches. */
  runOnce(): Promise<HousekeepingResult>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

/**
 * Background pruning on a timer (unref'd, so it never keeps the process alive). Every instance
 * runs it; the batched deletes skip rows another instance has locked, so they do not collide.
 */
export function startHousekeeping(opts: {
  changes: ChangesService;
  store: RateLimitStore;
  retentionDays: number;
  bucketIdleSeconds: number;
  logger: Logger;
  intervalMs?: number;
  firstRunMs?: number;
}): Housekeeping {
  const { changes, store, retentionDays, bucketIdleSeconds, logger } = opts;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async (): Promise<HousekeepingResult> => {
    const auditEvents = await changes.pruneAuditEvents(retentionDays);
    const rateLimitBuckets = await store.prune(bucketIdleSeconds);
    if (auditEvents || rateLimitBuckets) logger.info({ auditEvents, rateLimitBuckets, retentionDays }, 'housekeeping pruned rows');
    return { auditEvents, rateLimitBuckets };
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .catch((err: unknown) => logger.warn({ err }, 'housekeeping failed; retrying at the next interval'))
        .finally(() => {
          running = undefined;
          schedule(opts.intervalMs ?? 3_600_000);
        });
    }, ms);
    timer.unref();
  };
  schedule(opts.firstRunMs ?? 60_000);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
