import type { Express } from 'express';
import { knex } from 'knex';
import pino from 'pino';
import { buildApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { buildDeps, type Deps } from '../../src/container';
import { createDb, knexLog, type Db } from '../../src/db/knex';
import { scanningLogger } from './log-scan';

export interface TestContext {
  app: Express;
  deps: Deps;
  db: Db;
  config: Config;
}

let ctx: TestContext | undefined;
let scratch: { adminUrl: string; name: string } | undefined;

/** The database URL tests run against: a scratch database on TEST_DATABASE_URL's server, or PGlite. */
async function prepareDatabase(): Promise<Record<string, string>> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return { PGLITE_DIR: 'memory://' };
  const name = `roster_test_${process.pid}_${Date.now()}`;
  const admin = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  scratch = { adminUrl: url, name };
  const scratchUrl = new URL(url);
  scratchUrl.pathname = `/${name}`;
  return { DATABASE_URL: scratchUrl.toString() };
}

/** Builds (once) the app on a migrated test database, with response validation on. */
export async function startTestContext(): Promise<TestContext> {
  if (ctx) return ctx;
  const dbEnv = await prepareDatabase();
  const config = loadConfig({ NODE_ENV: 'test', VALIDATE_RESPONSES: 'true', PGPOOL_MAX: '20', ...dbEnv });
  knexLog.warn = () => undefined;
  const db = createDb(config.db);
  await db.migrate.latest();
  const deps = buildDeps(config, db);
  // LOG_LEVEL=debug (say) prints the app's log for a local investigation; otherwise every line is
  // produced at trace level and scanned for secrets (test/helpers/log-scan.ts).
  const logger = process.env.LOG_LEVEL ? pino({ level: process.env.LOG_LEVEL }) : scanningLogger();
  ctx = { app: buildApp(deps, logger), deps, db, config };
  return ctx;
}

/** The shared test context; startTestContext() ran in the root hook. */
export function testContext(): TestContext {
  if (!ctx) throw new Error('test context not started (test/hooks.ts)');
  return ctx;
}

/** Closes the database and drops the scratch database, if one was made. */
export async function stopTestContext(): Promise<void> {
  if (ctx) await ctx.db.destroy();
  ctx = undefined;
  if (scratch) {
    const admin = knex({ client: 'pg', connection: scratch.adminUrl, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`DROP DATABASE IF EXISTS ${scratch.name} WITH (FORCE)`);
    } finally {
      await admin.destroy();
    }
    scratch = undefined;
  }
}
