import { Redis } from 'ioredis';
import { verdictOf, type RateLimitStore } from './rate-limit';

/** Both scripts start alike: the bucket's level and time, a new bucket being full (ARGV: rps, burst). */
const READ_BUCKET = `
local rps = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
`;

/**
 * The same bucket arithmetic as the PostgreSQL store, in one Lua script (atomic in Redis), with
 * Redis' own clock so instances with skewed clocks agree. A bucket expires once it would be full.
 */
const TAKE = `${READ_BUCKET}tokens = math.min(burst, tokens + math.max(0, now - ts) * rps)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rps) + 60)
return { allowed, tostring(tokens) }`;

/** Refill, subtract what an instance let through locally (floored at -burst), return the level. */
const RECONCILE = `${READ_BUCKET}local taken = tonumber(ARGV[3])
tokens = math.max(-burst, math.min(burst, tokens + math.max(0, now - ts) * rps) - taken)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(2 * burst / rps) + 60)
return tostring(tokens)`;

type WithTake = Redis & {
  rosterTake(key: string, rps: number, burst: number): Promise<[number, string]>;
  rosterReconcile(key: string, rps: number, burst: number, taken: number): Promise<string>;
};

/** Buckets in Redis (REDIS_URL): for deployments that would rather not write to PostgreSQL per request. */
export function redisRateLimitStore(url: string): RateLimitStore {
  const redis = new Redis(url, {
    // Fail fast: a rate limiter that waits for Redis would slow every request down.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 2000,
    keyPrefix: 'roster:rl:',
  }) as WithTake;
  redis.on('error', () => undefined); // reported by the callers' failed takes
  redis.defineCommand('rosterTake', { numberOfKeys: 1, lua: TAKE });
  redis.defineCommand('rosterReconcile', { numberOfKeys: 1, lua: RECONCILE });
  return {
    kind: 'redis',
    async take(key, limit) {
      const [allowed, tokens] = await redis.rosterTake(key, limit.rps, limit.burst);
      return verdictOf(allowed === 1, Number(tokens), limit);
    },
    async reconcile(batch) {
      // One pipelined round trip for the whole batch.
      const pipeline = redis.pipeline() as unknown as { rosterReconcile(...args: unknown[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
      for (const r of batch) pipeline.rosterReconcile(r.key, r.limit.rps, r.limit.burst, r.taken);
      const replies = (await pipeline.exec()) ?? [];
      const out = new Map<string, number>();
      replies.forEach(([err, tokens], i) => {
        if (err) throw err;
        out.set(batch[i].key, Number(tokens));
      });
      return out;
    },
    // Redis expires idle buckets by itself.
    prune: async () => 0,
    ready: () =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            redis.once('ready', () => resolve());
            redis.once('end', () => reject(new Error('redis connection ended')));
          }),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
