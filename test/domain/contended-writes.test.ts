import { expect } from 'chai';
import type { Knex } from 'knex';
import { runInOneTransaction } from '../../src/db/direct';
import { AlreadyExists, InvalidInput, VersionMismatch } from '../../src/domain/errors';
import type { Principal } from '../../src/domain/principal';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { statementsOf } from '../helpers/statements';
import { memberRows } from '../scim/helpers';

const ADD_STATEMENT = /INSERT INTO group_members/;

describe('concurrent membership changes of one group (write lanes, issue 7)', () => {
  let t: TestTenant;
  const svc = () => testContext().deps.services.groupDirectory;
  const addUser = (groupId: string, userId: string, condition?: number) => svc().mutateGroup(t.admin, groupId, { addMembers: [{ kind: 'user', id: userId }] }, condition);

  beforeEach(async () => {
    t = await newTenant();
  });

  it('runs the first add alone and those that arrive meanwhile in one transaction, each with its own version, in order', async () => {
    const g = await t.group();
    const users = await Promise.all(Array.from({ length: 8 }, () => t.user()));
    const { sql } = await statementsOf(async () => {
      // mutateGroup reaches its lane before its first await: all eight are queued in call order.
      const results = await Promise.all(users.map((u) => addUser(g.id, u.id)));
      expect(results.map((r) => r.version)).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9]);
      expect(results.map((r) => r.memberCount)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    });
    // The first alone (its own transaction), the seven others between one BEGIN and one COMMIT.
    expect(sql.filter((s) => ADD_STATEMENT.test(s))).to.have.length(8);
    expect(sql.filter((s) => s === 'BEGIN')).to.have.length(1);
    expect(sql.filter((s) => s === 'COMMIT')).to.have.length(1);
    expect(sql.findIndex((s) => s === 'BEGIN')).to.equal(1);
    const stored = await testContext().db('groups').where({ id: g.id }).first('member_count', 'version');
    expect(stored).to.deep.equal({ member_count: 8, version: 9 });
    // One event per add, in the order they were applied, each naming its member.
    const events = await testContext().db('audit_events').where({ tenant_id: t.id, resource_id: g.id, action: 'membership.added' }).orderBy('id');
    expect(events.map((e: { after: { added: unknown } }) => e.after.added)).to.deep.equal(users.map((u) => [{ kind: 'user', id: u.id }]));
  });

  it('lets one add of a batch fail on its own (an unknown id, a stale If-Match) while the others land', async () => {
    const g = await t.group();
    const [a, b, c] = await Promise.all([t.user(), t.user(), t.user()]);
    const ghost = '6f1c0c36-3c36-4d0e-9a52-0c6a2b9f0e11';
    const results = await Promise.allSettled([
      addUser(g.id, a.id),
      addUser(g.id, ghost),
      addUser(g.id, b.id, 1), // the version is 2 by the time its turn comes (a was added first)
      addUser(g.id, c.id, 2),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(InvalidInput);
    expect((results[2] as PromiseRejectedResult).reason).to.be.instanceOf(VersionMismatch);
    expect((results[3] as PromiseFulfilledResult<{ version: number }>).value.version).to.equal(3);
    expect(await memberRows(g.id)).to.deep.equal([a.id, c.id].sort());
  });

  it('orders adds and removals of one group as they arrive, in one transaction after the first', async () => {
    const g = await t.group();
    const [a, b, c] = await Promise.all([t.user(), t.user(), t.user()]);
    await addUser(g.id, c.id);
    const remove = (userId: string) => svc().mutateGroup(t.admin, g.id, { removeMembers: [{ kind: 'user', id: userId }] });
    const { sql } = await statementsOf(async () => {
      const results = await Promise.all([addUser(g.id, a.id), remove(a.id), remove(c.id), addUser(g.id, b.id), remove(a.id)]);
      expect(results.map((r) => [r.version, r.memberCount])).to.deep.equal([
        [3, 2],
        [4, 1],
        [5, 0],
        [6, 1],
        [6, 1], // a is no longer a member: nothing changes, no version
      ]);
    });
    // The first add alone; then one transaction: the group's lock, then each change in turn.
    expect(sql.filter((s) => s === 'BEGIN')).to.have.length(1);
    expect(sql[sql.indexOf('BEGIN') + 1]).to.match(/FOR UPDATE$/);
    expect(sql.filter((s) => /DELETE FROM group_members/.test(s))).to.have.length(3);
    expect(await memberRows(g.id)).to.deep.equal([b.id]);
  });

  it('keeps adds to different groups apart (each runs at once)', async () => {
    const [g1, g2] = [await t.group(), await t.group()];
    const u = await t.user();
    const { sql } = await statementsOf(() => Promise.all([addUser(g1.id, u.id), addUser(g2.id, u.id)]));
    expect(sql.filter((s) => ADD_STATEMENT.test(s))).to.have.length(2);
    expect(sql.filter((s) => s === 'BEGIN')).to.have.length(0);
  });
});

describe('concurrent user creates from one token (write lanes, issue 7)', () => {
  let t: TestTenant;
  const users = () => testContext().deps.services.users;
  const INSERT_USERS = /INSERT INTO users/;

  beforeEach(async () => {
    t = await newTenant();
  });

  it('inserts the first alone and those that arrive meanwhile with one statement, each with its own event', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `lane-${i}@example.com`);
    const { sql } = await statementsOf(async () => {
      const created = await Promise.all(names.map((userName) => users().createUser(t.admin, { userName })));
      expect(created.map((u) => u.userName)).to.deep.equal(names);
      expect(new Set(created.map((u) => u.id)).size).to.equal(6);
    });
    expect(sql.filter((s) => INSERT_USERS.test(s))).to.have.length(2);
    const events = await testContext().db('audit_events').where({ tenant_id: t.id, action: 'user.created' }).orderBy('id');
    expect(events.map((e: { after: { userName: string } }) => e.after.userName)).to.deep.equal(names);
    expect(new Set(events.map((e: { actor_token_id: string }) => e.actor_token_id))).to.deep.equal(new Set([t.admin.tokenId]));
  });

  it('refuses a userName taken by an earlier create of the same batch, and only that one', async () => {
    const results = await Promise.allSettled(['first@example.com', 'Twin@example.com', 'twin@example.com', 'last@example.com'].map((userName) => users().createUser(t.admin, { userName })));
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).to.be.instanceOf(AlreadyExists);
    const [{ n }] = await testContext().db('users').where({ tenant_id: t.id }).count({ n: '*' });
    expect(Number(n)).to.equal(3);
  });

  it('keeps creates of different tokens apart (each event names its own token)', async () => {
    const other: Principal = { ...t.admin, tokenId: (await testContext().deps.services.tokens.issueToken({ tenantId: t.id, name: 'other', rights: ['all'] })).record.id };
    await Promise.all([
      users().createUser(t.admin, { userName: 'a@example.com' }),
      users().createUser(other, { userName: 'b@example.com' }),
      users().createUser(t.admin, { userName: 'c@example.com' }),
    ]);
    const events = await testContext().db('audit_events').where({ tenant_id: t.id, action: 'user.created' }).orderBy('id');
    const byName = Object.fromEntries(events.map((e: { actor_token_id: string; after: { userName: string } }) => [e.after.userName, e.actor_token_id]));
    expect(byName).to.deep.equal({ 'a@example.com': t.admin.tokenId, 'b@example.com': other.tokenId, 'c@example.com': t.admin.tokenId });
  });
});

describe('runInOneTransaction', () => {
  let db: ReturnType<typeof testContext>['db'];
  before(async () => {
    db = testContext().db;
    await db.raw('CREATE TABLE IF NOT EXISTS test_one_transaction (n int PRIMARY KEY)');
  });
  after(async () => {
    await db.raw('DROP TABLE IF EXISTS test_one_transaction');
  });
  beforeEach(async () => {
    await db('test_one_transaction').del();
  });

  it('runs the statements in order in one transaction and returns the rows of each', async () => {
    const rows = await runInOneTransaction<{ n: number; txid: string }>(db, [
      { sql: 'INSERT INTO test_one_transaction (n) VALUES (?) RETURNING n, txid_current()::text AS txid', bindings: [1], prepared: true },
      { sql: 'INSERT INTO test_one_transaction (n) SELECT max(n) + ? FROM test_one_transaction RETURNING n, txid_current()::text AS txid', bindings: [1] },
    ]);
    expect(rows.map((r) => r[0].n)).to.deep.equal([1, 2]);
    expect(rows[0][0].txid).to.equal(rows[1][0].txid);
    expect((await db('test_one_transaction').orderBy('n')).map((r: { n: number }) => r.n)).to.deep.equal([1, 2]);
  });

  it('rolls all of them back when one fails, and throws its error', async () => {
    let caught: unknown;
    try {
      await runInOneTransaction(db, [
        { sql: 'INSERT INTO test_one_transaction (n) VALUES (?)', bindings: [1] },
        { sql: 'INSERT INTO test_one_transaction (n) VALUES (?)', bindings: [1] },
        { sql: 'INSERT INTO test_one_transaction (n) VALUES (?)', bindings: [2] },
      ]);
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).to.equal('23505');
    expect(await db('test_one_transaction')).to.deep.equal([]);
    // The connection went back to the pool usable (not left in the aborted transaction).
    const [{ one }] = (await db.raw('SELECT 1 AS one')).rows;
    expect(one).to.equal(1);
  });

  it("runs in the caller's transaction when given one", async () => {
    await db.transaction(async (trx: Knex.Transaction) => {
      await runInOneTransaction(trx, [{ sql: 'INSERT INTO test_one_transaction (n) VALUES (?)', bindings: [7] }]);
      await trx.rollback();
    }).catch(() => undefined);
    expect(await db('test_one_transaction')).to.deep.equal([]);
  });
});
