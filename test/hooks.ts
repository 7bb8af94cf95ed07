import { startTestContext, stopTestContext } from './helpers/context';

/** Mocha root hooks: one migrated database for the whole run, dropped at the end. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    const ctx = await startTestContext();
    const target = ctx.config.db.kind === 'postgres' ? 'PostgreSQL (scratch database)' : 'embedded PGlite (memory)';
    process.stdout.write(`  database: ${target}\n`);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestContext();
  },
};
