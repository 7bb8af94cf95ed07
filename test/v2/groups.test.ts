import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { findAuditEvents } from '../../src/domain/audit/audit.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

describe('Groups v2: /api/v2/groups', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
  });

  describe('POST /api/v2/groups', () => {
    it('creates a group with the defaults when only a name is given', async () => {
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Engineering' }).expect(200);
      expect(res.body).to.include({ name: 'Engineering', type: 'official', visibility: 'public', rulesVisible: false, state: 'active', version: 1, memberCount: 0 });
      expect(res.body.selfUri).to.equal(`/api/v2/groups/${res.body.id}`);
      expect(res.body.ownerIds).to.deep.equal([]);
      expect(Date.parse(res.body.dateModified)).to.be.a('number').and.not.NaN;
    });

    it('keeps every writable field it is given', async () => {
      const owner = await t.user();
      const body = {
        name: 'Support',
        description: 'Front line',
        type: 'social',
        visibility: 'members',
        rulesVisible: true,
        images: [{ resolution: 'x96', imageUri: 'https://example.com/a.png' }],
        addresses: [{ address: '+15551234', display: '555-1234', type: 'GROUPPHONE', mediaType: 'PHONE' }],
        ownerIds: [owner.id],
      };
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send(body).expect(200);
      expect(res.body).to.deep.include(body);
    });

    it('takes one image or contact drawn as an object (as the document shows them) as an array of one', async () => {
      const image = { resolution: 'x96', imageUri: 'https://example.com/a.png' };
      const address = { address: '+15551234', display: '555-1234', type: 'GROUPPHONE', mediaType: 'PHONE' };
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Drawn', images: image, addresses: address }).expect(200);
      expect(res.body).to.deep.include({ images: [image], addresses: [address] });
      const put = await api().put(`/api/v2/groups/${res.body.id}`).set(bearer(admin)).send({ name: 'Drawn', version: res.body.version, images: { ...image, resolution: 'x48' } }).expect(200);
      expect(put.body.images).to.deep.equal([{ ...image, resolution: 'x48' }]);
      await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Bad image', images: 'https://example.com/a.png' }).expect(400);
      await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Bad contact', addresses: { type: 'CARRIER-PIGEON' } }).expect(400);
    });

    it('accepts the group_creation right as well', async () => {
      const creator = await t.token(['group_creation']);
      await api().post('/api/v2/groups').set(bearer(creator)).send({ name: 'Made by a creator' }).expect(200);
    });

    it('answers 409 when the name is taken, in any case, and writes nothing', async () => {
      await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Sales' }).expect(200);
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'SALES' }).expect(409);
      expect(res.body).to.include({ status: 409, code: 'general.conflict' });
      const list = await api().get('/api/v2/groups').set(bearer(admin)).expect(200);
      expect(list.body.total).to.equal(1);
    });

    it('answers 400 for a missing name, a wrong type or an unknown enum value', async () => {
      for (const body of [{}, { name: 42 }, { name: 'x', type: 'secret' }, { name: 'x', visibility: 'everyone' }, { name: '' }, { name: 'x', rulesVisible: 'yes' }]) {
        const res = await api().post('/api/v2/groups').set(bearer(admin)).send(body).expect(400);
        expect(res.body).to.include({ status: 400, code: 'bad.request' });
        expect(res.body.message).to.be.a('string').and.not.empty;
      }
      const list = await api().get('/api/v2/groups').set(bearer(admin)).expect(200);
      expect(list.body.total).to.equal(0);
    });

    it('answers 400 for an owner id that is not a user of the tenant, and creates nothing', async () => {
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Owned', ownerIds: [randomUUID()] }).expect(400);
      expect(res.body.message).to.match(/owner/);
      expect((await api().get('/api/v2/groups').set(bearer(admin))).body.total).to.equal(0);
    });

    it('answers 400 for malformed JSON and writes nothing', async () => {
      const res = await api().post('/api/v2/groups').set(bearer(admin)).set('Content-Type', 'application/json').send('{"name": "x",').expect(400);
      expect(res.body).to.include({ code: 'bad.request', status: 400 });
      expect(res.body.message).to.match(/JSON/);
    });

    it('answers 413 for a body over the limit', async () => {
      const big = 'x'.repeat(testContext().config.bodyLimitBytes + 10);
      const res = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'big', description: big }).expect(413);
      expect(res.body).to.include({ status: 413 });
    });

    it('answers 415 for a body that is not JSON', async () => {
      const res = await api().post('/api/v2/groups').set(bearer(admin)).set('Content-Type', 'text/plain').send('name=x').expect(415);
      expect(res.body.status).to.equal(415);
    });
  });

  describe('GET /api/v2/groups/{groupId}', () => {
    it('returns the group', async () => {
      const g = await t.group({ name: 'Readers', description: 'They read' });
      const res = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(res.body).to.include({ id: g.id, name: 'Readers', description: 'They read', version: 1 });
    });

    it('returns 404 for an unknown id and for a malformed one', async () => {
      for (const id of [randomUUID(), 'not-a-uuid', '1']) {
        const res = await api().get(`/api/v2/groups/${id}`).set(bearer(admin)).expect(404);
        expect(res.body).to.include({ status: 404, code: 'not.found' });
      }
    });

    it('needs only a valid token, no right', async () => {
      const g = await t.group();
      const plain = await t.token([]);
      await api().get(`/api/v2/groups/${g.id}`).set(bearer(plain)).expect(200);
    });
  });

  describe('GET /api/v2/groups (listing)', () => {
    it('pages with pageSize and pageNumber and links the pages', async () => {
      for (const name of ['c', 'a', 'e', 'b', 'd']) await t.group({ name });
      const p1 = await api().get('/api/v2/groups?pageSize=2&pageNumber=1').set(bearer(admin)).expect(200);
      expect(p1.body.entities.map((g: { name: string }) => g.name)).to.deep.equal(['a', 'b']);
      expect(p1.body).to.include({ pageSize: 2, pageNumber: 1, total: 5, pageCount: 3 });
      expect(p1.body.nextUri).to.equal('/api/v2/groups?pageSize=2&pageNumber=2');
      expect(p1.body).to.not.have.property('previousUri');
      expect(p1.body.lastUri).to.equal('/api/v2/groups?pageSize=2&pageNumber=3');
      const p3 = await api().get('/api/v2/groups?pageSize=2&pageNumber=3').set(bearer(admin)).expect(200);
      expect(p3.body.entities.map((g: { name: string }) => g.name)).to.deep.equal(['e']);
      expect(p3.body).to.not.have.property('nextUri');
      expect(p3.body.previousUri).to.equal('/api/v2/groups?pageSize=2&pageNumber=2');
    });

    it('returns an empty page past the end', async () => {
      await t.group();
      const res = await api().get('/api/v2/groups?pageSize=10&pageNumber=9').set(bearer(admin)).expect(200);
      expect(res.body.entities).to.deep.equal([]);
      expect(res.body.total).to.equal(1);
    });

    it('defaults to 25 per page', async () => {
      const res = await api().get('/api/v2/groups').set(bearer(admin)).expect(200);
      expect(res.body).to.include({ pageSize: 25, pageNumber: 1, total: 0, pageCount: 0 });
    });

    it('sorts descending on request', async () => {
      for (const name of ['a', 'b', 'c']) await t.group({ name });
      const res = await api().get('/api/v2/groups?sortOrder=DESC').set(bearer(admin)).expect(200);
      expect(res.body.entities.map((g: { name: string }) => g.name)).to.deep.equal(['c', 'b', 'a']);
    });

    it('filters by repeated and by comma-joined ids', async () => {
      const [a, b] = [await t.group(), await t.group(), await t.group()];
      const repeated = await api().get(`/api/v2/groups?id=${a.id}&id=${b.id}`).set(bearer(admin)).expect(200);
      expect(repeated.body.entities.map((g: { id: string }) => g.id).sort()).to.deep.equal([a.id, b.id].sort());
      const joined = await api().get(`/api/v2/groups?id=${a.id},${b.id}`).set(bearer(admin)).expect(200);
      expect(joined.body.total).to.equal(2);
      const junk = await api().get('/api/v2/groups?id=nope').set(bearer(admin)).expect(200);
      expect(junk.body.total).to.equal(0);
    });

    it('takes at most 100 ids, repeated or comma-joined alike (400 beyond)', async () => {
      const ids = Array.from({ length: 101 }, () => randomUUID());
      for (const qs of [ids.map((id) => `id=${id}`).join('&'), `id=${ids.join(',')}`, `id=${ids.slice(0, 60).join(',')}&id=${ids.slice(60).join(',')}`]) {
        const res = await api().get(`/api/v2/groups?${qs}`).set(bearer(admin)).expect(400);
        expect(res.body).to.include({ status: 400, code: 'bad.request' });
      }
      expect((await api().get(`/api/v2/groups?id=${ids.slice(1).join(',')}`).set(bearer(admin)).expect(200)).body.total).to.equal(0);
    });

    it('rejects out-of-range paging with 400', async () => {
      for (const qs of ['pageSize=0', 'pageSize=501', 'pageNumber=0', 'pageNumber=-1', 'pageSize=abc', 'sortOrder=sideways', 'bogus=1']) {
        const res = await api().get(`/api/v2/groups?${qs}`).set(bearer(admin)).expect(400);
        expect(res.body.code).to.equal('bad.request');
      }
    });
  });

  describe('PUT /api/v2/groups/{groupId}', () => {
    it('updates the given fields when the version matches, and bumps the version', async () => {
      const g = await t.group({ name: 'Old', description: 'keep me' });
      const res = await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'New', visibility: 'owners', version: 1 }).expect(200);
      expect(res.body).to.include({ name: 'New', description: 'keep me', visibility: 'owners', version: 2 });
      const again = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(again.body).to.include({ name: 'New', version: 2 });
    });

    it('answers 409 on a version mismatch and changes nothing', async () => {
      const g = await t.group({ name: 'Stable' });
      await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'First', version: 1 }).expect(200);
      const res = await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'Second', version: 1 }).expect(409);
      expect(res.body).to.include({ status: 409, code: 'version.mismatch' });
      // The message and the details agree: the current version is expected, the stale one was given.
      expect(res.body.message).to.contain('expected 2, got 1');
      expect(JSON.stringify(res.body.details)).to.contain('"expected":2').and.to.contain('"actual":1');
      const now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ name: 'First', version: 2 });
    });

    it('answers 400 when the body names another group, changing nothing; the same id (any case) is fine', async () => {
      const g = await t.group({ name: 'Pinned' });
      const res = await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ id: randomUUID(), name: 'Moved', version: 1 }).expect(400);
      expect(res.body.message).to.contain('id');
      expect((await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200)).body).to.include({ name: 'Pinned', version: 1 });
      await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ id: g.id.toUpperCase(), name: 'Kept', version: 1 }).expect(200);
    });

    it('answers 400 without a version', async () => {
      const g = await t.group();
      await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'x' }).expect(400);
    });

    it('answers 404 for an unknown group', async () => {
      await api().put(`/api/v2/groups/${randomUUID()}`).set(bearer(admin)).send({ name: 'x', version: 1 }).expect(404);
    });

    it('lets exactly one of two concurrent updates with the same version win', async () => {
      const g = await t.group();
      const results = await Promise.all(
        ['A', 'B'].map((name) => api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name, version: 1 })),
      );
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409]);
    });
  });

  describe('DELETE /api/v2/groups/{groupId}', () => {
    it('deletes the group; it is then 404', async () => {
      const g = await t.group();
      await api().delete(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(204);
      await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(404);
      await api().delete(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(404);
    });

    it('refuses to delete a system group with 409', async () => {
      const g = await testContext().deps.services.groups.createGroup(t.admin, { name: 'Everyone', system: true });
      const res = await api().delete(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(409);
      expect(res.body.code).to.equal('general.conflict');
    });

    it('accepts the admin right as well', async () => {
      const g = await t.group();
      await api().delete(`/api/v2/groups/${g.id}`).set(bearer(await t.token(['admin']))).expect(204);
    });
  });

  describe('members', () => {
    it('adds and removes members, keeping memberCount and version', async () => {
      const g = await t.group();
      const [u1, u2] = [await t.user(), await t.user()];
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [u1.id, u2.id], version: 1 }).expect(202);
      let now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ memberCount: 2, version: 2 });
      await api().delete(`/api/v2/groups/${g.id}/members?ids=${u1.id}`).set(bearer(admin)).expect(202);
      now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ memberCount: 1, version: 3 });
    });

    it('is idempotent for members already present', async () => {
      const g = await t.group();
      const u = await t.user();
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [u.id], version: 1 }).expect(202);
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [u.id, u.id], version: 2 }).expect(202);
      const now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body.memberCount).to.equal(1);
    });

    it('refuses unknown user ids with 400 and adds none of the batch', async () => {
      const g = await t.group();
      const u = await t.user();
      const res = await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [u.id, randomUUID()], version: 1 }).expect(400);
      expect(res.body.message).to.match(/unknown user/);
      const now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ memberCount: 0, version: 1 });
    });

    it('answers 409 when the version is stale', async () => {
      const g = await t.group();
      const u = await t.user();
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [u.id], version: 7 }).expect(409);
    });

    it('lets a group owner change members, but not a plain user token', async () => {
      const owner = await t.user();
      const other = await t.user();
      const g = await t.group({ ownerIds: [owner.id] });
      const ownerToken = await t.token([], { userId: owner.id });
      const otherToken = await t.token([], { userId: other.id });
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(otherToken)).send({ memberIds: [other.id], version: 1 }).expect(403);
      await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(ownerToken)).send({ memberIds: [other.id], version: 1 }).expect(202);
    });

    it('loses nothing when many requests add distinct members in parallel', async () => {
      const g = await t.group();
      const users = await Promise.all(Array.from({ length: 30 }, () => t.user()));
      const { services } = testContext().deps;
      const results = await Promise.all(
        users.map((u) => services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: u.id }])),
      );
      expect(results.every((r) => r.added.length === 1)).to.equal(true);
      // Over HTTP the Groups v2 version check serialises writers: each client retries on 409
      // with the version it reads back, as a real client does.
      const addWithRetry = async (userId: string) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const { body } = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin));
          const res = await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).send({ memberIds: [userId], version: body.version });
          if (res.status === 202) return attempt;
          expect(res.status).to.equal(409);
        }
        throw new Error('no success after 100 attempts');
      };
      const late = await Promise.all(Array.from({ length: 20 }, () => t.user()));
      await Promise.all(late.map((u) => addWithRetry(u.id)));
      const now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body.memberCount).to.equal(50);
      const [{ count }] = await testContext().db('group_members').where({ tenant_id: t.id, group_id: g.id }).count({ count: '*' });
      expect(Number(count)).to.equal(50);
    });
  });

  describe('audit', () => {
    it('writes one event per change, in order, with before and after', async () => {
      const create = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Audited' }).expect(200);
      const id = create.body.id;
      await api().put(`/api/v2/groups/${id}`).set(bearer(admin)).send({ name: 'Audited 2', version: 1 }).expect(200);
      await api().put(`/api/v2/groups/${id}`).set(bearer(admin)).send({ name: 'Nope', version: 1 }).expect(409);
      await api().delete(`/api/v2/groups/${id}`).set(bearer(admin)).expect(204);
      const events = await findAuditEvents(testContext().db, t.id);
      expect(events.map((e) => e.action)).to.deep.equal(['group.created', 'group.updated', 'group.deleted']);
      expect(events[1].before).to.include({ name: 'Audited' });
      expect(events[1].after).to.include({ name: 'Audited 2' });
      expect(events.every((e) => e.resource_id === id && e.actor_token_id)).to.equal(true);
    });
  });
});
