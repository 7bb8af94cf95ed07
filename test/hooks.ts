import { checkShapes } from '../src/db/shapes';
import { startTestContext, stopTestContext } from './helpers/context';
import { scanReport } from './helpers/log-scan';

/** Mocha root hooks: one migrated database for the whole run, dropped at the end. */
export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    // Every statement built once per shape is also built afresh and compared (src/db/shapes.ts).
    checkShapes(true);
    const ctx = await startTestContext();
    const target = ctx.config.db.kind === 'postgres' ? 'PostgreSQL (scratch database)' : 'embedded PGlite (memory)';
    process.stdout.write(`  database: ${target}\n`);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestContext();
    // No secret in any log line the shared app wrote during the whole run (guarantee 7).
    const { scanned, leaked } = scanReport();
    if (leaked.length) throw new Error(`secrets in log lines of the test run (${scanned} scanned), e.g.:\n${leaked.slice(0, 3).join('\n')}`);
    if (!process.env.LOG_LEVEL) process.stdout.write(`  log lines scanned for secrets: ${scanned}, none found\n`);
  },
};
