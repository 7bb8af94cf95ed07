import { retryAfterFor, type RateLimit, type RateLimitStore, type Reconciliation, type Verdict } from './rate-limit';

/**
 * Token buckets taken from in process, reconciled with the shared store in the background, so a
 * request on a warm key costs no round trip.
 *
 * - The first request of a key (or the first after it was forgotten) takes from the store
 *   itself, and the bucket starts from the level the store answers: a new instance does not
 *   hand out a fresh burst of its own.
 * - Afterwards requests take from the local bucket (refilled at `rps`, capped at `burst`), and
 *   every `syncMs` one batch reports what each key took and learns each shared level back;
 *   keys used in the last second are refreshed even when nothing was taken, so an instance also
 *   hears of what others spent. Across N instances a key can overspend by what they let through
 *   within one sync interval; the shared bucket then goes negative (down to -burst) and every
 *   instance refuses until it has refilled, so the long-run rate holds.
 * - A failed reconcile keeps the counts for the next one and limits locally meanwhile; a failed
 *   first take lets the request through (a broken store must not take the service down).
 */
export interface LocalBuckets {
  take(key: string, limit: RateLimit): Promise<Verdict>;
  /** Reconciles now (tests, shutdown). */
  flush(): Promise<void>;
  readonly size: number;
}

export interface LocalBucketsOptions {
  syncMs: number;
  /** Keys used within this window are refreshed from the store even when nothing was taken. */
  activeWindowMs?: number;
  /** Idle keys are forgotten after this long (the store keeps their level). */
  idleMs?: number;
  maxKeys?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

interface Bucket {
  limit: RateLimit;
  tokens: number;
  /** Local time of `tokens`. */
  at: number;
  /** Taken locally and not yet reported. */
  unsynced: number;
  lastUsed: number;
}

export function localBuckets(store: RateLimitStore & Required<Pick<RateLimitStore, 'reconcile'>>, opts: LocalBucketsOptions): LocalBuckets {
  const now = opts.now ?? Date.now;
  const activeWindowMs = opts.activeWindowMs ?? Math.max(1000, 3 * opts.syncMs);
  const idleMs = opts.idleMs ?? 30_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  const buckets = new Map<string, Bucket>();
  const starting = new Map<string, Promise<Verdict>>();
  let timer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;

  const refill = (b: Bucket, t: number) => {
    if (t > b.at) b.tokens = Math.min(b.limit.burst, b.tokens + ((t - b.at) / 1000) * b.limit.rps);
    b.at = t;
  };

  const schedule = () => {
    if (timer || syncing) return;
    timer = setTimeout(() => void sync(), opts.syncMs);
    timer.unref();
  };

  function takeLocal(b: Bucket): Verdict {
    const t = now();
    refill(b, t);
    b.lastUsed = t;
    schedule();
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.unsynced += 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: retryAfterFor(b.tokens, b.limit) };
  }

  async function start(key: string, limit: RateLimit): Promise<Verdict> {
    try {
      const verdict = await store.take(key, limit);
      if (verdict.remaining !== undefined && !buckets.has(key)) {
        if (buckets.size >= maxKeys) forget(now(), true);
        const t = now();
        buckets.set(key, { limit, tokens: verdict.remaining, at: t, unsynced: 0, lastUsed: t });
        schedule();
      }
      return verdict;
    } finally {
      starting.delete(key);
    }
  }

  /** Drops idle, fully reported buckets (all of them past `maxKeys` when `pressed`). */
  function forget(t: number, pressed = false): void {
    for (const [key, b] of buckets) {
      if (b.unsynced === 0 && (t - b.lastUsed > idleMs || (pressed && buckets.size >= maxKeys / 2))) buckets.delete(key);
    }
  }

  async function sync(): Promise<void> {
    timer = undefined;
    const t = now();
    forget(t);
    const sent = new Map<string, number>();
    const batch: Reconciliation[] = [];
    for (const [key, b] of buckets) {
      if (b.unsynced > 0 || t - b.lastUsed < activeWindowMs) {
        batch.push({ key, limit: b.limit, taken: b.unsynced });
        sent.set(key, b.unsynced);
        b.unsynced = 0;
      }
    }
    if (!batch.length) return;
    const run = (async () => {
      try {
        const levels = await store.reconcile(batch);
        const at = now();
        for (const [key, level] of levels) {
          const b = buckets.get(key);
          if (!b) continue;
          // What was taken here while the batch was on its way still comes off the shared level.
          b.tokens = Math.min(b.limit.burst, level - b.unsynced);
          b.at = at;
        }
      } catch (err) {
        for (const [key, n] of sent) {
          const b = buckets.get(key);
          if (b) b.unsynced += n;
        }
        opts.onError?.(err);
      }
    })();
    syncing = run;
    try {
      await run;
    } finally {
      syncing = undefined;
      const later = now();
      if ([...buckets.values()].some((b) => b.unsynced > 0 || later - b.lastUsed < activeWindowMs)) schedule();
    }
  }

  return {
    take(key, limit) {
      const b = buckets.get(key);
      if (b) return Promise.resolve(takeLocal(b));
      const pending = starting.get(key);
      if (pending) {
        // Requests racing the first one wait for its answer, then take locally (or, if it
        // failed, pass like it did).
        return pending.then(
          () => {
            const ready = buckets.get(key);
            return ready ? takeLocal(ready) : { allowed: true, retryAfterSeconds: 0 };
          },
          () => ({ allowed: true, retryAfterSeconds: 0 }),
        );
      }
      const first = start(key, limit);
      starting.set(key, first);
      return first;
    },
    async flush() {
      if (timer) clearTimeout(timer);
      if (syncing) await syncing;
      await sync();
    },
    get size() {
      return buckets.size;
    },
  };
}
