import type { Db } from '../../db/knex';
import { deleteIdleBuckets, reconcileBuckets, takeBucketToken } from './buckets.repository';
import { verdictOf, type RateLimitStore } from './rate-limit';

/** Buckets in the `rate_limit_buckets` table: the default, needs nothing but the database. */
export function postgresRateLimitStore(db: Db): RateLimitStore {
  return {
    kind: 'postgres',
    async take(key, limit) {
      const { allowed, tokens } = await takeBucketToken(db, key, limit.rps, limit.burst);
      return verdictOf(allowed, tokens, limit);
    },
    async reconcile(batch) {
      // One statement per distinct limit (in practice one or two: tokens and addresses).
      const byLimit = new Map<string, typeof batch>();
      for (const r of batch) {
        const k = `${r.limit.rps}/${r.limit.burst}`;
        const group = byLimit.get(k);
        if (group) group.push(r);
        else byLimit.set(k, [r]);
      }
      const out = new Map<string, number>();
      for (const group of byLimit.values()) {
        for (const [key, tokens] of await reconcileBuckets(db, group[0].limit, group)) out.set(key, tokens);
      }
      return out;
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
