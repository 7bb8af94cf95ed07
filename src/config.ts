/**
 * Configuration: every environment variable Roster reads is parsed and checked here, once, into a
 * frozen typed object. Nothing else in the code reads process.env.
 */

import { isIP } from 'node:net';
import { own } from './domain/own';

export type DbConfig =
  | {
      kind: 'postgres';
      url: string;
      /**
       * TLS to PostgreSQL, as pg takes it: off, or on with or without verifying the server's
       * certificate (sslRequest). The URL carries no sslmode/ssl: they are read into this.
       */
      ssl: false | { rejectUnauthorized: boolean };
      poolMax: number;
      /** Keep the hot fixed-shape statements prepared per connection (PG_PREPARED_STATEMENTS). */
      preparedStatements: boolean;
      /**
       * statement_timeout of the service's connections, in ms (PG_STATEMENT_TIMEOUT_MS, default
       * DEFAULT_STATEMENT_TIMEOUT_MS); 0: the server's or role's own setting. Migrations and the
       * operator commands run without it.
       */
      statementTimeoutMs: number;
    }
  | {
      kind: 'pglite';
      dir: string;
      /**
       * How often Roster does autovacuum's work (analyze grown tables, freeze old ones), in
       * seconds (PGLITE_VACUUM_INTERVAL_SECONDS; src/db/table-maintenance.ts); 0: never.
       */
      vacuumIntervalSeconds: number;
    };

export interface Config {
  readonly port: number;
  readonly db: DbConfig;
  readonly logLevel: string;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** Validate every response against the spec (tests: on; production: off). */
  readonly validateResponses: boolean;
  /** How long a graceful shutdown waits for in-flight requests, in ms. */
  readonly shutdownGraceMs: number;
  /** Run pending migrations when the process starts (default: on for the embedded database). */
  readonly migrateOnStart: boolean;
  /** Create a default tenant and print an admin token when the database has no tenant. */
  readonly bootstrapAdmin: boolean;
  /** Lifetime of OAuth access tokens (client credentials), in seconds. */
  readonly oauthTokenTtlSeconds: number;
  /**
   * How long a verified token is trusted in process without hearing of a change to it
   * (TOKEN_CACHE_TTL_SECONDS; revocations are announced by LISTEN/NOTIFY anyway); 0: no cache.
   */
  readonly tokenCacheTtlSeconds: number;
  /**
   * How far V8 lets the old generation grow past what the last full collection kept, in percent
   * (HEAP_GROWING_PERCENT; see src/ops/heap.ts); 0: V8's own factor (up to 300%).
   */
  readonly heapGrowingPercent: number;
  /** Whether V8's allocation-site pretenuring stays on (V8_PRETENURING; see src/ops/heap.ts). */
  readonly v8Pretenuring: boolean;
  /**
   * The service's public origin (PUBLIC_URL, e.g. https://roster.example.com): SCIM `Location`,
   * `meta.location` and `$ref` are built on it; unset, on the request's scheme and Host header.
   */
  readonly publicUrl?: string;
  /** Operations: HTTP hardening, rate limits, metrics, audit retention (issue 6). */
  readonly ops: OpsConfig;
}

/** A token bucket: `rps` requests per second on average, `burst` at once; rps 0 turns it off. */
export interface RateLimit {
  readonly rps: number;
  readonly burst: number;
}

export interface OpsConfig {
  /** Per bearer token (RATE_LIMIT_RPS / RATE_LIMIT_BURST). */
  readonly rateLimit: RateLimit;
  /** Per client IP on the unauthenticated endpoints: /oauth/token and /api/v1/session (RATE_LIMIT_UNAUTH_*). */
  readonly rateLimitUnauth: RateLimit;
  /**
   * How often each instance reconciles its local token buckets with the shared store, in ms
   * (RATE_LIMIT_SYNC_MS); 0: every request goes to the store.
   */
  readonly rateLimitSyncMs: number;
  /** Redis for the rate-limit counters (shared across instances); unset: PostgreSQL. */
  readonly redisUrl: string | undefined;
  /** Serve /metrics on this port only (unauthenticated), not on the main app; unset: main app, right metrics_read. */
  readonly metricsPort: number | undefined;
  /** Audit events older than this are pruned in the background; 0 keeps them forever. */
  readonly auditRetentionDays: number;
  /** Express `trust proxy`: false, true, a hop count, or a list of addresses/subnets. */
  readonly trustProxy: boolean | number | string[];
  /** Origins allowed by CORS; empty: no CORS headers at all. `*` allows any origin. */
  readonly corsOrigins: string[];
  /** node:http server limits, in ms. */
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  // Digits only: Number() also reads "0x10E1", "1e3" and "4121.0", which no operator means.
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** libpq's sslmode values (and pg's `no-verify`), and what each asks of pg. */
const SSL_MODES: Record<string, false | { rejectUnauthorized: boolean }> = {
  disable: false,
  allow: false,
  prefer: { rejectUnauthorized: false },
  require: { rejectUnauthorized: false },
  'no-verify': { rejectUnauthorized: false },
  'verify-ca': { rejectUnauthorized: true },
  'verify-full': { rejectUnauthorized: true },
};

/**
 * TLS to PostgreSQL from the URL's `sslmode` (or `ssl=true|false`), else PGSSLMODE, else off, with
 * libpq's meaning (`require`: encrypted, the certificate not checked, as Heroku Postgres needs;
 * `verify-ca`/`verify-full`: checked). Both are taken out of the URL: pg lets the URL's own
 * sslmode override the connection's settings and reads `require` as `verify-full`, which refused
 * Heroku's self-signed certificate on every connection.
 */
export function sslOf(env: Env, raw: string): { url: string; ssl: false | { rejectUnauthorized: boolean } } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL is not a valid URL');
  }
  const modeOf = (value: string, from: string) => {
    const mode = own(SSL_MODES, value.toLowerCase());
    if (mode === undefined) throw new ConfigError(`${from} must be one of ${Object.keys(SSL_MODES).join(', ')}, got "${value}"`);
    return mode;
  };
  const sslmode = url.searchParams.get('sslmode');
  const sslFlag = url.searchParams.get('ssl');
  let ssl: false | { rejectUnauthorized: boolean };
  if (sslmode) ssl = modeOf(sslmode, 'sslmode in DATABASE_URL');
  else if (sslFlag) ssl = /^(1|true)$/i.test(sslFlag) ? SSL_MODES.require : /^(0|false)$/i.test(sslFlag) ? false : modeOf(sslFlag, 'ssl in DATABASE_URL');
  else ssl = env.PGSSLMODE ? modeOf(env.PGSSLMODE, 'PGSSLMODE') : false;
  url.searchParams.delete('sslmode');
  url.searchParams.delete('ssl');
  url.searchParams.delete('uselibpqcompat');
  return { url: url.toString(), ssl };
}

/** A non-negative decimal (rates may be fractional: 0.2 is one request every 5 s). */
function decimal(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(value <= max)) throw new ConfigError(`${name} must be a number between 0 and ${max}, got "${raw}"`);
  return value;
}

function optionalInt(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : int(env, name, 0, min, max);
}

/** TRUST_PROXY: unset/false, true, a hop count (Heroku's router: 1), or comma-separated addresses/subnets/names. */
function trustProxy(env: Env): boolean | number | string[] {
  const raw = (env.TRUST_PROXY ?? '').trim();
  if (raw === '' || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return int(env, 'TRUST_PROXY', 0, 0, 100);
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  // What Express (proxy-addr) accepts: its named ranges, addresses and address/prefix subnets.
  const valid = (s: string) => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(s)) return true;
    const [address, prefix, extra] = s.split('/');
    const kind = isIP(address);
    if (!kind || extra !== undefined) return false;
    if (prefix === undefined) return true;
    return /^\d{1,3}$/.test(prefix) ? Number(prefix) <= (kind === 4 ? 32 : 128) : kind === 4 && isIP(prefix) === 4;
  };
  const bad = list.find((s) => !valid(s));
  if (bad !== undefined) {
    throw new ConfigError(`TRUST_PROXY must be true, false, a hop count, or addresses/subnets (loopback, 10.0.0.0/8, ...), got "${bad}"`);
  }
  return list;
}

/** CORS_ORIGINS: comma-separated origins (scheme://host[:port]) or `*`. */
function corsOrigins(env: Env): string[] {
  const list = (env.CORS_ORIGINS ?? '').split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean);
  for (const o of list) {
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/i.test(o)) throw new ConfigError(`CORS_ORIGINS entries must look like https://app.example.com (or be *), got "${o}"`);
  }
  return list;
}

/** PUBLIC_URL: an http(s) origin, optionally with a path prefix; no query, no fragment; no trailing slash kept. */
function publicUrl(env: Env): string | undefined {
  const raw = (env.PUBLIC_URL ?? '').trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL such as https://roster.example.com, got "${raw}"`);
  }
  if (!/^https?:$/.test(url.protocol) || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL without query, fragment or credentials, got "${raw}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function redisUrl(env: Env): string | undefined {
  const raw = env.REDIS_URL;
  if (!raw) return undefined;
  if (!/^rediss?:\/\//i.test(raw)) throw new ConfigError('REDIS_URL must start with redis:// or rediss://');
  return raw;
}

function opsConfig(env: Env): OpsConfig {
  const requestTimeoutMs = int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 3_600_000);
  const headersTimeoutMs = int(env, 'HEADERS_TIMEOUT_MS', 10_000, 1_000, 600_000);
  // CASE: node refuses a headers timeout longer than the request timeout.
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError(`HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  return Object.freeze({
    rateLimit: { rps: decimal(env, 'RATE_LIMIT_RPS', 100, 1_000_000), burst: int(env, 'RATE_LIMIT_BURST', 1000, 1, 10_000_000) },
    rateLimitUnauth: { rps: decimal(env, 'RATE_LIMIT_UNAUTH_RPS', 20, 1_000_000), burst: int(env, 'RATE_LIMIT_UNAUTH_BURST', 200, 1, 10_000_000) },
    rateLimitSyncMs: int(env, 'RATE_LIMIT_SYNC_MS', 200, 0, 10_000),
    redisUrl: redisUrl(env),
    metricsPort: optionalInt(env, 'METRICS_PORT', 0, 65535),
    auditRetentionDays: int(env, 'AUDIT_RETENTION_DAYS', 90, 0, 36_500),
    trustProxy: trustProxy(env),
    corsOrigins: corsOrigins(env),
    requestTimeoutMs,
    headersTimeoutMs,
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 0, 600_000),
  });
}

/**
 * No statement of a request runs longer than this by default: Heroku's router gives up on a
 * request after 30 s, and a statement that outlives its client (nothing cancels it on disconnect)
 * would otherwise run on for as long as it takes. Roster's biggest single statements take about a
 * second (replacing or deleting a million memberships, reading a million member names).
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: Env): string {
  const level = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  return level;
}

/** Parses the environment into a Config; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const url = env.DATABASE_URL;
  const production = env.NODE_ENV === 'production';
  // CASE: a production dyno without its database (the add-on missing, DATABASE_URL empty) would
  // serve from an embedded database its filesystem forgets, each dyno its own, and print an
  // admin token into the log drain. The embedded database in production must be asked for.
  if (!url && production && !env.PGLITE_DIR) {
    throw new ConfigError('DATABASE_URL is unset with NODE_ENV=production: set it (Heroku: the heroku-postgresql add-on), or set PGLITE_DIR to run the embedded database in production');
  }
  const db: DbConfig = url
    ? {
        kind: 'postgres',
        ...sslOf(env, url),
        poolMax: int(env, 'PGPOOL_MAX', 10, 1, 200),
        preparedStatements: bool(env, 'PG_PREPARED_STATEMENTS', true),
        statementTimeoutMs: int(env, 'PG_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, 0, 86_400_000),
      }
    : { kind: 'pglite', dir: env.PGLITE_DIR || './data', vacuumIntervalSeconds: int(env, 'PGLITE_VACUUM_INTERVAL_SECONDS', 60, 0, 86_400) };
  const port = int(env, 'PORT', 3000, 0, 65535);
  const ops = opsConfig(env);
  if (port !== 0 && ops.metricsPort === port) throw new ConfigError(`METRICS_PORT must differ from PORT (both ${port})`);
  return Object.freeze({
    port,
    db,
    logLevel: logLevel(env),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    validateResponses: bool(env, 'VALIDATE_RESPONSES', !production && env.NODE_ENV === 'test'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', db.kind === 'pglite'),
    bootstrapAdmin: bool(env, 'BOOTSTRAP_ADMIN', db.kind === 'pglite'),
    oauthTokenTtlSeconds: int(env, 'OAUTH_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
    tokenCacheTtlSeconds: int(env, 'TOKEN_CACHE_TTL_SECONDS', 30, 0, 3600),
    heapGrowingPercent: int(env, 'HEAP_GROWING_PERCENT', 50, 0, 1000),
    v8Pretenuring: bool(env, 'V8_PRETENURING', false),
    publicUrl: publicUrl(env),
    ops,
  });
}
