/**
 * Token-bucket rate limits. A bucket holds at most `burst` tokens, refills at `rps` per second,
 * and each request takes one; an empty bucket refuses with the seconds until a token is back.
 * Stores keep the buckets where every instance sees them (PostgreSQL or Redis).
 */
export interface RateLimit {
  readonly rps: number;
  readonly burst: number;
}

export interface Verdict {
  allowed: boolean;
  /** Whole seconds until the next request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

export interface RateLimitStore {
  readonly kind: 'postgres' | 'redis';
  /** Takes one token from the bucket `key` (created full on first use). */
  take(key: string, limit: RateLimit): Promise<Verdict>;
  /** Forgets idle buckets (a bucket idle longer than burst/rps is full anyway). */
  prune(idleSeconds: number): Promise<number>;
  /** Resolves once the store can answer (Redis connected); takes before that fail open. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The verdict for a bucket left with `tokens` after a refused or granted take. */
export function verdictOf(allowed: boolean, tokens: number, limit: RateLimit): Verdict {
  if (allowed) return { allowed, retryAfterSeconds: 0 };
  // CASE: Retry-After must be a whole number of seconds (Okta ignores fractions), at least 1.
  return { allowed, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / limit.rps)) };
}

/** How long a bucket must stay idle before it is certainly full again, whatever the limits. */
export function idleSecondsFor(limits: RateLimit[]): number {
  const refill = Math.max(0, ...limits.filter((l) => l.rps > 0).map((l) => l.burst / l.rps));
  return Math.max(3600, Math.ceil(refill) + 60);
}
