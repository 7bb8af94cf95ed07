import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import type { Executor } from '../../db/transaction';
import { createTokenCache, type TokenCache } from './token-cache';
import { listenForTokenChanges, type ListenerLog, type ListenerTiming, type TokenListener } from './token-listener';
import { createUsageRecorder, type UsageRecorder } from './token-usage';

/** Defaults: trust a verified token for 30 s between announcements; write last use once a minute. */
export const TOKEN_CACHE_DEFAULTS = { ttlSeconds: 30, maxEntries: 10_000, lastUsedIntervalSeconds: 60, lastUsedFlushMs: 200, announceGraceMs: 50 };

/**
 * What token verification keeps in process for one database: the cache of verified tokens, the
 * last-use recorder and the LISTEN connection that keeps the cache coherent.
 */
export interface TokenRuntime {
  readonly cache: TokenCache;
  readonly usage: UsageRecorder;
  /** Starts listening for token changes (idempotent); until then nothing is cached. */
  listen(log: ListenerLog, opts?: { ttlSeconds?: number; timing?: ListenerTiming }): void;
  /**
   * Call where tokens `ids` were changed, inside the transaction (if any): forgets every cached
   * token now and again once the transaction has committed (the revoking instance does not
   * depend on its own notification). The promise resolves after the commit, once this
   * instance's listener has heard the announcement of every id (at most `waitMs`): other
   * instances hear it at the same moment, so a caller that answers only then ("revoked")
   * leaves no window in which another instance still trusts the token, short of a slower
   * network path to it. Await it only outside the transaction.
   */
  invalidateAfterCommit(ex: Executor, ids: string[], waitMs?: number): Promise<void>;
  /** Stops listening and writes pending last-use times. */
  close(): Promise<void>;
  /** @internal the registry hands the root handle over. */
  adoptRoot(db: Db): void;
}

/**
 * One runtime per database handle, shared by every service built on it. Services are built from
 * a Db in several places (the container, the token admin API, OAuth inside a transaction, the
 * CLIs), and a revocation must reach the very cache the verifications use, so the runtime is
 * found from the handle rather than threaded through every constructor. Transactions share their
 * root's `client.config` object, which makes it the key.
 */
const runtimes = new WeakMap<object, TokenRuntime>();

const keyOf = (ex: Executor): object => (ex.client as { config: object }).config;

/** The root transaction of a (possibly nested) Knex transaction. */
function rootOf(trx: Knex.Transaction): Knex.Transaction {
  let t = trx as Knex.Transaction & { parentTransaction?: Knex.Transaction };
  while (t.parentTransaction) t = t.parentTransaction as typeof t;
  return t;
}

export function tokenRuntimeOf(db: Executor): TokenRuntime {
  const key = keyOf(db);
  const existing = runtimes.get(key);
  if (existing) {
    if (!(db as Knex.Transaction).isTransaction) existing.adoptRoot(db as Db);
    return existing;
  }
  // Background writes need the root handle, never a caller's transaction; a runtime first met
  // inside a transaction learns it on the first call with the root (every verification is one).
  let rootDb = (db as Knex.Transaction).isTransaction ? undefined : (db as Db);
  const opts = { ttlMs: TOKEN_CACHE_DEFAULTS.ttlSeconds * 1000, maxEntries: TOKEN_CACHE_DEFAULTS.maxEntries };
  const cache = createTokenCache(opts);
  let log: ListenerLog | undefined;
  let listener: TokenListener | undefined;
  /** Callbacks waiting for a token id to be announced by this instance's listener. */
  const waiting = new Map<string, Set<() => void>>();
  const heardOf = (id: string) => {
    const ws = waiting.get(id);
    waiting.delete(id);
    for (const w of ws ?? []) w();
  };
  const announcementOf = (ids: string[], waitMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      let left = new Set(ids);
      const timer = setTimeout(finish, waitMs);
      timer.unref();
      function finish() {
        clearTimeout(timer);
        for (const id of left) waiting.get(id)?.delete(onHeard);
        left = new Set();
        resolve();
      }
      function onHeard(this: void) {
        left = new Set([...left].filter((id) => waiting.get(id)?.has(onHeard)));
        if (!left.size) finish();
      }
      if (!left.size) return finish();
      for (const id of left) {
        const ws = waiting.get(id) ?? new Set();
        ws.add(onHeard);
        waiting.set(id, ws);
      }
    });
  const usage = createUsageRecorder(() => rootDb, {
    intervalMs: TOKEN_CACHE_DEFAULTS.lastUsedIntervalSeconds * 1000,
    flushDelayMs: TOKEN_CACHE_DEFAULTS.lastUsedFlushMs,
    onError: (err) => log?.warn({ err }, 'could not record when tokens were last used'),
  });
  const runtime: TokenRuntime = {
    cache,
    usage,
    listen(l, o = {}) {
      if (listener || !rootDb) return;
      log = l;
      if (o.ttlSeconds !== undefined) opts.ttlMs = o.ttlSeconds * 1000;
      if (opts.ttlMs <= 0) return;
      listener = listenForTokenChanges(rootDb, cache, l, o.timing, heardOf);
    },
    invalidateAfterCommit(ex, ids, waitMs = 250) {
      // Heard here, then a short grace for the listeners of other instances, which get the same
      // notification from the server at the same moment but may be scheduled a little later.
      const heard = (listener && cache.enabled ? announcementOf(ids, waitMs) : Promise.resolve()).then(() =>
        ids.length ? new Promise<void>((r) => setTimeout(r, TOKEN_CACHE_DEFAULTS.announceGraceMs).unref()) : undefined,
      );
      cache.clear();
      if (!(ex as Knex.Transaction).isTransaction) return heard;
      const done = (rootOf(ex as Knex.Transaction) as unknown as { executionPromise?: Promise<unknown> }).executionPromise;
      // Lookups between now and the commit cannot store a stale entry: cleared again after it.
      return (done ?? Promise.resolve()).then(
        () => {
          cache.clear();
          return heard;
        },
        () => undefined,
      );
    },
    adoptRoot(d) {
      rootDb ??= d;
    },
    async close() {
      const l = listener;
      listener = undefined;
      await l?.close();
      await usage.close();
    },
  };
  runtimes.set(key, runtime);
  return runtime;
}
