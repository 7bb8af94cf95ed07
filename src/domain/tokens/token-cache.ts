import type { TokenRecord } from './token';

/**
 * Verified bearer tokens kept in process for a short time, so a warm token costs no SQL.
 *
 * Safety rests on three rules:
 * - entries are keyed by the token's SHA-256 (the token itself is never kept) and only live
 *   tokens are cached; expiry is checked against the clock on every hit;
 * - the cache is on only while invalidations are guaranteed to arrive (the LISTEN connection is
 *   up, see token-listener.ts); switching on or off empties it;
 * - every invalidation bumps an epoch, and a lookup that began before the bump cannot store its
 *   (possibly stale) result, so a revocation racing an in-flight lookup is never lost.
 */
export interface TokenCache {
  /** The live record for a hash, or undefined (unknown here, stale, expired, or the cache is off). */
  get(hash: string): TokenRecord | undefined;
  /** The epoch to hand back to `set`: read it before the lookup whose result will be stored. */
  readonly epoch: number;
  /** Stores a looked-up record, unless an invalidation happened since `epoch` was read. */
  set(hash: string, record: TokenRecord, epoch: number): void;
  /** Forgets the tokens with these ids (a change was announced for them). */
  invalidate(ids: Iterable<string>): void;
  /** Forgets everything (a revocation made here, a lost listener connection). */
  clear(): void;
  /** On while invalidations are delivered; off caches nothing. */
  setEnabled(on: boolean): void;
  readonly enabled: boolean;
  readonly size: number;
}

export interface TokenCacheOptions {
  /** How long an entry is trusted without hearing about it; 0 turns caching off (read on every store). */
  ttlMs: number;
  /** At most this many entries; the oldest goes first. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  record: TokenRecord;
  /** Local time after which the entry is looked up again. */
  staleAt: number;
}

export function createTokenCache(opts: TokenCacheOptions): TokenCache {
  const now = opts.now ?? Date.now;
  const byHash = new Map<string, Entry>();
  const hashById = new Map<string, string>();
  let epoch = 0;
  let enabled = false;

  const remove = (hash: string) => {
    const e = byHash.get(hash);
    if (!e) return;
    byHash.delete(hash);
    hashById.delete(e.record.id);
  };
  const clear = () => {
    epoch++;
    byHash.clear();
    hashById.clear();
  };

  return {
    get(hash) {
      const e = byHash.get(hash);
      if (!e) return undefined;
      const t = now();
      // CASE: expiry is exact: a token whose expires_at passes while cached is refused at once.
      if (t >= e.staleAt || (e.record.expiresAt !== null && e.record.expiresAt.getTime() <= t)) {
        remove(hash);
        return undefined;
      }
      return e.record;
    },
    get epoch() {
      return epoch;
    },
    set(hash, record, at) {
      if (!enabled || at !== epoch || opts.ttlMs <= 0) return;
      if (!byHash.has(hash) && byHash.size >= opts.maxEntries) {
        // Map keeps insertion order: the first key is the oldest entry.
        const oldest = byHash.keys().next().value;
        if (oldest !== undefined) remove(oldest);
      }
      remove(hash);
      byHash.set(hash, { record, staleAt: now() + opts.ttlMs });
      hashById.set(record.id, hash);
    },
    invalidate(ids) {
      epoch++;
      for (const id of ids) {
        const hash = hashById.get(id);
        if (hash !== undefined) remove(hash);
      }
    },
    clear,
    setEnabled(on) {
      if (on === enabled) return;
      enabled = on;
      clear();
    },
    get enabled() {
      return enabled;
    },
    get size() {
      return byHash.size;
    },
  };
}
