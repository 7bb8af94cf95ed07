import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import pino from 'pino';
import { buildApp } from '../../src/app';
import type { Config, OpsConfig } from '../../src/config';
import { buildDeps, type Deps } from '../../src/container';
import { createDb } from '../../src/db/knex';
import type { RateLimitStore } from '../../src/domain/ratelimit/rate-limit';
import { createOps, type Ops } from '../../src/ops/ops';
import { testContext } from '../helpers/context';

/** Another app instance on the test database with some operations settings changed. */
export function appWith(ops: Partial<OpsConfig>, opts: { deps?: Deps; rateLimitStore?: RateLimitStore } = {}): { app: Express; ops: Ops; deps: Deps } {
  const base = opts.deps ?? testContext().deps;
  const config: Config = { ...base.config, ops: { ...base.config.ops, ...ops } };
  const deps: Deps = { ...base, config };
  const o = createOps(deps, { rateLimitStore: opts.rateLimitStore });
  return { app: buildApp(deps, pino({ level: 'silent' }), o), ops: o, deps };
}

/**
 * A second, independent instance on the same database: its own connection pool on PostgreSQL
 * (as a second dyno would have); on the embedded database, which is single-process, the same one.
 */
export function secondInstance(): { app: Express; close(): Promise<void> } {
  const { config, db } = testContext();
  const ownDb = config.db.kind === 'postgres' ? createDb(config.db) : db;
  const deps = buildDeps(config, ownDb);
  return {
    app: buildApp(deps, pino({ level: 'silent' })),
    close: async () => {
      if (ownDb !== db) await ownDb.destroy();
    },
  };
}

/** Listens on 127.0.0.1 with an ephemeral port; returns the base URL and a closer. */
export async function listen(handler: http.RequestListener | http.Server): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
