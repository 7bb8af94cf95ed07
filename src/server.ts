import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { buildApp } from './app';
import { createAppServer } from './http/common/app-server';
import { bootstrapAdmin } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { buildDeps } from './container';
import { createDb, knexLog } from './db/knex';
import { assertSchemaCurrent, migrateLatest } from './db/migrate';
import { createLogger } from './logger';
import { createMetricsServer } from './ops/metrics-server';
import { applyHeapGrowingPercent, applyPretenuring } from './ops/heap';
import { createOps } from './ops/ops';
import { tokenRuntimeOf } from './domain/tokens/token-runtime';

/** How long, after the grace period, closing the database may take before the process exits anyway. */
const SHUTDOWN_CLOSE_MS = 5_000;

/** Listens, or fails with one line naming the variable when the port is taken or not allowed. */
function listenOn(server: Server, port: number, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new ConfigError(`${name} ${port} is already in use by another process`));
      else if (err.code === 'EACCES') reject(new ConfigError(`${name} ${port} needs privileges this process does not have`));
      else reject(err);
    };
    server.once('error', failed);
    server.listen(port, () => {
      server.removeListener('error', failed);
      resolve();
    });
  });
}

/** Entry point: config → database (migrate when embedded) → app → listen; SIGTERM drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  applyHeapGrowingPercent(config.heapGrowingPercent);
  applyPretenuring(config.v8Pretenuring);
  const logger = createLogger(config.logLevel);
  knexLog.warn = (message) => logger.warn({ knex: message }, 'knex warning');
  const db = createDb(config.db);
  if (config.migrateOnStart) await migrateLatest(config.db, db, logger);
  else await assertSchemaCurrent(db);
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

  const ops = createOps(deps);
  ops.startHousekeeping(logger);
  // CASE: node checks the headers and request timeouts only every connectionsCheckingInterval
  // (30 s by default), so a slowloris connection would outlive headersTimeout by up to 30 s.
  const server = createAppServer(buildApp(deps, logger, ops), { connectionsCheckingInterval: Math.min(1000, config.ops.headersTimeoutMs / 2) });
  server.requestTimeout = config.ops.requestTimeoutMs;
  server.headersTimeout = config.ops.headersTimeoutMs;
  server.keepAliveTimeout = config.ops.keepAliveTimeoutMs;
  const metricsServer = config.ops.metricsPort === undefined ? undefined : createMetricsServer(ops.metrics);
  if (metricsServer) {
    await listenOn(metricsServer, config.ops.metricsPort as number, 'METRICS_PORT');
    const a = metricsServer.address();
    logger.info({ port: typeof a === 'object' && a ? a.port : config.ops.metricsPort }, 'metrics listening');
  }
  if (config.ops.redisUrl) {
    ops.rateLimitStore.ready().then(
      () => logger.info('rate limits: redis connected'),
      (err: unknown) => logger.warn({ err }, 'rate limits: redis unavailable'),
    );
  }
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listenOn(server, config.port, 'PORT');
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.port, db: config.db.kind }, 'roster listening');

  let stopping = false;
  // CASE: while draining, keep-alive clients would keep their connections busy with new requests
  // forever; each answer then says "Connection: close" and idle connections are closed as they
  // become idle, so the server empties within the grace period.
  server.prependListener('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      logger.warn('grace period over: closing remaining connections');
      for (const s of sockets) s.destroy();
    }, config.shutdownGraceMs);
    force.unref();
    // CASE: closing the database waits for the statements in flight, and one waiting on a lock
    // or on a database that stopped answering kept the process alive for minutes after the grace
    // period (Heroku then kills it). The process ends a little after the grace period whatever
    // is still running; the database rolls back what did not commit.
    const deadline = setTimeout(() => {
      logger.error({ afterMs: config.shutdownGraceMs + SHUTDOWN_CLOSE_MS }, 'shutdown: database work still running after the grace period; exiting without it');
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_CLOSE_MS);
    deadline.unref();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    idleSweep.unref();
    metricsServer?.close();
    server.close(async () => {
      clearTimeout(force);
      clearInterval(idleSweep);
      await ops.close().catch((err: unknown) => logger.error({ err }, 'stopping housekeeping or the rate limit store failed'));
      await tokenRuntimeOf(db).close().catch((err: unknown) => logger.error({ err }, 'stopping the token cache listener failed'));
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
