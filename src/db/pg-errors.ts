import { AlreadyExists, DomainError, InvalidInput, NotFound, ServiceUnavailable } from '../domain/errors';

/** Unique constraints and indexes by name → the domain fact they protect. */
const uniqueConstraints: Record<string, [resource: string, field: string]> = {
  users_user_name_unique: ['user', 'userName'],
  groups_name_unique: ['group', 'name'],
  groups_key_unique: ['group', 'id'],
  tenants_name_unique: ['tenant', 'name'],
};

// Also a database that does not exist (3D000) or refuses the role (28000, 28P01): a deployment's
// misconfiguration, not the client's fault, and no 500 either.
const connectionCodes = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', '53300', '3D000', '28000', '28P01']);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // TLS: the server's certificate refused (PGSSLMODE=verify-*) or TLS not offered.
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** Messages of pg and Knex for a database that cannot be reached or went away mid-request. */
const connectionLost =
  /Knex: Timeout acquiring a connection|Connection terminated|connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|^timeout expired$|connect ECONNREFUSED|the database system is (?:shutting down|starting up|in recovery mode)/i;

interface PgLikeError {
  code?: string;
  constraint?: string;
  message?: string;
}

/**
 * Translates a PostgreSQL error into a domain error, by SQLSTATE and constraint name. This is the
 * only place that knows SQLSTATEs. Returns the input unchanged when it is not a known case.
 */
export function translateDbError(err: unknown): unknown {
  if (err instanceof DomainError || typeof err !== 'object' || err === null) return err;
  const e = err as PgLikeError;
  // CASE: a connection lost mid-query (server stopped, failover) surfaces from pg with no SQLSTATE.
  if (e.message && connectionLost.test(e.message)) {
    return new ServiceUnavailable('database unavailable');
  }
  switch (e.code) {
    case '23505': {
      const known = e.constraint ? uniqueConstraints[e.constraint] : undefined;
      return known ? new AlreadyExists(known[0], known[1]) : new AlreadyExists('resource', 'key');
    }
    case '23503':
      return new NotFound('referenced resource');
    case '23502':
    case '23514':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22009':
    case '22023':
    case '22P05':
    case '22021':
      return new InvalidInput('a value is not acceptable');
    case '22P02':
      return new InvalidInput('a value has the wrong format');
    case '54001':
      return new InvalidInput('the request is too complex');
    // CASE: a value too long for an index row (the text limits should have caught it first).
    case '54000':
      return new InvalidInput('a value is too long to be stored');
    // CASE: a transaction that lost to concurrent ones every time it was run (retryingConflicts).
    case '40P01':
    case '40001':
      return new ServiceUnavailable('the database was busy with conflicting changes; retry');
    // CASE: a statement cancelled by statement_timeout (PG_STATEMENT_TIMEOUT_MS, or the server's
    // or role's setting) or by an operator, or a lock not granted within lock_timeout.
    case '57014':
    case '55P03':
      return new ServiceUnavailable('the database cancelled a statement that took too long; retry later');
    default:
      if (e.code && (connectionCodes.has(e.code) || networkCodes.has(e.code))) {
        return new ServiceUnavailable('database unavailable');
      }
      return err;
  }
}
