import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { GROUP_PROFILE_FIELDS } from '../../src/http/v2/present';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

describe('Groups v2: profiles and field config', () => {
  let t: TestTenant;
  let token: string;

  beforeEach(async () => {
    t = await newTenant();
    token = await t.token([]);
  });

  describe('GET /api/v2/fieldconfig', () => {
    it('describes the group profile fields, which are exactly what the profile endpoints return', async () => {
      const res = await api().get('/api/v2/fieldconfig?type=group').set(bearer(token)).expect(200);
      expect(res.body).to.include({ id: 'group', entityType: 'group', state: 'active' });
      const keys = res.body.sections.flatMap((s: { fieldList: { key: string }[] }) => s.fieldList.map((f) => f.key));
      expect([...keys].sort()).to.deep.equal(Object.keys(GROUP_PROFILE_FIELDS).sort());
      const g = await t.group({ description: 'd' });
      const profile = await api().get(`/api/v2/groups/${g.id}/profile`).set(bearer(token)).expect(200);
      for (const key of keys) expect(profile.body, key).to.have.property(key);
    });

    it('answers person with its fields, org and externalContact with a clear 400, anything else with 400', async () => {
      const person = await api().get('/api/v2/fieldconfig?type=person').set(bearer(token)).expect(200);
      expect(person.body.entityType).to.equal('person');
      for (const type of ['org', 'externalContact']) {
        const res = await api().get(`/api/v2/fieldconfig?type=${type}`).set(bearer(token)).expect(400);
        expect(res.body.message).to.match(/no field config/);
      }
      await api().get('/api/v2/fieldconfig?type=robot').set(bearer(token)).expect(400);
      await api().get('/api/v2/fieldconfig').set(bearer(token)).expect(400);
      await api().get('/api/v2/fieldconfig?type=group').expect(401);
    });
  });

  describe('GET /api/v2/groups/{groupId}/profile', () => {
    it('returns the basics and every profile field, or only the fields asked for', async () => {
      const g = await t.group({ name: 'Profiled', description: 'About us', visibility: 'public' });
      const all = await api().get(`/api/v2/groups/${g.id}/profile`).set(bearer(token)).expect(200);
      expect(all.body).to.include({ id: g.id, name: 'Profiled', state: 'active', version: 1, description: 'About us', type: 'official', memberCount: 0 });
      expect(all.body.selfUri).to.equal(`/api/v2/groups/${g.id}/profile`);
      const some = await api().get(`/api/v2/groups/${g.id}/profile?fields=description,visibility`).set(bearer(token)).expect(200);
      expect(Object.keys(some.body).sort()).to.deep.equal(['dateModified', 'description', 'id', 'name', 'selfUri', 'state', 'version', 'visibility']);
    });

    it('answers 400 for an unknown field and 404 for an unknown group', async () => {
      const g = await t.group();
      const res = await api().get(`/api/v2/groups/${g.id}/profile?fields=salary`).set(bearer(token)).expect(400);
      expect(res.body.message).to.match(/unknown profile field/);
      await api().get(`/api/v2/groups/${randomUUID()}/profile`).set(bearer(token)).expect(404);
    });
  });

  describe('GET /api/v2/profiles/groups', () => {
    it('pages group profiles by name, filters by ids (repeated or comma-joined) and sorts descending', async () => {
      const made = [];
      for (const name of ['b', 'a', 'c']) made.push(await t.group({ name }));
      const p1 = await api().get('/api/v2/profiles/groups?pageSize=2').set(bearer(token)).expect(200);
      expect(p1.body.entities.map((p: { name: string }) => p.name)).to.deep.equal(['a', 'b']);
      expect(p1.body).to.include({ total: 3, pageCount: 2 });
      expect(p1.body.nextUri).to.equal('/api/v2/profiles/groups?pageSize=2&pageNumber=2');
      const byIds = await api().get(`/api/v2/profiles/groups?id=${made[0].id},${made[2].id}&sortOrder=DESC`).set(bearer(token)).expect(200);
      expect(byIds.body.entities.map((p: { name: string }) => p.name)).to.deep.equal(['c', 'b']);
      const repeated = await api().get(`/api/v2/profiles/groups?id=${made[0].id}&id=${made[1].id}`).set(bearer(token)).expect(200);
      expect(repeated.body.total).to.equal(2);
    });
  });
});
