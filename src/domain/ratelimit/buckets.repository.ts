import type { Executor } from '../../db/transaction';

/**
 * One atomic statement per request: refill the bucket for the time since its last use (capped
 * at the burst), then take a token when one is there. Concurrent requests on the same key
 * serialise on the row, so no instance can overspend.
 */
const TAKE = `
INSERT INTO rate_limit_buckets AS b (key, tokens, allowed, updated_at)
VALUES (:key, CAST(:burst AS float8) - 1, true, now())
ON CONFLICT (key) DO UPDATE SET
  allowed = LEAST(CAST(:burst AS float8), b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * CAST(:rps AS float8)) >= 1,
  tokens = LEAST(CAST(:burst AS float8), b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * CAST(:rps AS float8))
         - CASE WHEN LEAST(CAST(:burst AS float8), b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * CAST(:rps AS float8)) >= 1 THEN 1 ELSE 0 END,
  updated_at = now()
RETURNING allowed, tokens`;

export async function takeBucketToken(db: Executor, key: string, rps: number, burst: number): Promise<{ allowed: boolean; tokens: number }> {
  const { rows } = (await db.raw(TAKE, { key, rps, burst })) as { rows: { allowed: boolean; tokens: number | string }[] };
  return { allowed: rows[0].allowed, tokens: Number(rows[0].tokens) };
}

/**
 * Reports local takes of many buckets that share one limit, in one statement: refill each for
 * the time since its last update, subtract what was taken (floored at -burst), and return what
 * is left. A new bucket starts full. The INSERT carries `burst - taken` as its tokens, so the
 * update can recover `taken` from EXCLUDED without a second parameter per row. Rows are
 * visited in key order, so two instances reconciling overlapping keys cannot deadlock.
 */
const RECONCILE = `
INSERT INTO rate_limit_buckets AS b (key, tokens, allowed, updated_at)
SELECT u.k, GREATEST(-CAST(:burst AS float8), CAST(:burst AS float8) - u.n), true, now()
  FROM unnest(CAST(:keys AS text[]), CAST(:taken AS float8[])) AS u(k, n)
 ORDER BY u.k
ON CONFLICT (key) DO UPDATE SET
  tokens = GREATEST(-CAST(:burst AS float8),
    LEAST(CAST(:burst AS float8), b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.updated_at)::float8) * CAST(:rps AS float8))
    - (CAST(:burst AS float8) - EXCLUDED.tokens)),
  allowed = true,
  updated_at = now()
RETURNING key, tokens`;

export async function reconcileBuckets(db: Executor, limit: { rps: number; burst: number }, entries: { key: string; taken: number }[]): Promise<Map<string, number>> {
  if (!entries.length) return new Map();
  const { rows } = (await db.raw(RECONCILE, {
    keys: entries.map((e) => e.key),
    taken: entries.map((e) => e.taken),
    rps: limit.rps,
    burst: limit.burst,
  })) as { rows: { key: string; tokens: number | string }[] };
  return new Map(rows.map((r) => [r.key, Number(r.tokens)]));
}

/** Deletes up to `batch` buckets idle for more than `idleSeconds`. */
export async function deleteIdleBuckets(db: Executor, idleSeconds: number, batch: number): Promise<number> {
  const { rowCount } = (await db.raw(
    `DELETE FROM rate_limit_buckets WHERE key IN (
       SELECT key FROM rate_limit_buckets WHERE updated_at < now() - make_interval(secs => ?) LIMIT ? FOR UPDATE SKIP LOCKED)`,
    [idleSeconds, batch],
  )) as { rowCount: number };
  return rowCount ?? 0;
}
