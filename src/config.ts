/**
 * Configuration: every environment variable Roster reads is parsed and checked here, once, into a
 * frozen typed object. Nothing else in the code reads process.env.
 */

export type DbConfig =
  | { kind: 'postgres'; url: string; ssl: boolean; poolMax: number }
  | { kind: 'pglite'; dir: string };

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
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
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

/** SSL for PostgreSQL when PGSSLMODE asks for it or the URL carries sslmode/ssl (Heroku). */
function wantsSsl(env: Env, url: string): boolean {
  const mode = env.PGSSLMODE;
  if (mode && /^(require|verify-ca|verify-full|prefer)$/i.test(mode)) return true;
  if (mode && /^disable$/i.test(mode)) return false;
  try {
    const params = new URL(url).searchParams;
    const sslmode = params.get('sslmode');
    if (sslmode) return sslmode !== 'disable';
    const ssl = params.get('ssl');
    return ssl === 'true' || ssl === '1';
  } catch {
    throw new ConfigError('DATABASE_URL is not a valid URL');
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: Env): string {
  const level = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  return level;
}

/** Parses the environment into a Config; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const url = env.DATABASE_URL;
  const db: DbConfig = url
    ? { kind: 'postgres', url, ssl: wantsSsl(env, url), poolMax: int(env, 'PGPOOL_MAX', 10, 1, 200) }
    : { kind: 'pglite', dir: env.PGLITE_DIR || './data' };
  const production = env.NODE_ENV === 'production';
  return Object.freeze({
    port: int(env, 'PORT', 3000, 0, 65535),
    db,
    logLevel: logLevel(env),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 2 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    validateResponses: bool(env, 'VALIDATE_RESPONSES', !production && env.NODE_ENV === 'test'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', db.kind === 'pglite'),
    bootstrapAdmin: bool(env, 'BOOTSTRAP_ADMIN', db.kind === 'pglite'),
    oauthTokenTtlSeconds: int(env, 'OAUTH_TOKEN_TTL_SECONDS', 3600, 60, 86_400),
  });
}
