import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { api, bearer } from '../helpers/http';
import { BULK_REQUEST, ENTERPRISE, expectScimError, GROUP, memberRows, qs, scimTenant, USER, type ScimTenant } from './helpers';

/** /Users: create, read, replace, delete, uniqueness, attribute characteristics (RFC 7643 §4.1). */
describe('SCIM: Users', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  it('creates a user: 201, Location, ETag and the full resource with meta', async () => {
    const res = await t.scim
      .post('/Users', {
        schemas: [USER],
        userName: 'bjensen@example.com',
        name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
        phoneNumbers: [{ value: '555-555-8377', type: 'work' }],
        addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US', primary: true }],
        x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx' }],
        entitlements: [{ value: 'beta' }],
        roles: [{ value: 'admin', primary: true }],
        ims: [{ value: 'bjensen', type: 'xmpp' }],
        photos: [{ value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' }],
        timezone: 'America/Los_Angeles',
        preferredLanguage: 'en-US',
        userType: 'Employee',
        profileUrl: 'https://login.example.com/bjensen',
      })
      .expect(201);
    const id = res.body.id as string;
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    expect(res.headers.location).to.equal(res.body.meta.location);
    expect(res.headers.location).to.match(new RegExp(`^http://[^/]+/scim/v2/Users/${id}$`));
    expect(res.headers.etag).to.equal('W/"1"');
    expect(res.body.meta).to.include({ resourceType: 'User', version: 'W/"1"' });
    expect(Date.parse(res.body.meta.created)).to.be.closeTo(Date.now(), 60_000);
    expect(res.body.meta.lastModified).to.equal(res.body.meta.created);
    expect(res.body).to.include({ userName: 'bjensen@example.com', active: true, timezone: 'America/Los_Angeles' });
    expect(res.body.addresses[0]).to.include({ locality: 'Hollywood', primary: true });
    const read = await t.scim.get(`/Users/${id}`).expect(200);
    const { meta: _m1, ...a } = read.body;
    const { meta: _m2, ...b } = res.body;
    expect(a).to.deep.equal(b);
  });

  it('gives users and groups time-ordered ids: UUID version 7, creation time first (migration 20261205000100)', async () => {
    const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const before = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.scim.post('/Users', { schemas: [USER], userName: `v7-${i}@example.com` }).expect(201)).body.id);
    const bulk = await t.scim
      .post('/Bulk', { schemas: [BULK_REQUEST], Operations: [0, 1].map((i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { schemas: [USER], userName: `v7-bulk-${i}@example.com` } })) })
      .expect(200);
    for (const op of bulk.body.Operations) ids.push(String(op.location).split('/').pop()!);
    ids.push((await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'v7 group' }).expect(201)).body.id);
    const after = Date.now();
    for (const id of ids) {
      expect(id).to.match(v7);
      // The server's clock may differ from ours by a little: within a minute of the requests.
      expect(timeOf(id)).to.be.within(before - 60_000, after + 60_000);
    }
    // Created one after the other: their times never go backwards.
    const times = ids.map(timeOf);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('reads attribute names without regard to case and writes them back in canonical case', async () => {
    const res = await t.scim.post('/Users', { SCHEMAS: [USER], USERNAME: 'CaSe@example.com', Name: { GIVENNAME: 'Cas' }, EMAILS: [{ VALUE: 'c@example.com', Type: 'WORK', Primary: 'true' }] }).expect(201);
    expect(res.body).to.deep.include({ userName: 'CaSe@example.com', name: { givenName: 'Cas' }, emails: [{ value: 'c@example.com', type: 'work', primary: true }] });
  });

  it('ignores readOnly attributes (id, meta, groups) and unknown ones on input', async () => {
    const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'ro' }).expect(201);
    const res = await t.scim
      .post('/Users', {
        schemas: [USER],
        id: '11111111-1111-4111-8111-111111111111',
        userName: 'ro@example.com',
        meta: { version: 'W/"42"', created: '2000-01-01T00:00:00Z' },
        groups: [{ value: g.body.id }],
        shoeSize: 44,
      })
      .expect(201);
    expect(res.body.id).to.not.equal('11111111-1111-4111-8111-111111111111');
    expect(res.body.meta.version).to.equal('W/"1"');
    expect(res.body).to.not.have.any.keys('groups', 'shoeSize');
    expect(await memberRows(g.body.id)).to.deep.equal([]);
  });

  it('never returns the password, and stores only its hash', async () => {
    const res = await t.scim.post('/Users', { schemas: [USER], userName: 'pw@example.com', password: 't1meMa$heen' }).expect(201);
    expect(JSON.stringify(res.body)).to.not.include('t1meMa$heen');
    expect(res.body).to.not.have.property('password');
    const read = await t.scim.get(`/Users/${res.body.id}?attributes=password`).expect(200);
    expect(read.body).to.not.have.property('password');
    const row = await testContext().db('users').where({ id: res.body.id }).first();
    expect(row.password_hash).to.be.a('string').and.not.include('t1meMa$heen');
  });

  it('answers 400 invalidValue for a missing or blank userName, wrong types and non-canonical values', async () => {
    expectScimError(await t.scim.post('/Users', { schemas: [USER], displayName: 'no name' }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: '  ' }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'x@example.com', active: 'sometimes' }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'x@example.com', name: 'not an object' }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'x@example.com', emails: [{ value: 'x@example.com', type: 'pigeon' }] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [GROUP], userName: 'x@example.com' }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'x'.repeat(300) }), 400);
    const { body } = await t.scim.get('/Users?count=0').expect(200);
    expect(body.totalResults).to.equal(0);
  });

  describe('uniqueness', () => {
    it('refuses a userName that differs only in case with 409 uniqueness', async () => {
      await t.scim.post('/Users', { schemas: [USER], userName: 'Okta.Style@Example.com' }).expect(201);
      expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'OKTA.STYLE@EXAMPLE.COM' }), 409, 'uniqueness');
      const other = await t.scim.post('/Users', { schemas: [USER], userName: 'other@example.com' }).expect(201);
      expectScimError(await t.scim.put(`/Users/${other.body.id}`, { schemas: [USER], userName: 'okta.style@example.com' }), 409, 'uniqueness');
    });

    it('lets exactly one of many parallel creates of one userName succeed', async () => {
      const spellings = Array.from({ length: 12 }, (_, i) => (i % 2 ? 'race@example.com' : 'RACE@example.COM'));
      const results = await Promise.all(spellings.map((userName) => t.scim.post('/Users', { schemas: [USER], userName })));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).to.have.length(1);
      expect(statuses.filter((s) => s === 409)).to.have.length(11);
      for (const r of results.filter((x) => x.status === 409)) expectScimError(r, 409, 'uniqueness');
      const list = await t.scim.get(`/Users${qs({ filter: 'userName eq "race@example.com"' })}`).expect(200);
      expect(list.body.totalResults).to.equal(1);
    });

    it('allows the same userName in another tenant, and the same externalId twice', async () => {
      const other = await scimTenant();
      await t.scim.post('/Users', { schemas: [USER], userName: 'same@example.com', externalId: 'dup' }).expect(201);
      await other.scim.post('/Users', { schemas: [USER], userName: 'same@example.com' }).expect(201);
      await t.scim.post('/Users', { schemas: [USER], userName: 'twin@example.com', externalId: 'dup' }).expect(201);
      const res = await t.scim.get(`/Users${qs({ filter: 'externalId eq "dup"' })}`).expect(200);
      expect(res.body.totalResults).to.equal(2);
    });
  });

  it('replaces the whole user on PUT: attributes left out are cleared', async () => {
    const c = await t.scim.post('/Users', { schemas: [USER, ENTERPRISE], userName: 'put@example.com', title: 'Boss', nickName: 'B', externalId: 'e1', [ENTERPRISE]: { department: 'X' } }).expect(201);
    const res = await t.scim.put(`/Users/${c.body.id}`, { schemas: [USER], userName: 'put2@example.com', nickName: 'C', active: false }).expect(200);
    expect(res.body).to.include({ id: c.body.id, userName: 'put2@example.com', nickName: 'C', active: false });
    expect(res.body).to.not.have.any.keys('title', 'externalId', ENTERPRISE);
    expect(res.body.meta.created).to.equal(c.body.meta.created);
    expect(res.body.meta.version).to.equal('W/"2"');
    expectScimError(await t.scim.put(`/Users/${c.body.id}`, { schemas: [USER], nickName: 'no userName' }), 400, 'invalidValue');
  });

  it('keeps deactivated users readable and listable', async () => {
    const c = await t.scim.post('/Users', { schemas: [USER], userName: 'inactive@example.com', active: false }).expect(201);
    expect(c.body.active).to.equal(false);
    await t.scim.get(`/Users/${c.body.id}`).expect(200);
    const all = await t.scim.get('/Users').expect(200);
    expect(all.body.Resources.map((r: { id: string }) => r.id)).to.include(c.body.id);
    expect(all.body.totalResults).to.equal(1);
  });

  it('deletes a user and its memberships; the group sees it gone', async () => {
    const a = await t.scim.post('/Users', { schemas: [USER], userName: 'del-a@example.com' }).expect(201);
    const b = await t.scim.post('/Users', { schemas: [USER], userName: 'del-b@example.com' }).expect(201);
    const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Doomed members', members: [{ value: a.body.id }, { value: b.body.id }] }).expect(201);
    await t.scim.delete(`/Users/${a.body.id}`).expect(204);
    await t.scim.get(`/Users/${a.body.id}`).expect(404);
    expectScimError(await t.scim.delete(`/Users/${a.body.id}`), 404);
    const group = await t.scim.get(`/Groups/${g.body.id}`).expect(200);
    expect(group.body.members.map((m: { value: string }) => m.value)).to.deep.equal([b.body.id]);
    expect(group.body.meta.version).to.equal('W/"2"');
    const v2 = await api().get(`/api/v2/groups/${g.body.id}`).set(bearer(await t.mint(['group_administration']))).expect(200);
    expect(v2.body.memberCount).to.equal(1);
    const byMember = await t.scim.get(`/Groups${qs({ filter: `members[value eq "${a.body.id}"]` })}`).expect(200);
    expect(byMember.body.totalResults).to.equal(0);
  });

  it('loses no change when many PATCHes modify one user in parallel', async () => {
    const u = await t.scim.post('/Users', { schemas: [USER], userName: 'busy@example.com' }).expect(201);
    const values = Array.from({ length: 10 }, (_, i) => `busy${i}@example.com`);
    const results = await Promise.all(values.map((value) => t.scim.patch(`/Users/${u.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'emails', value: [{ value }] }] })));
    expect(results.map((r) => r.status)).to.deep.equal(values.map(() => 200));
    const read = await t.scim.get(`/Users/${u.body.id}`).expect(200);
    expect(read.body.emails.map((e: { value: string }) => e.value).sort()).to.deep.equal([...values].sort());
    expect(read.body.meta.version).to.equal('W/"11"');
  });

  it('counts users exactly in totalResults as they come and go', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await t.scim.post('/Users', { schemas: [USER], userName: `count${i}@example.com` }).expect(201)).body.id);
    expect((await t.scim.get('/Users?count=0').expect(200)).body.totalResults).to.equal(3);
    await t.scim.delete(`/Users/${made[1]}`).expect(204);
    expect((await t.scim.get('/Users?count=0').expect(200)).body.totalResults).to.equal(2);
    expect((await t.scim.get('/Users?count=0&filter=userName%20sw%20%22count%22').expect(200)).body.totalResults).to.equal(2);
  });

  it('answers 404 for unknown and malformed ids on every method, never 400 or 500', async () => {
    const u = await t.scim.post('/Users', { schemas: [USER], userName: 'real@example.com' }).expect(201);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '12345', `${u.body.id}x`, 'x'.repeat(200), 'x'.repeat(2000), '%00', '%E2%9C%93', "1'%20OR%20'1'='1"]) {
      expectScimError(await t.scim.get(`/Users/${id}`), 404);
      expectScimError(await t.scim.put(`/Users/${id}`, { schemas: [USER], userName: 'real@example.com' }), 404);
      expectScimError(await t.scim.patch(`/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 404);
      expectScimError(await t.scim.delete(`/Users/${id}`), 404);
    }
    // An upper-case spelling of a real id names the same user.
    await t.scim.get(`/Users/${String(u.body.id).toUpperCase()}`).expect(200);
  });

  describe('/Me', () => {
    it('answers 501 for a token that acts as no user, on every method', async () => {
      expectScimError(await t.scim.get('/Me'), 501);
      expectScimError(await t.scim.put('/Me', { schemas: [USER], userName: 'me@example.com' }), 501);
      expectScimError(await t.scim.patch('/Me', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 501);
      expectScimError(await t.scim.delete('/Me'), 501);
      expectScimError(await t.scim.post('/Me', { schemas: [USER], userName: 'me@example.com' }), 501);
    });

    it('reads, replaces and deletes the acting user for a token minted with a userId', async () => {
      const u = await t.scim.post('/Users', { schemas: [USER], userName: 'me@example.com', title: 'Me' }).expect(201);
      const token = await t.mint(['scim_provisioning'], { userId: u.body.id });
      const me = await api().get('/scim/v2/Me').set(bearer(token)).expect(200);
      expect(me.body).to.include({ id: u.body.id, userName: 'me@example.com', title: 'Me' });
      expect(me.headers['content-type']).to.equal('application/scim+json');
      const plain = await t.mint([], { userId: u.body.id });
      await api().get('/scim/v2/Me').set(bearer(plain)).expect(200);
      const put = await api().put('/scim/v2/Me').set(bearer(token)).set('Content-Type', 'application/scim+json').send(JSON.stringify({ schemas: [USER], userName: 'me@example.com', title: 'Still me' })).expect(200);
      expect(put.body.title).to.equal('Still me');
      expectScimError(await api().post('/scim/v2/Me').set(bearer(token)).set('Content-Type', 'application/scim+json').send(JSON.stringify({ schemas: [USER], userName: 'x' })), 501);
      await api().delete('/scim/v2/Me').set(bearer(token)).expect(204);
      await t.scim.get(`/Users/${u.body.id}`).expect(404);
    });
  });
});
