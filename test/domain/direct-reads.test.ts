import { expect } from 'chai';
import type { Knex } from 'knex';
import { readRows } from '../../src/db/direct';
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

  it("skips Knex's query runner on PostgreSQL outside a transaction, and only there, still emitting its query event", async () => {
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
    const pg = db.client.config.client === 'pg';
    expect(seen.filter((q) => /SELECT 1 AS one/.test(q.sql)).map((q) => q.direct === true)).to.deep.equal([pg]);
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
});
