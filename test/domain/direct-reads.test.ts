import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { readRows, runInOneTransaction, runStatement } from '../../src/db/direct';
import { createDb } from '../../src/db/knex';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';

describe('hot reads straight on a pooled connection (readRows)', () => {
  it('returns the rows Knex returns, for a built query and a raw statement, in and out of a transaction', async () => {
    const t = await newTenant();
    const { db } = testContext();
    await Promise.all([t.user(), t.user(), t.user()]);
    const built = () => db('users').select('id', 'user_name', 'created_at').where({ tenant_id: t.id }).orderBy('seq');
    const viaKnex = await built();
    expect(viaKnex).to.have.length(3);
    expect(await readRows(db, built())).to.deep.equal(viaKnex);
    const raw = () => db.raw('SELECT id, user_name, created_at FROM users WHERE tenant_id = ? ORDER BY seq', [t.id]);
    expect(await readRows(db, raw())).to.deep.equal(viaKnex);
    await db.transaction(async (trx: Knex.Transaction) => {
      expect(await readRows(trx, trx('users').select('id', 'user_name', 'created_at').where({ tenant_id: t.id }).orderBy('seq'))).to.deep.equal(viaKnex);
    });
  });

  it("skips Knex's query runner outside a transaction, and only there, still emitting its query event", async () => {
    const { db } = testContext();
    const seen: { sql: string; direct?: boolean }[] = [];
    const record = (q: { sql: string; direct?: boolean }) => {
      seen.push(q);
    };
    db.on('query', record);
    try {
      await readRows(db, db.raw('SELECT 1 AS one'));
      await db.transaction(async (trx: Knex.Transaction) => {
        await readRows(trx, trx.raw('SELECT 2 AS two'));
      });
    } finally {
      db.off('query', record);
    }
    expect(seen.filter((q) => /SELECT 1 AS one/.test(q.sql)).map((q) => q.direct === true)).to.deep.equal([true]);
    expect(seen.filter((q) => /SELECT 2 AS two/.test(q.sql)).map((q) => q.direct === true)).to.deep.equal([false]);
  });

  it('keeps the database error (its SQLSTATE) and the pool usable after it', async () => {
    const { db } = testContext();
    const err = await readRows(db, db.raw('SELECT id FROM users WHERE id = ?::uuid', ['not-a-uuid'])).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).to.equal('22P02');
    // Every pooled connection is still usable (none was left checked out or broken).
    const results = await Promise.all(Array.from({ length: 20 }, () => readRows<{ one: number }>(db, db.raw('SELECT 1 AS one'))));
    expect(results.map((r) => r[0].one)).to.deep.equal(Array(20).fill(1));
  });

  describe('statements kept prepared (prepared: true)', () => {
    /** A one-connection pool of the test database, so the session's prepared statements can be listed. */
    const onePool = (prepared: boolean) => {
      const { config } = testContext();
      if (config.db.kind !== 'postgres') throw new Error('PostgreSQL only');
      return createDb({ ...config.db, poolMax: 1, preparedStatements: prepared });
    };
    const preparedNames = async (db: Knex) =>
      (await readRows<{ name: string }>(db, db.raw("SELECT name FROM pg_prepared_statements WHERE name LIKE 'roster_%' ORDER BY name"))).map((r) => r.name);
    const table = `direct_prepared_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;

    it('gives the same rows, prepared once per connection, and only when asked (and allowed, on PostgreSQL)', async () => {
      const { db } = testContext();
      const pg = db.client.config.client === 'pg';
      const t = await newTenant();
      await t.user({ userName: 'prepared-probe@example.com' });
      const probe = (d: Knex) => d.raw('SELECT user_name FROM users WHERE tenant_id = ? ORDER BY seq /* prepared probe */', [t.id]);
      expect(await readRows(db, probe(db), { prepared: true })).to.deep.equal(await db.raw('SELECT user_name FROM users WHERE tenant_id = ? ORDER BY seq', [t.id]).then((r) => r.rows));
      expect(await runStatement(db, 'SELECT ?::int + 1 AS two', [1], { prepared: true })).to.deep.equal([{ two: 2 }]);
      // The name a statement is prepared under: derived from its text, the same on every connection.
      const probeName = `roster_${createHash('sha1').update(probe(db).toSQL().toNative().sql).digest('hex').slice(0, 20)}`;
      // PGlite has one connection, shared with the other tests (the probe is prepared on it by now).
      const on = pg ? onePool(true) : db;
      try {
        await readRows(on, probe(on), { prepared: false });
        expect((await preparedNames(on)).includes(probeName), 'asked only on PGlite, above').to.equal(!pg);
        for (let i = 0; i < 3; i++) expect(await readRows(on, probe(on), { prepared: true })).to.deep.equal([{ user_name: 'prepared-probe@example.com' }]);
        const names = await preparedNames(on);
        expect(names.filter((n) => n === probeName), 'prepared once').to.have.length(1);
        if (pg) expect(names, 'nothing else on a fresh connection').to.deep.equal([probeName]);
        if (pg) {
          const off = onePool(false);
          try {
            await readRows(off, probe(off), { prepared: true });
            expect(await preparedNames(off), 'PG_PREPARED_STATEMENTS off').to.deep.equal([]);
          } finally {
            await off.destroy();
          }
        }
      } finally {
        if (on !== db) await on.destroy();
      }
    });

    it('keeps a statement prepared, and preparing on, after its first run failed on a value', async () => {
      const { db } = testContext();
      const text = 'SELECT ?::int AS n /* prepared, first run fails */';
      const err = await runStatement(db, text, ['x'], { prepared: true }).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(err?.code).to.equal('22P02');
      expect(await runStatement(db, text, ['5'], { prepared: true })).to.deep.equal([{ n: 5 }]);
      const seen: boolean[] = [];
      const record = (q: { sql: string; prepared?: boolean }) => {
        if (q.sql.includes('still prepared')) seen.push(q.prepared === true);
      };
      db.on('query', record);
      try {
        expect(await runStatement(db, 'SELECT 1 AS one /* still prepared */', [], { prepared: true })).to.deep.equal([{ one: 1 }]);
      } finally {
        db.off('query', record);
      }
      expect(seen).to.deep.equal([true]);
    });

    it('runs a transaction of statements prepared, and again unnamed when the server lost them (runInOneTransaction)', async () => {
      const { db } = testContext();
      const pg = db.client.config.client === 'pg';
      // PGlite: its one connection is the tests' own; the pooler case is left to PostgreSQL.
      const on = pg ? onePool(true) : db;
      const statements = [
        { sql: 'SELECT ?::int AS n /* one transaction, first */', bindings: [1], prepared: true },
        { sql: 'SELECT ?::int + 1 AS n /* one transaction, second */', bindings: [1], prepared: true },
      ];
      const prepared: boolean[] = [];
      const record = (q: { sql: string; prepared?: boolean }) => {
        if (q.sql.includes('one transaction')) prepared.push(q.prepared === true);
      };
      on.on('query', record);
      try {
        expect(await runInOneTransaction(on, statements)).to.deep.equal([[{ n: 1 }], [{ n: 2 }]]);
        expect(prepared).to.deep.equal([true, true]);
        if (pg) {
          expect(await preparedNames(on)).to.have.length(2);
          // A pooler in transaction mode loses prepared statements: the transaction runs again unnamed.
          await on.raw('DEALLOCATE ALL');
          expect(await runInOneTransaction(on, statements)).to.deep.equal([[{ n: 1 }], [{ n: 2 }]]);
          expect(prepared.slice(2)).to.deep.equal([true, false, false]);
          expect(await preparedNames(on)).to.deep.equal([]);
        }
      } finally {
        on.off('query', record);
        if (on !== db) await on.destroy();
      }
    });

    it('runs unnamed when a migration changed what the statement returns, or the server lost it', async () => {
      const { db } = testContext();
      const pg = db.client.config.client === 'pg';
      // PGlite: its one connection is the tests' own; the pooler case is left to PostgreSQL.
      const on = pg ? onePool(true) : db;
      try {
        await on.raw(`CREATE TABLE ${table} (a int)`);
        await on.raw(`INSERT INTO ${table} VALUES (1)`);
        const select = `SELECT * FROM ${table}`;
        expect(await runStatement(on, select, [], { prepared: true })).to.deep.equal([{ a: 1 }]);
        // The prepared form now returns the wrong columns: PostgreSQL refuses it (0A000).
        await on.raw(`ALTER TABLE ${table} ADD COLUMN b int DEFAULT 2`);
        expect(await runStatement(on, select, [], { prepared: true })).to.deep.equal([{ a: 1, b: 2 }]);
        expect(await runStatement(on, select, [], { prepared: true })).to.deep.equal([{ a: 1, b: 2 }]);
        // A pooler in transaction mode loses prepared statements: the pool stops preparing.
        const other = `SELECT a + 1 AS c FROM ${table}`;
        expect(await runStatement(on, other, [], { prepared: true })).to.deep.equal([{ c: 2 }]);
        if (pg) expect(await preparedNames(on)).to.have.length(2);
        if (pg) await on.raw('DEALLOCATE ALL');
        expect(await runStatement(on, other, [], { prepared: true })).to.deep.equal([{ c: 2 }]);
        expect(await runStatement(on, 'SELECT 3 AS three', [], { prepared: true })).to.deep.equal([{ three: 3 }]);
        if (pg) expect(await preparedNames(on)).to.deep.equal([]);
      } finally {
        await on.raw(`DROP TABLE IF EXISTS ${table}`);
        if (on !== db) await on.destroy();
      }
    });
  });
});
