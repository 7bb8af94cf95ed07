import type { Db } from '../../db/knex';
import { deleteIdleBuckets, takeBucketToken } from './buckets.repository';
import { verdictOf, type RateLimitStore } from './rate-limit';

/** Buckets in the `rate_limit_buckets` table: the default, needs nothing but the database. */
export function postgresRateLimitStore(db: Db): RateLimitStore {
  return {
    kind: 'postgres',
    async take(key, limit) {
      const { allowed, tokens } = await takeBucketToken(db, key, limit.rps, limit.burst);
      return verdictOf(allowed, tokens, limit);
    },
    async prune(idleSeconds) {
      let total = 0;
      for (;;) {
        const n = await deleteIdleBuckets(db, idleSeconds, 1000);
        total += n;
        if (n < 1000) return total;
      }
    },
    ready: async () => undefined,
    close: async () => undefined,
  };
}
