/**
 * Shared plumbing for the operator commands (`npm run tenant`, `npm run token`): opening the
 * database the service uses, exit codes, and plain-text output. Exit codes: 0 success, 1 a domain
 * or database error, 2 bad usage.
 */
import { ConfigError, loadConfig } from '../config';
import { buildServices, type Services } from '../container';
import { createDb, knexLog, withoutStatementTimeout } from '../db/knex';
import { assertSchemaCurrent } from '../db/migrate';
import { translateDbError } from '../db/pg-errors';
import { DomainError, NotFound, ServiceUnavailable } from '../domain/errors';

/** Wrong command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** Text shared by every command's --help about where the data lives. */
export const DATABASE_HELP = `Database:
  DATABASE_URL set    PostgreSQL (as the service uses it; PGSSLMODE as for the service).
  DATABASE_URL unset  the embedded database in PGLITE_DIR (default ./data); pending migrations
                      are applied first. The embedded database is single-process: while the
                      server runs, a command refuses (exit 1); stop the server first.

Exit codes: 0 done; 1 refused (unknown tenant, bad value, configuration or database error);
2 bad usage.`;

/**
 * Opens the configured database (migrating the embedded one), runs fn with the services, and
 * always closes the database afterwards. Without the service's statement timeout, which bounds a
 * request, not an operator's deletion of a tenant with a million users.
 */
export async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = createDb(withoutStatementTimeout(config.db));
  try {
    if (config.db.kind === 'pglite') await db.migrate.latest();
    // PostgreSQL is migrated by `npm run migrate` (the release phase): say so rather than fail on a missing table.
    else await assertSchemaCurrent(db);
    return await fn(buildServices(db, { oauthTokenTtlSeconds: config.oauthTokenTtlSeconds }));
  } finally {
    await db.destroy();
  }
}

function isOperationalError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/**
 * Runs a command's main function and turns its outcome into an exit code. Expected failures
 * (usage, configuration, domain and database errors) print one line on stderr, without a stack.
 */
export function runCli(command: string, main: (argv: string[]) => Promise<void>): void {
  // The command reports a database error itself, in one line: Knex's own warnings (a failed
  // connection attempt, with its stack) would only repeat it.
  knexLog.warn = () => undefined;
  main(process.argv.slice(2))
    .then(
      () => 0,
      (raw: unknown) => {
        const err = translateDbError(raw);
        if (err instanceof UsageError) {
          process.stderr.write(`${command}: ${err.message}\nRun "npm run ${command} -- --help" for usage.\n`);
          return 2;
        }
        if (err instanceof ConfigError) {
          process.stderr.write(`${command}: configuration error: ${err.message}\n`);
        } else if (err instanceof NotFound && err.id !== undefined) {
          process.stderr.write(`${command}: ${err.resource} "${err.id}" not found\n`);
        } else if (err instanceof ServiceUnavailable && raw instanceof Error && raw !== err) {
          process.stderr.write(`${command}: ${err.message}: ${raw.message}\n`);
        } else if (err instanceof DomainError) {
          process.stderr.write(`${command}: ${err.message}\n`);
        } else if (isOperationalError(err)) {
          process.stderr.write(`${command}: ${err.message} (${err.code})\n`);
        } else {
          process.stderr.write(`${command}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        }
        return 1;
      },
    )
    // CASE: exit explicitly; a stray embedded-database handle must not keep a finished command alive.
    .then((code) => process.exit(code));
}

/** Turns node's parseArgs TypeErrors (unknown option, missing value …) into usage errors. */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
    throw err;
  }
}

/** A timestamp for tables: ISO 8601 in UTC to the second, or "-" when absent. */
export function formatDate(d: Date | null | undefined): string {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** Left-aligned columns separated by two spaces, header first; one line per row. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Writes to stdout: the data a script may capture. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes to stderr: messages for the operator that scripts should not capture. */
export function info(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
