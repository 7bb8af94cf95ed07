import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { runInOneTransaction, runStatement } from '../../src/db/direct';
import { CONFLICT_ATTEMPTS, inTransaction } from '../../src/db/transaction';
import { ServiceUnavailable } from '../../src/domain/errors';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/** An error as PostgreSQL raises it for the loser of a deadlock. */
const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });

describe('transactions that lose to concurrent ones', () => {
  const tenants = () => testContext().deps.db('tenants');

  it('run again: nothing of the lost attempt stays, and the next one commits', async () => {
    const { db } = testContext().deps;
    const name = `conflict-${randomUUID().slice(0, 8)}`;
    let runs = 0;
    const id = await inTransaction(db, async (trx) => {
      runs++;
      const [row] = await trx('tenants').insert({ name }).returning('id');
      // The name is unique: a second insert would fail if the first attempt's had stayed.
      if (runs === 1) throw deadlock();
      return (row as { id: string }).id;
    });
    expect(runs).to.equal(2);
    expect((await tenants().where({ name })).map((t: { id: string }) => t.id)).to.deep.equal([id]);
  });

  it(`give up after ${CONFLICT_ATTEMPTS} runs with a 503-kind error, and other errors are not run again`, async () => {
    const { db } = testContext().deps;
    let runs = 0;
    const lost = await inTransaction(db, async () => {
      runs++;
      throw deadlock();
    }).catch((err: unknown) => err);
    expect(runs).to.equal(CONFLICT_ATTEMPTS);
    expect(lost).to.be.instanceOf(ServiceUnavailable);
    runs = 0;
    const other = await inTransaction(db, async () => {
      runs++;
      throw Object.assign(new Error('unique'), { code: '23505' });
    }).catch((err: unknown) => err);
    expect(runs).to.equal(1);
    expect(other).to.have.property('code', 'already_exists');
  });

  it('run again when they are one statement or a batch of statements (the write lanes)', async () => {
    const { db } = testContext().deps;
    const seq = `conflict_seq_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    // A statement that fails as a deadlock loser the first time it runs (a sequence is not rolled back).
    await db.raw(`CREATE SEQUENCE ${seq}`);
    await db.raw(`CREATE FUNCTION ${seq}_once() RETURNS int LANGUAGE plpgsql AS $$
                    BEGIN IF nextval('${seq}') = 1 THEN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END IF; RETURN 1; END $$`);
    try {
      const name = `conflict-${randomUUID().slice(0, 8)}`;
      const out = await runInOneTransaction<{ n: number }>(db, [
        { sql: 'INSERT INTO tenants (name) VALUES (?)', bindings: [name] },
        { sql: `SELECT ${seq}_once() AS n`, bindings: [] },
      ]);
      expect(out[1]).to.deep.equal([{ n: 1 }]);
      expect(await tenants().where({ name })).to.have.length(1);
      await db.raw(`ALTER SEQUENCE ${seq} RESTART`);
      expect(await runStatement<{ n: number }>(db, `SELECT ${seq}_once() AS n`, [])).to.deep.equal([{ n: 1 }]);
    } finally {
      await db.raw(`DROP FUNCTION ${seq}_once()`);
      await db.raw(`DROP SEQUENCE ${seq}`);
    }
  });

  describe('over HTTP, racing writers never answer 5xx', () => {
    let t: TestTenant;
    let token: string;
    beforeEach(async () => {
      t = await newTenant();
      token = await t.token(['scim_provisioning']);
    });
    const patch = (groupId: string, op: object) =>
      api()
        .patch(`/scim/v2/Groups/${groupId}`)
        .set(bearer(token))
        .set('Content-Type', 'application/scim+json')
        .send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op] });

    it('nesting two groups in each other at once: one wins, the other is a cycle (400)', async function () {
      this.timeout(60_000);
      for (let round = 0; round < 8; round++) {
        const [a, b] = [await t.group(), await t.group()];
        const answers = await Promise.all([
          patch(a.id, { op: 'add', path: 'members', value: [{ value: b.id }] }),
          patch(b.id, { op: 'add', path: 'members', value: [{ value: a.id }] }),
        ]);
        const statuses = answers.map((r) => r.status).sort();
        expect(statuses, JSON.stringify(answers.map((r) => r.body))).to.satisfy((s: number[]) => s[0] < 300 && s[1] === 400);
      }
    });

    it('deleting a user while it is added to a group again: no 5xx, and the group does not keep it', async function () {
      this.timeout(60_000);
      const g = await t.group();
      for (let round = 0; round < 8; round++) {
        const u = await t.user();
        expect((await patch(g.id, { op: 'add', path: 'members', value: [{ value: u.id }] })).status).to.be.within(200, 299);
        const [removed, added] = await Promise.all([
          api().delete(`/scim/v2/Users/${u.id}`).set(bearer(token)),
          patch(g.id, { op: 'add', path: 'members', value: [{ value: u.id }] }),
        ]);
        expect(removed.status).to.equal(204);
        // Added before the delete (then removed with the user), or refused after it.
        expect([200, 204, 400, 404], JSON.stringify(added.body)).to.include(added.status);
        const members = (await api().get(`/scim/v2/Groups/${g.id}`).set(bearer(token)).expect(200)).body.members as { value: string }[] | undefined;
        expect((members ?? []).map((m) => m.value)).to.not.include(u.id);
      }
    });

    it('reading, updating and setting permissions of a v1 group while it is deleted: 200 or the unknown-id answer, never 5xx', async function () {
      this.timeout(60_000);
      const all = await t.token(['all']);
      for (let round = 0; round < 8; round++) {
        const created = await api().post('/api/v1/groups').set(bearer(all)).send({ name: `doomed-${round}-${randomUUID().slice(0, 6)}` }).expect(201);
        const id = created.body.groupId as number;
        const [got, put, perms, removed] = await Promise.all([
          api().get(`/api/v1/groups/${id}`).set(bearer(all)),
          api().put(`/api/v1/groups/${id}`).set(bearer(all)).send({ description: 'x' }),
          api().put(`/api/v1/groups/${id}/permissions`).set(bearer(all)).send([{ objectType: 'SEGMENT', objectId: 1, permissions: ['READ'] }]),
          api().delete(`/api/v1/groups/${id}`).set(bearer(all)),
        ]);
        expect(removed.status).to.equal(204);
        expect([200, 404], JSON.stringify(got.body)).to.include(got.status);
        expect([200, 404], JSON.stringify(put.body)).to.include(put.status);
        // An inaccessible group is a 400 for permissions, as the document says, never a 404.
        expect([200, 400], JSON.stringify(perms.body)).to.include(perms.status);
      }
    });

    it('listing and reading easydb groups while they are deleted: 200 with the groups still there, never 5xx', async function () {
      this.timeout(60_000);
      const all = await t.token(['all']);
      for (let round = 0; round < 4; round++) {
        const groups = await Promise.all(Array.from({ length: 6 }, () => t.group()));
        const answers = await Promise.all([
          ...groups.map((g) => api().delete(`/api/v2/groups/${g.id}`).set(bearer(all))),
          ...groups.flatMap((g) => [api().get('/api/v1/group').query({ token: all }), api().get(`/api/v1/group/${g.seq}`).query({ token: all })]),
        ]);
        for (const a of answers) expect([200, 204], JSON.stringify(a.body).slice(0, 300)).to.include(a.status);
      }
    });

    it('an easydb ACL naming a user who is deleted at the same time does not outlive the user', async function () {
      this.timeout(60_000);
      const all = await t.token(['all']);
      for (let round = 0; round < 8; round++) {
        const u = await t.user();
        const [created] = await Promise.all([
          api()
            .put('/api/v1/group')
            .query({ token: all })
            .send([{ group: { name: `acl-${round}-${randomUUID().slice(0, 6)}` }, _acl: [{ who: { _basetype: 'user', user: { _id: u.seq } }, rights: { bag_read: {} } }] }]),
          api().delete(`/scim/v2/Users/${u.id}`).set(bearer(token)),
        ]);
        expect([200, 400], JSON.stringify(created.body)).to.include(created.status);
        expect(await testContext().db('group_acl').where({ tenant_id: t.id, who_id: u.id })).to.deep.equal([]);
      }
    });
  });
});
