import { Client, type ClientConfig } from 'pg';
import type { Db } from '../../db/knex';
import type { TokenCache } from './token-cache';

/** The channel the api_tokens triggers notify (migration 20261124000100), payload: the token id. */
export const TOKEN_CHANGES_CHANNEL = 'roster_token_changes';

/** What the listener reports; a pino logger fits. */
export interface ListenerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface TokenListener {
  close(): Promise<void>;
}

export interface ListenerTiming {
  /** How often the connection proves it is alive (and notices a destroyed Knex). */
  heartbeatMs?: number;
  /** How long a heartbeat may take before the connection is given up. */
  heartbeatTimeoutMs?: number;
  /** First reconnect delay; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Knex sets its pool to undefined once destroyed: the listener then stops by itself. */
const destroyed = (db: Db) => !(db.client as { pool?: unknown }).pool;

/**
 * Keeps the token cache coherent with the database: one dedicated LISTEN connection per process
 * (never a pooled one: LISTEN belongs to a session). Each notification invalidates that token.
 * The cache is on only while the connection is known to be up: on any error, a failed heartbeat
 * or a reconnect (notifications may have been missed), it is emptied and switched off until
 * LISTEN is in place again. On embedded PGlite (one process, one backend) PGlite delivers the
 * notifications in process, before the revoking statement's promise resolves.
 */
export function listenForTokenChanges(db: Db, cache: TokenCache, log: ListenerLog, timing: ListenerTiming = {}, onAnnounce: (id: string) => void = () => undefined): TokenListener {
  const pglite = (db.client as { pglite?: { listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> } }).pglite;
  const announce = (id: string) => {
    cache.invalidate([id]);
    onAnnounce(id);
  };
  if (pglite) return pgliteListener(pglite, cache, log, announce);
  return postgresListener(db, cache, log, timing, announce);
}

function pgliteListener(
  pglite: { listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> },
  cache: TokenCache,
  log: ListenerLog,
  announce: (id: string) => void,
): TokenListener {
  let stopped = false;
  const subscribed = pglite
    .listen(TOKEN_CHANGES_CHANNEL, announce)
    .then((unsubscribe) => {
      if (!stopped) cache.setEnabled(true);
      return unsubscribe;
    })
    .catch((err: unknown) => {
      log.warn({ err }, 'token cache off: cannot listen for token changes');
      return undefined;
    });
  return {
    async close() {
      stopped = true;
      cache.setEnabled(false);
      const unsubscribe = await subscribed;
      await unsubscribe?.().catch(() => undefined);
    },
  };
}

function postgresListener(db: Db, cache: TokenCache, log: ListenerLog, timing: ListenerTiming, announce: (id: string) => void): TokenListener {
  // A connection that died silently is noticed within heartbeat + timeout (4 s), and the cache is off from then on.
  const heartbeatMs = timing.heartbeatMs ?? 2_000;
  const heartbeatTimeoutMs = timing.heartbeatTimeoutMs ?? 2_000;
  const firstRetryMs = timing.retryMs ?? 500;
  const maxRetryMs = timing.maxRetryMs ?? 15_000;
  const settings = (db.client as { connectionSettings: ClientConfig }).connectionSettings;

  /** The client being connected or listening; anything else is stale. */
  let current: Client | undefined;
  let stopped = false;
  let retryMs = firstRetryMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let down = false;

  function lost(c: Client, err?: unknown): void {
    if (c !== current) return;
    current = undefined;
    cache.setEnabled(false);
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (stopped) return;
    if (destroyed(db)) {
      void listener.close();
      return;
    }
    if (!down) log.warn({ err }, 'token cache off: lost the connection that listens for revocations; reconnecting');
    down = true;
    retryTimer = setTimeout(connect, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, maxRetryMs);
  }

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (stopped) return;
    if (destroyed(db)) return void listener.close();
    const c = new Client({ ...settings, application_name: 'roster-token-listener' });
    current = c;
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    c.on('notification', (msg) => {
      if (msg.channel === TOKEN_CHANGES_CHANNEL && msg.payload) announce(msg.payload);
    });
    try {
      await c.connect();
      // The listener must never keep a process alive on its own (CLIs, tests).
      (c as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      await c.query(`LISTEN ${TOKEN_CHANGES_CHANNEL}`);
    } catch (err) {
      lost(c, err);
      return;
    }
    if (c !== current) return;
    if (stopped) {
      current = undefined;
      await c.end().catch(() => undefined);
      return;
    }
    retryMs = firstRetryMs;
    cache.setEnabled(true);
    if (down) log.info({}, 'token cache on: listening for revocations again');
    down = false;
  }

  // A dead peer can go unnoticed for a long time on a quiet connection: prove it alive
  // regularly, so the cache is never trusted longer than one heartbeat past a silent failure.
  const heartbeat = setInterval(() => {
    if (destroyed(db)) return void listener.close();
    const c = current;
    if (!c || !cache.enabled) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('heartbeat timed out')), heartbeatTimeoutMs);
      timer.unref();
    });
    Promise.race([c.query('SELECT 1'), timeout]).then(
      () => clearTimeout(timer),
      (err: unknown) => {
        clearTimeout(timer);
        lost(c, err);
      },
    );
  }, heartbeatMs);
  heartbeat.unref();

  const listener: TokenListener = {
    async close() {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      if (retryTimer) clearTimeout(retryTimer);
      cache.setEnabled(false);
      const c = current;
      current = undefined;
      if (c) {
        c.removeAllListeners('notification');
        await c.end().catch(() => undefined);
      }
    },
  };
  void connect();
  return listener;
}
