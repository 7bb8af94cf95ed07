import { expect } from 'chai';
import { expectScimError, GROUP, memberRows, patchOp, qs, scimTenant, SEARCH, USER, type ScimTenant } from './helpers';

/** A token never sees or touches another tenant's resources: their ids are 404, their rows invisible. */
describe('SCIM: tenant isolation', () => {
  let a: ScimTenant;
  let b: ScimTenant;
  let aUser: string;
  let aGroup: string;
  let bUser: string;

  before(async () => {
    a = await scimTenant();
    b = await scimTenant();
    aUser = (await a.scim.post('/Users', { schemas: [USER], userName: 'shared-name@example.com', externalId: 'ext-iso', title: 'A' }).expect(201)).body.id;
    aGroup = (await a.scim.post('/Groups', { schemas: [GROUP], displayName: 'Shared name', externalId: 'ext-iso', members: [{ value: aUser }] }).expect(201)).body.id;
    bUser = (await b.scim.post('/Users', { schemas: [USER], userName: 'b-only@example.com' }).expect(201)).body.id;
  });

  async function aUnchanged() {
    const u = await a.scim.get(`/Users/${aUser}`).expect(200);
    expect(u.body).to.include({ title: 'A', userName: 'shared-name@example.com' });
    expect(u.body.meta.version).to.equal('W/"1"');
    const g = await a.scim.get(`/Groups/${aGroup}`).expect(200);
    expect(g.body.displayName).to.equal('Shared name');
    expect(g.body.meta.version).to.equal('W/"1"');
    expect(await memberRows(aGroup)).to.deep.equal([aUser]);
  }

  it("answers 404 for another tenant's user on GET, PUT, PATCH and DELETE", async () => {
    expectScimError(await b.scim.get(`/Users/${aUser}`), 404);
    expectScimError(await b.scim.get(`/Users/${aUser}`).set('If-None-Match', 'W/"1"'), 404);
    expectScimError(await b.scim.put(`/Users/${aUser}`, { schemas: [USER], userName: 'stolen@example.com' }), 404);
    expectScimError(await b.scim.patch(`/Users/${aUser}`, patchOp({ op: 'replace', path: 'title', value: 'B' })), 404);
    expectScimError(await b.scim.delete(`/Users/${aUser}`), 404);
    await aUnchanged();
  });

  it("answers 404 for another tenant's group on GET, PUT, PATCH and DELETE", async () => {
    expectScimError(await b.scim.get(`/Groups/${aGroup}`), 404);
    expectScimError(await b.scim.get(`/Groups/${aGroup}?excludedAttributes=members`), 404);
    expectScimError(await b.scim.put(`/Groups/${aGroup}`, { schemas: [GROUP], displayName: 'Stolen', members: [] }), 404);
    expectScimError(await b.scim.patch(`/Groups/${aGroup}`, patchOp({ op: 'remove', path: 'members' })), 404);
    expectScimError(await b.scim.delete(`/Groups/${aGroup}`), 404);
    await aUnchanged();
  });

  it("never shows another tenant's resources in lists, filters or searches", async () => {
    const users = await b.scim.get('/Users').expect(200);
    expect(users.body.totalResults).to.equal(1);
    expect(users.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([bUser]);
    for (const filter of [`id eq "${aUser}"`, 'userName eq "shared-name@example.com"', 'externalId eq "ext-iso"', 'title pr', `groups[value eq "${aGroup}"]`]) {
      const res = await b.scim.get(`/Users${qs({ filter })}`).expect(200);
      expect(res.body.totalResults, filter).to.equal(0);
    }
    for (const filter of [`id eq "${aGroup}"`, 'displayName eq "Shared name"', `members[value eq "${aUser}"]`, 'externalId pr']) {
      const res = await b.scim.get(`/Groups${qs({ filter })}`).expect(200);
      expect(res.body.totalResults, filter).to.equal(0);
    }
    const root = await b.scim.post('/.search', { schemas: [SEARCH], filter: 'meta.created pr' }).expect(200);
    expect(root.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([bUser]);
    const userSearch = await b.scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName sw "shared"' }).expect(200);
    expect(userSearch.body.totalResults).to.equal(0);
    const cursor = await b.scim.get('/Users?cursor=&count=10').expect(200);
    expect(cursor.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([bUser]);
  });

  it("refuses another tenant's users and groups as members", async () => {
    expectScimError(await b.scim.post('/Groups', { schemas: [GROUP], displayName: 'Grabby', members: [{ value: aUser }] }), 400, 'invalidValue');
    const bGroup = (await b.scim.post('/Groups', { schemas: [GROUP], displayName: 'B group', members: [{ value: bUser }] }).expect(201)).body.id;
    expectScimError(await b.scim.patch(`/Groups/${bGroup}`, patchOp({ op: 'add', path: 'members', value: [{ value: aUser }] })), 400, 'invalidValue');
    expectScimError(await b.scim.patch(`/Groups/${bGroup}`, patchOp({ op: 'add', path: 'members', value: [{ value: aGroup, type: 'Group' }] })), 400, 'invalidValue');
    expectScimError(await b.scim.put(`/Groups/${bGroup}`, { schemas: [GROUP], displayName: 'B group', members: [{ value: aUser }] }), 400, 'invalidValue');
    expect(await memberRows(bGroup)).to.deep.equal([bUser]);
    // Removing a foreign id is a no-op, not a way to touch tenant A.
    await b.scim.patch(`/Groups/${bGroup}`, patchOp({ op: 'remove', path: 'members', value: [{ value: aUser }] })).expect(204);
    await aUnchanged();
  });

  it('keeps uniqueness per tenant: the same userName and displayName are free in another tenant', async () => {
    await b.scim.post('/Users', { schemas: [USER], userName: 'SHARED-NAME@example.com' }).expect(201);
    await b.scim.post('/Groups', { schemas: [GROUP], displayName: 'Shared name' }).expect(201);
    await aUnchanged();
  });
});
