import http from 'node:http';
import type { Socket } from 'node:net';
import { buildApp } from './app';
import { bootstrapAdmin } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { buildDeps } from './container';
import { createDb, knexLog } from './db/knex';
import { createLogger } from './logger';

/** Entry point: config → database (migrate when embedded) → app → listen; SIGTERM drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  knexLog.warn = (message) => logger.warn({ knex: message }, 'knex warning');
  const db = createDb(config.db);
  if (config.migrateOnStart) {
    const [, applied] = await db.migrate.latest();
    if (applied.length) logger.info({ migrations: applied }, 'migrations applied');
  }
  const deps = buildDeps(config, db);
  if (config.bootstrapAdmin) {
    const created = await bootstrapAdmin(db, deps.services);
    if (created) {
      // Printed once, on stdout, on a line of its own; it is never logged.
      process.stdout.write(
        `\nRoster created tenant "${created.tenant}" and an admin token (all rights). It is shown only now:\n\n${created.token}\n\n`,
      );
    }
  }

  const server = http.createServer(buildApp(deps, logger));
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.port, db: config.db.kind }, 'roster listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.warn('grace period over: closing remaining connections');
      for (const s of sockets) s.destroy();
    }, config.shutdownGraceMs);
    force.unref();
    server.close(async () => {
      clearTimeout(force);
      await db.destroy().catch((err: unknown) => logger.error({ err }, 'closing the database failed'));
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
  } else {
    process.stderr.write(`roster failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
