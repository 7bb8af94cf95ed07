import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import supertest from 'supertest';
import { buildApp } from '../../src/app';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { expectSpecResponse } from '../helpers/spec-response';

describe('Group entities: /group', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
  });

  const create = (body: object, token = admin) => api().post('/group').set(bearer(token)).send(body);
  const get = (id: string, fetch?: string) => {
    const req = api().get(`/group/${encodeURIComponent(id)}`).set(bearer(admin));
    return fetch ? req.set('fetch.group', fetch) : req;
  };

  function expectException(res: { body: Record<string, unknown> }, status: number) {
    expect(res.body).to.include({ 'entity-type': 'exception', status });
    expect(res.body.message).to.be.a('string').and.not.empty;
  }

  describe('POST /group', () => {
    it('creates a group under the client-chosen id and answers 201 with the entity', async () => {
      const res = await create({ 'entity-type': 'group', id: 'marketing', properties: { grouplabel: 'Marketing', description: 'The team', costCenter: 'CC-7', tags: ['a', 'b'] } }).expect(201);
      expect(res.body).to.deep.equal({
        'entity-type': 'group',
        id: 'marketing',
        properties: { groupname: 'marketing', grouplabel: 'Marketing', description: 'The team', costCenter: 'CC-7', tags: ['a', 'b'] },
      });
      expect((await get('marketing').expect(200)).body).to.deep.equal(res.body);
    });

    it('takes the id as an object, or as the deprecated groupname, and defaults the label to the id', async () => {
      expect((await create({ 'entity-type': 'group', id: { id: 'ops' } }).expect(201)).body.properties).to.include({ groupname: 'ops', grouplabel: 'ops', description: null });
      expect((await create({ 'entity-type': 'group', id: { groupname: 'dev' } }).expect(201)).body.id).to.equal('dev');
      expect((await create({ 'entity-type': 'group', groupname: 'qa', grouplabel: 'Quality' }).expect(201)).body.properties.grouplabel).to.equal('Quality');
    });

    it('sets member users (by id or user name), member groups and parent groups given on create', async () => {
      const [ann, bob] = [await t.user({ userName: 'ann' }), await t.user({ userName: 'bob' })];
      await create({ 'entity-type': 'group', id: 'parent' }).expect(201);
      await create({ 'entity-type': 'group', id: 'child' }).expect(201);
      const res = await create({ 'entity-type': 'group', id: 'middle', memberUsers: ['ANN', bob.id], memberGroups: ['child'], parentGroups: ['parent'] })
        .set('fetch.group', 'memberUsers,memberGroups,parentGroups')
        .expect(201);
      expect(res.body).to.deep.include({ memberUsers: [ann.userName, bob.userName], memberGroups: ['child'], parentGroups: ['parent'] });
    });

    it('answers 409 when the id exists, and 400 for a bad body, creating nothing', async () => {
      await create({ 'entity-type': 'group', id: 'dup' }).expect(201);
      expectException(await create({ 'entity-type': 'group', id: 'dup' }).expect(409), 409);
      for (const body of [{ id: 'x' }, { 'entity-type': 'user', id: 'x' }, { 'entity-type': 'group' }, { 'entity-type': 'group', id: 'a/b' }, { 'entity-type': 'group', id: '' }, { 'entity-type': 'group', id: 'x', color: 1 }, { 'entity-type': 'group', id: 'x', properties: { grouplabel: 5 } }, { 'entity-type': 'group', id: 'x', memberUsers: ['nobody'] }]) {
        expectException(await create(body).expect(400), 400);
      }
      await get('x').expect(404);
    });

    it("answers 409 for an id that is another group's uuid, which would hide that group", async () => {
      const scim = await t.group({ name: 'made over SCIM' });
      for (const id of [scim.id, scim.id.toUpperCase()]) expectException(await create({ 'entity-type': 'group', id }).expect(409), 409);
      const found = (await get(scim.id).expect(200)).body;
      expect(found.id).to.equal(scim.id);
      expect(found.properties).to.include({ grouplabel: 'made over SCIM' });
      // A uuid no group has is an id like any other.
      const fresh = randomUUID();
      await create({ 'entity-type': 'group', id: fresh }).expect(201);
      expect((await get(fresh).expect(200)).body).to.include({ id: fresh });
    });

    it('needs group_administration or admin', async () => {
      await create({ 'entity-type': 'group', id: 'nope' }, await t.token(['bag_read'])).expect(403);
      await create({ 'entity-type': 'group', id: 'yes' }, await t.token(['admin'])).expect(201);
    });
  });

  describe('GET /group/{id}', () => {
    it("answers 404 for an unknown id and another tenant's group", async () => {
      const other = await newTenant();
      await api().post('/group').set(bearer(await other.token(['admin']))).send({ 'entity-type': 'group', id: 'theirs' }).expect(201);
      expectException(await get('theirs').expect(404), 404);
      await get(randomUUID()).expect(404);
    });

    it('shows member lists only when fetched, by header or query', async () => {
      const u = await t.user({ userName: 'carol' });
      await create({ 'entity-type': 'group', id: 'g', memberUsers: ['carol'] }).expect(201);
      expect((await get('g').expect(200)).body).to.not.have.property('memberUsers');
      expect((await get('g', 'memberUsers').expect(200)).body.memberUsers).to.deep.equal([u.userName]);
      const viaQuery = await api().get('/group/g?fetch.group=memberUsers,parentGroups').set(bearer(admin)).expect(200);
      expect(viaQuery.body).to.deep.include({ memberUsers: ['carol'], parentGroups: [] });
    });

    it('answers for a group made in another dialect by its uuid, with its members', async () => {
      const g = await t.group({ name: 'Made elsewhere' });
      const u = await t.user();
      await testContext().deps.services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: u.id }]);
      const res = await get(g.id, 'memberUsers').expect(200);
      expect(res.body).to.deep.include({ id: g.id, memberUsers: [u.userName] });
      expect(res.body.properties.grouplabel).to.equal('Made elsewhere');
    });

    it('needs only a valid token', async () => {
      await create({ 'entity-type': 'group', id: 'open' }).expect(201);
      await api().get('/group/open').set(bearer(await t.token([]))).expect(200);
      const res = await api().get('/group/open').expect(401);
      expectException(res, 401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    });
  });

  describe('PUT /group/{id}', () => {
    it('updates the properties given, keeps the others, and removes a free property set to null', async () => {
      await create({ 'entity-type': 'group', id: 'sales', properties: { grouplabel: 'Sales', description: 'old', region: 'EU', tier: 1 } }).expect(201);
      const res = await api().put('/group/sales').set(bearer(admin)).send({ 'entity-type': 'group', id: 'sales', properties: { description: 'new', tier: null, extra: true } }).expect(200);
      expect(res.body.properties).to.deep.equal({ groupname: 'sales', grouplabel: 'Sales', description: 'new', region: 'EU', extra: true });
    });

    it('replaces member lists that are present', async () => {
      const [a, b] = [await t.user(), await t.user()];
      await create({ 'entity-type': 'group', id: 'team', memberUsers: [a.userName] }).expect(201);
      const res = await api().put('/group/team').set(bearer(admin)).set('fetch.group', 'memberUsers').send({ 'entity-type': 'group', memberUsers: [b.userName] }).expect(200);
      expect(res.body.memberUsers).to.deep.equal([b.userName]);
    });

    it('answers 400 (not the documented 500) for a body id that differs from the path, and changes nothing', async () => {
      await create({ 'entity-type': 'group', id: 'fixed', properties: { grouplabel: 'Fixed' } }).expect(201);
      const res = await api().put('/group/fixed').set(bearer(admin)).send({ 'entity-type': 'group', id: 'other', properties: { grouplabel: 'Moved' } }).expect(400);
      expectException(res, 400);
      expect(res.body.message).to.match(/differs/);
      expect((await get('fixed')).body.properties.grouplabel).to.equal('Fixed');
    });

    it('answers 404 for an unknown group', async () => {
      expectException(await api().put('/group/ghost').set(bearer(admin)).send({ 'entity-type': 'group' }).expect(404), 404);
    });

    it('refuses a membership cycle with 400 and keeps the group as it was', async () => {
      await create({ 'entity-type': 'group', id: 'a' }).expect(201);
      await create({ 'entity-type': 'group', id: 'b', memberGroups: ['a'] }).expect(201);
      await api().put('/group/a').set(bearer(admin)).send({ 'entity-type': 'group', memberGroups: ['b'], properties: { grouplabel: 'A!' } }).expect(400);
      expect((await get('a', 'memberGroups')).body).to.deep.include({ memberGroups: [] });
      expect((await get('a')).body.properties.grouplabel).to.equal('a');
    });
  });

  describe('DELETE /group/{id}', () => {
    it('deletes the group (204), then it is 404', async () => {
      await create({ 'entity-type': 'group', id: 'gone' }).expect(201);
      await api().delete('/group/gone').set(bearer(admin)).expect(204);
      await get('gone').expect(404);
      expectException(await api().delete('/group/gone').set(bearer(admin)).expect(404), 404);
    });

    it('removes ACL entries that name the deleted group', async () => {
      const holder = await t.group();
      const target = (await create({ 'entity-type': 'group', id: 'named' }).expect(201)).body;
      const { db } = testContext();
      const [row] = await db('groups').select('id').where({ tenant_id: t.id, key: target.id });
      await db('group_acl').insert({ tenant_id: t.id, group_id: holder.id, who_kind: 'group', who_id: row.id, rights: ['bag_read'] });
      await api().delete('/group/named').set(bearer(admin)).expect(204);
      expect(await db('group_acl').where({ tenant_id: t.id, who_id: row.id })).to.have.length(0);
    });
  });

  describe('users in a group', () => {
    it('adds a user by user name (201 with the group) and removes it by id (200)', async () => {
      const u = await t.user({ userName: 'dave@example.com' });
      await create({ 'entity-type': 'group', id: 'crew' }).expect(201);
      const added = await api().post('/group/crew/user/dave@example.com').set(bearer(admin)).set('fetch.group', 'memberUsers').expect(201);
      expect(added.body).to.deep.include({ id: 'crew', memberUsers: ['dave@example.com'] });
      await api().post(`/group/crew/user/${u.id}`).set(bearer(admin)).expect(201);
      const removed = await api().delete(`/group/crew/user/${u.id}`).set(bearer(admin)).set('fetch.group', 'memberUsers').expect(200);
      expect(removed.body.memberUsers).to.deep.equal([]);
    });

    it("answers 404 for an unknown group or user, and for another tenant's user", async () => {
      const foreign = await (await newTenant()).user();
      await create({ 'entity-type': 'group', id: 'crew' }).expect(201);
      expectException(await api().post('/group/nope/user/x').set(bearer(admin)).expect(404), 404);
      expectException(await api().post('/group/crew/user/nobody').set(bearer(admin)).expect(404), 404);
      await api().post(`/group/crew/user/${foreign.id}`).set(bearer(admin)).expect(404);
      await api().delete('/group/crew/user/nobody').set(bearer(admin)).expect(404);
      await api().delete('/group/nope/user/nobody').set(bearer(admin)).expect(404);
    });
  });

  describe('entities written as text (groupEntityText), as production sends them', () => {
    it('sends the entity the validated app answers, member users in creation order as PostgreSQL wrote them', async () => {
      const odd = ['zoë "quoted" \\ back', 'tab\there </script>', 'plain'];
      const users = [];
      for (const userName of odd) users.push(await t.user({ userName }));
      await create({ 'entity-type': 'group', id: 'parent' }).expect(201);
      await create({ 'entity-type': 'group', id: 'child' }).expect(201);
      const made = { 'entity-type': 'group', id: 'crew "1"', properties: { grouplabel: 'Crew ü', costCenter: 'CC-7', nested: { a: [1, null] } }, memberUsers: [odd[2], odd[0], odd[1]], memberGroups: ['child'], parentGroups: ['parent'] };
      await create(made).expect(201);
      // The app as in production: responses not checked, so the text goes out as it is.
      const app = buildApp({ ...testContext().deps, config: { ...testContext().deps.config, validateResponses: false } }, pino({ level: 'silent' }));
      for (const fetch of ['memberUsers,memberGroups,parentGroups', 'memberUsers', 'parentGroups', '']) {
        const path = `/group/${encodeURIComponent(made.id)}`;
        const res = await supertest(app)
          .get(path)
          .set(bearer(admin))
          .set('fetch.group', fetch)
          .buffer(true)
          .parse((r, done) => {
            let body = '';
            r.setEncoding('utf8');
            r.on('data', (chunk: string) => (body += chunk));
            r.on('end', () => done(null, body));
          })
          .expect(200);
        expect(res.headers['content-type']).to.equal('application/json; charset=utf-8');
        const parsed = JSON.parse(res.body as string);
        expect(parsed).to.deep.equal((await get(made.id, fetch || undefined).expect(200)).body);
        await expectSpecResponse('get', path, 200, parsed, 'application/json');
        if (fetch.startsWith('memberUsers')) expect(parsed.memberUsers).to.deep.equal(odd);
        else expect(parsed).to.not.have.property('memberUsers');
        expect(Object.keys(parsed)).to.deep.equal(['entity-type', 'id', 'properties', ...fetch.split(',').filter(Boolean)]);
      }
      const none = JSON.parse((await supertest(app).get('/group/child').set(bearer(admin)).set('fetch.group', 'memberUsers')).text);
      expect(none.memberUsers).to.deep.equal([]);
    });
  });
});
