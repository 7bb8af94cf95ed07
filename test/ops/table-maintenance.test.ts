import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../../src/config';
import { createOps } from '../../src/ops/ops';
import { maintainTables, tablesToMaintain } from '../../src/db/table-maintenance';
import { testContext } from '../helpers/context';

const TABLE = 'maintenance_probe';
/** How a pass names it (schema-qualified, as its VACUUM does). */
const NAME = `public.${TABLE}`;
const names = async (opts?: { freezeAge?: number }) => (await tablesToMaintain(testContext().db, opts)).map((t) => t.name);

/** What PostgreSQL last recorded about the probe table: row estimate, and whether columns have statistics. */
async function measured(): Promise<{ reltuples: number; columnStats: number }> {
  const { db } = testContext();
  const c = (await db.raw('SELECT reltuples FROM pg_class WHERE relname = ?', [TABLE])).rows[0] as { reltuples: number };
  const s = (await db.raw('SELECT count(*)::int AS n FROM pg_stats WHERE tablename = ?', [TABLE])).rows[0] as { n: number };
  return { reltuples: Number(c.reltuples), columnStats: s.n };
}

const fill = (from: number, to: number) =>
  testContext().db.raw(`INSERT INTO ${TABLE} (id, label) SELECT i, 'row ' || i FROM generate_series(?::int, ?::int) i`, [from, to]);

describe('ops: table maintenance (what autovacuum does, for PGlite)', () => {
  beforeEach(async () => {
    const { db } = testContext();
    await db.raw(`DROP TABLE IF EXISTS ${TABLE}`);
    await db.raw(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, label text NOT NULL)`);
  });
  afterEach(async () => {
    await testContext().db.raw(`DROP TABLE IF EXISTS ${TABLE}`);
  });

  it('vacuums and analyzes a table never measured, then leaves it until it grows by a fifth', async () => {
    const { db } = testContext();
    await fill(1, 10_000);
    expect(await names()).to.include(NAME);
    expect((await measured()).columnStats).to.equal(0);

    expect(await maintainTables(db)).to.include(NAME);
    const after = await measured();
    expect(after.reltuples).to.equal(10_000);
    expect(after.columnStats).to.equal(2);
    expect(await names()).to.not.include(NAME);

    await fill(10_001, 11_000); // +10%: not yet
    expect(await names()).to.not.include(NAME);
    await fill(11_001, 13_000); // +30% in all
    expect(await names()).to.include(NAME);
    await maintainTables(db);
    expect((await measured()).reltuples).to.equal(13_000);
  });

  it('leaves empty tables, the migration bookkeeping and young system catalogs alone', async () => {
    const tables = await names();
    expect(tables).to.not.include(NAME);
    expect(tables.filter((t) => /knex_|^pg_catalog\./.test(t))).to.deep.equal([]);
  });

  it('vacuums (freezes) every table, system catalogs included, whose transaction ids are older than the freeze age', async () => {
    const { db } = testContext();
    const old = await tablesToMaintain(db, { freezeAge: -1 });
    expect(old.map((t) => t.name)).to.include.members(['pg_catalog.pg_class', 'pg_catalog.pg_attribute', 'public.knex_migrations', 'public.users', NAME]);
    // Only stale tables are analyzed; a freeze alone is a plain VACUUM.
    expect(old.find((t) => t.name === 'pg_catalog.pg_class')?.stale).to.equal(false);
    expect(await maintainTables(db, { freezeAge: -1 })).to.include.members(['pg_catalog.pg_class', NAME]);
  });

  it('runs on a timer from ops.startHousekeeping on PGlite, logging what it did, and stops with ops.close', async () => {
    const { deps } = testContext();
    await fill(1, 1_000);
    const lines: { msg: string; tables?: string[] }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    // The server's wiring with a PGlite configuration (the statements are the same on PostgreSQL).
    const config = { ...deps.config, db: { kind: 'pglite' as const, dir: 'memory://', vacuumIntervalSeconds: 1 } };
    const ops = createOps({ ...deps, config });
    ops.startHousekeeping(pino({ level: 'debug' }, sink), { firstRunMs: 3_600_000 });
    try {
      for (let i = 0; i < 100 && !lines.some((l) => l.tables?.includes(NAME)); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await ops.close();
    }
    const done = lines.find((l) => l.tables?.includes(NAME));
    expect(done?.msg).to.equal('tables vacuumed');
    expect((await measured()).reltuples).to.equal(1_000);
  });

  it('reads PGLITE_VACUUM_INTERVAL_SECONDS: 60 by default, 0 turns it off, nonsense is refused', () => {
    expect(loadConfig({}).db).to.include({ kind: 'pglite', vacuumIntervalSeconds: 60 });
    expect(loadConfig({ PGLITE_VACUUM_INTERVAL_SECONDS: '0' }).db).to.include({ vacuumIntervalSeconds: 0 });
    expect(() => loadConfig({ PGLITE_VACUUM_INTERVAL_SECONDS: 'often' })).to.throw(ConfigError, /PGLITE_VACUUM_INTERVAL_SECONDS/);
  });
});
