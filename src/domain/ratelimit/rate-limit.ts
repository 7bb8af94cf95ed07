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
  /** Tokens left in the bucket after this take, when the store says. */
  remaining?: number;
}

/** Tokens an instance took from a bucket locally since it last reported to the store. */
export interface Reconciliation {
  key: string;
  limit: RateLimit;
  /** How many requests were let through locally (0: only learn the bucket's level). */
  taken: number;
}

export interface RateLimitStore {
  readonly kind: 'postgres' | 'redis';
  /** Takes one token from the bucket `key` (created full on first use). */
  take(key: string, limit: RateLimit): Promise<Verdict>;
  /**
   * Reports many local takes at once (one round trip): each bucket is refilled, then loses what
   * was taken (down to at most -burst: an overspend across instances is paid back before the
   * next request). Returns the tokens left per key. A store without it is asked on every
   * request instead.
   */
  reconcile?(batch: Reconciliation[]): Promise<Map<string, number>>;
  /** Forgets idle buckets (a bucket idle longer than burst/rps is full anyway). */
  prune(idleSeconds: number): Promise<number>;
  /** Resolves once the store can answer (Redis connected); takes before that fail open. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** The verdict for a bucket left with `tokens` after a refused or granted take. */
export function verdictOf(allowed: boolean, tokens: number, limit: RateLimit): Verdict {
  if (allowed) return { allowed, retryAfterSeconds: 0, remaining: tokens };
  return { allowed, retryAfterSeconds: retryAfterFor(tokens, limit), remaining: tokens };
}

/** Whole seconds until a bucket holding `tokens` has one again. */
export function retryAfterFor(tokens: number, limit: RateLimit): number {
  // CASE: Retry-After must be a whole number of seconds (Okta ignores fractions), at least 1.
  return Math.max(1, Math.ceil((1 - tokens) / limit.rps));
}

/** How long a bucket must stay idle before it is certainly full again, whatever the limits. */
export function idleSecondsFor(limits: RateLimit[]): number {
  const refill = Math.max(0, ...limits.filter((l) => l.rps > 0).map((l) => l.burst / l.rps));
  return Math.max(3600, Math.ceil(refill) + 60);
}
