import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

const names = (body: { entities: { name: string }[] }) => body.entities.map((g) => g.name);

describe('Groups v2, document 004: /v2/groups, page/size and PUT /api/v2/groups', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
  });

  describe('zero-based page/size on GET /api/v2/groups', () => {
    it('page=0&size=n is the page of pageNumber=1&pageSize=n, and links keep the style', async () => {
      for (const name of ['a', 'b', 'c', 'd', 'e']) await t.group({ name });
      const zero = await api().get('/api/v2/groups?page=0&size=2').set(bearer(admin)).expect(200);
      const one = await api().get('/api/v2/groups?pageNumber=1&pageSize=2').set(bearer(admin)).expect(200);
      expect(names(zero.body)).to.deep.equal(names(one.body)).and.deep.equal(['a', 'b']);
      expect(zero.body).to.include({ pageNumber: 1, pageSize: 2, total: 5, pageCount: 3 });
      expect(zero.body.nextUri).to.equal('/api/v2/groups?size=2&page=1');
      expect(zero.body.lastUri).to.equal('/api/v2/groups?size=2&page=2');
      const last = await api().get('/api/v2/groups?page=2&size=2').set(bearer(admin)).expect(200);
      expect(names(last.body)).to.deep.equal(['e']);
      expect(last.body.previousUri).to.equal('/api/v2/groups?size=2&page=1');
    });

    it('refuses naming the page or the size both ways, and out-of-range values', async () => {
      for (const qs of ['page=0&pageNumber=1', 'size=2&pageSize=2', 'page=-1', 'size=0', 'size=501', 'page=x']) {
        const res = await api().get(`/api/v2/groups?${qs}`).set(bearer(admin)).expect(400);
        expect(res.body).to.include({ status: 400, code: 'bad.request' });
      }
    });

    it('mixes page with pageSize and size with pageNumber', async () => {
      for (const name of ['a', 'b', 'c']) await t.group({ name });
      expect(names((await api().get('/api/v2/groups?page=1&pageSize=2').set(bearer(admin))).body)).to.deep.equal(['c']);
      expect(names((await api().get('/api/v2/groups?size=2&pageNumber=2').set(bearer(admin))).body)).to.deep.equal(['c']);
    });
  });

  describe('PUT /api/v2/groups (id in the body)', () => {
    it('updates the group the body names, with or without a version', async () => {
      const g = await t.group({ name: 'Old', description: 'keep' });
      const res = await api().put('/api/v2/groups').set(bearer(admin)).send({ id: g.id, name: 'New' }).expect(200);
      expect(res.body).to.include({ id: g.id, name: 'New', description: 'keep', version: 2 });
      await api().put('/api/v2/groups').set(bearer(admin)).send({ id: g.id, name: 'Newer', version: 2 }).expect(200);
    });

    it('answers 409 on a stale version, 404 for an unknown id, 400 without an id, 403 without a right', async () => {
      const g = await t.group({ name: 'Stable' });
      const stale = await api().put('/api/v2/groups').set(bearer(admin)).send({ id: g.id, name: 'x', version: 9 }).expect(409);
      expect(stale.body.code).to.equal('version.mismatch');
      await api().put('/api/v2/groups').set(bearer(admin)).send({ id: randomUUID(), name: 'x' }).expect(404);
      await api().put('/api/v2/groups').set(bearer(admin)).send({ name: 'x' }).expect(400);
      await api().put('/api/v2/groups').set(bearer(await t.token(['group_creation']))).send({ id: g.id, name: 'x' }).expect(403);
      const now = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ name: 'Stable', version: 1 });
    });
  });

  describe('/v2/groups', () => {
    it('creates with a name only, reads by uuid, patches name and description, lists and deletes', async () => {
      const created = await api().post('/v2/groups').set(bearer(admin)).send({ name: 'Approvers', description: 'Spend approvals' }).expect(200);
      const id = created.body.id;
      expect(created.body).to.include({ name: 'Approvers', type: 'official', visibility: 'public', rulesVisible: false, version: 1 });
      expect(created.body.selfUri).to.equal(`/v2/groups/${id}`);

      const got = await api().get(`/v2/groups/${id}`).set(bearer(admin)).expect(200);
      expect(got.body).to.include({ id, name: 'Approvers', description: 'Spend approvals' });

      const patched = await api().patch(`/v2/groups/${id}`).set(bearer(admin)).send({ description: 'EMEA approvals' }).expect(200);
      expect(patched.body).to.include({ name: 'Approvers', description: 'EMEA approvals', version: 2 });
      await api().patch(`/v2/groups/${id}`).set(bearer(admin)).send({ name: 'Approvers EMEA', version: 2 }).expect(200);

      const list = await api().get('/v2/groups?page=0&size=10').set(bearer(admin)).expect(200);
      expect(list.body.entities.map((g: { name: string }) => g.name)).to.deep.equal(['Approvers EMEA']);
      expect(list.body.selfUri).to.equal('/v2/groups?size=10&page=0');

      await api().delete(`/v2/groups/${id}`).set(bearer(admin)).expect(204);
      await api().get(`/v2/groups/${id}`).set(bearer(admin)).expect(404);
      await api().get(`/api/v2/groups/${id}`).set(bearer(admin)).expect(404);
    });

    it('is the same data as /api/v2/groups', async () => {
      const made = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Shared' }).expect(200);
      const seen = await api().get(`/v2/groups/${made.body.id}`).set(bearer(admin)).expect(200);
      expect({ ...seen.body, selfUri: undefined }).to.deep.equal({ ...made.body, selfUri: undefined });
    });

    it('PATCH refuses other fields, an empty body and a stale version, and changes nothing', async () => {
      const g = await t.group({ name: 'Fixed' });
      for (const body of [{ visibility: 'owners' }, {}, { name: '' }]) {
        const res = await api().patch(`/v2/groups/${g.id}`).set(bearer(admin)).send(body).expect(400);
        expect(res.body).to.include({ status: 400, code: 'bad.request' });
      }
      const stale = await api().patch(`/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'x', version: 5 }).expect(409);
      expect(stale.body.code).to.equal('version.mismatch');
      const now = await api().get(`/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
      expect(now.body).to.include({ name: 'Fixed', version: 1 });
    });

    it('answers 401, 403 and 404 in the v2 error shape', async () => {
      const g = await t.group();
      const none = await api().get('/v2/groups').expect(401);
      expect(none.body).to.include({ status: 401, code: 'authentication.required' });
      expect(none.headers['www-authenticate']).to.match(/^Bearer/);
      const plain = await t.token([]);
      const forbidden = await api().delete(`/v2/groups/${g.id}`).set(bearer(plain)).expect(403);
      expect(forbidden.body).to.include({ status: 403, code: 'missing.any.permissions' });
      await api().patch(`/v2/groups/${g.id}`).set(bearer(plain)).send({ name: 'x' }).expect(403);
      await api().post('/v2/groups').set(bearer(plain)).send({ name: 'x' }).expect(403);
      const missing = await api().get(`/v2/groups/${randomUUID()}`).set(bearer(admin)).expect(404);
      expect(missing.body).to.include({ status: 404, code: 'not.found' });
      const undocumented = await api().get(`/v2/groups/${g.id}/members`).set(bearer(admin)).expect(404);
      expect(undocumented.body).to.include({ status: 404 });
    });

    it('answers 409 for a taken name', async () => {
      await t.group({ name: 'Taken' });
      const res = await api().post('/v2/groups').set(bearer(admin)).send({ name: 'taken' }).expect(409);
      expect(res.body.code).to.equal('general.conflict');
    });
  });
});
