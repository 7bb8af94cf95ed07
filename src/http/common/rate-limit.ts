import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { RateLimited } from '../../domain/errors';
import { localBuckets } from '../../domain/ratelimit/local-buckets';
import type { RateLimit, RateLimitStore, Verdict } from '../../domain/ratelimit/rate-limit';

/**
 * Endpoints used before a client holds a token: limited per client address instead. Matched
 * without regard to case, as Express routes: `/OAUTH/TOKEN` reached the same handler unlimited.
 */
const UNAUTHENTICATED = /^\/(?:oauth\/token|api\/v1\/session)(?:\/|$)/i;
/** The easydb paths, whose document passes the session token as `?token=`. */
const QUERY_TOKEN_PATHS = /^\/api\/v1\/group(?:\/|$)/i;

/** The bearer token a request presents (header, or `?token=` where the dialect allows it). */
function presentedToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (m) return m[1];
  const q = req.query.token;
  if (!header && QUERY_TOKEN_PATHS.test(req.path) && typeof q === 'string' && q) return q;
  return undefined;
}

/** The bucket a request draws from, or undefined when it is not limited. */
export function bucketOf(req: Request, limits: { token: RateLimit; unauth: RateLimit }): { key: string; limit: RateLimit } | undefined {
  if (UNAUTHENTICATED.test(req.path)) {
    return limits.unauth.rps > 0 ? { key: `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`, limit: limits.unauth } : undefined;
  }
  const token = presentedToken(req);
  if (!token || limits.token.rps <= 0) return undefined;
  // The token itself never leaves the process: buckets are named by a digest of it.
  return { key: `tok:${createHash('sha256').update(token).digest('base64url').slice(0, 32)}`, limit: limits.token };
}

/**
 * Rate limits per token (and per client address on the unauthenticated endpoints). Runs before
 * body parsing and validation. A warm key is decided in process, from a local bucket that this
 * instance reconciles with the shared store every `syncMs` (domain/ratelimit/local-buckets.ts),
 * so an allowed or refused request costs no round trip; `syncMs` 0 (or a store that cannot
 * reconcile) asks the store on every request. The 429 leaves as RateLimited, rendered by the
 * dialect's error renderer with an integer Retry-After. When the store fails, requests pass
 * (a broken limiter must not take the service down) and it is logged.
 */
export function rateLimit(store: RateLimitStore, limits: { token: RateLimit; unauth: RateLimit; syncMs?: number }, logger: Logger) {
  let lastWarning = 0;
  const warn = (err: unknown) => {
    if (Date.now() - lastWarning > 60_000) {
      lastWarning = Date.now();
      logger.warn({ err, store: store.kind }, 'rate limit store unavailable: requests pass unlimited (or limited by this instance alone)');
    }
  };
  const syncMs = limits.syncMs ?? 0;
  const local = store.reconcile && syncMs > 0 ? localBuckets(store as Parameters<typeof localBuckets>[0], { syncMs, onError: warn }) : undefined;
  const take = (key: string, limit: RateLimit): Promise<Verdict> => (local ? local.take(key, limit) : store.take(key, limit));
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const bucket = bucketOf(req, limits);
    if (!bucket) return next();
    let verdict;
    try {
      verdict = await take(bucket.key, bucket.limit);
    } catch (err) {
      warn(err);
      return next();
    }
    if (verdict.allowed) return next();
    // Set here too, so a renderer that does not know RateLimited still sends it.
    res.set('Retry-After', String(verdict.retryAfterSeconds));
    throw new RateLimited(verdict.retryAfterSeconds);
  };
}
