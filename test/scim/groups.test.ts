import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { api, bearer } from '../helpers/http';
import { expectScimError, GROUP, memberRows, patchOp, qs, scimTenant, USER, type ScimTenant } from './helpers';

/** /Groups: create, read, replace, delete, uniqueness, and the rows every other dialect reads. */
describe('SCIM: Groups', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  async function users(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await t.scim.post('/Users', { schemas: [USER], userName: `m${i}-${Math.random().toString(36).slice(2)}@example.com`, displayName: `Member ${i}` }).expect(201)).body.id);
    return out;
  }

  it('creates a group with members: 201, Location, ETag, members with $ref, display and type', async () => {
    const [a, b] = await users(2);
    const child = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Child' }).expect(201);
    const res = await t.scim
      .post('/Groups', { schemas: [GROUP], displayName: 'Parent', externalId: 'p-1', members: [{ value: a }, { value: b, type: 'User' }, { value: child.body.id, type: 'Group' }] })
      .expect(201);
    const id = res.body.id as string;
    expect(res.headers.location).to.equal(res.body.meta.location);
    expect(res.headers.location).to.match(new RegExp(`/scim/v2/Groups/${id}$`));
    expect(res.headers.etag).to.equal(res.body.meta.version);
    expect(res.body).to.include({ displayName: 'Parent', externalId: 'p-1' });
    expect(res.body.meta.resourceType).to.equal('Group');
    const byValue = Object.fromEntries(res.body.members.map((m: { value: string }) => [m.value, m]));
    expect(byValue[a]).to.include({ display: 'Member 0', type: 'User' });
    expect(byValue[a].$ref).to.match(new RegExp(`/scim/v2/Users/${a}$`));
    expect(byValue[child.body.id]).to.include({ display: 'Child', type: 'Group' });
    expect(byValue[child.body.id].$ref).to.match(new RegExp(`/scim/v2/Groups/${child.body.id}$`));
    expect(await memberRows(id)).to.deep.equal([a, b, child.body.id].sort());
  });

  it('answers 400 for a missing displayName, members without value and unknown members, writing nothing', async () => {
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], members: [] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'x', members: [{ display: 'no value' }] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'x', members: [{ value: '2b0b8a54-4b5e-4f0c-9a3e-1c1a3f6e7d11' }] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'x', members: [{ value: 'not-an-id' }] }), 400, 'invalidValue');
    const list = await t.scim.get('/Groups?count=0').expect(200);
    expect(list.body.totalResults).to.equal(0);
  });

  it('refuses a duplicate displayName with 409 uniqueness, in any case; externalId may repeat', async () => {
    await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Admins', externalId: 'same' }).expect(201);
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Admins' }), 409, 'uniqueness');
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'ADMINS' }), 409, 'uniqueness');
    const other = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Others', externalId: 'same' }).expect(201);
    expectScimError(await t.scim.put(`/Groups/${other.body.id}`, { schemas: [GROUP], displayName: 'admins' }), 409, 'uniqueness');
    const byExt = await t.scim.get(`/Groups${qs({ filter: 'externalId eq "same"' })}`).expect(200);
    expect(byExt.body.totalResults).to.equal(2);
    const elsewhere = await scimTenant();
    await elsewhere.scim.post('/Groups', { schemas: [GROUP], displayName: 'Admins' }).expect(201);
  });

  it('replaces name, externalId and members on PUT, and clears members that are left out', async () => {
    const [a, b] = await users(2);
    const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Before', externalId: 'x', members: [{ value: a }] }).expect(201);
    const res = await t.scim.put(`/Groups/${g.body.id}`, { schemas: [GROUP], displayName: 'After', members: [{ value: b }] }).expect(200);
    expect(res.body).to.include({ displayName: 'After' });
    expect(res.body).to.not.have.property('externalId');
    expect(await memberRows(g.body.id)).to.deep.equal([b]);
    await t.scim.put(`/Groups/${g.body.id}`, { schemas: [GROUP], displayName: 'After' }).expect(200);
    expect(await memberRows(g.body.id)).to.deep.equal([]);
  });

  it('deletes a group, removing it from parent groups; its member users stay', async () => {
    const [a] = await users(1);
    const child = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Inner', members: [{ value: a }] }).expect(201);
    const parent = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Outer', members: [{ value: child.body.id }, { value: a }] }).expect(201);
    await t.scim.delete(`/Groups/${child.body.id}`).expect(204);
    expectScimError(await t.scim.get(`/Groups/${child.body.id}`), 404);
    expectScimError(await t.scim.delete(`/Groups/${child.body.id}`), 404);
    expect(await memberRows(parent.body.id)).to.deep.equal([a]);
    await t.scim.get(`/Users/${a}`).expect(200);
  });

  it('answers 404 for unknown and malformed ids on every method, never 400 or 500', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '42', 'x'.repeat(200)]) {
      expectScimError(await t.scim.get(`/Groups/${id}`), 404);
      expectScimError(await t.scim.get(`/Groups/${id}?excludedAttributes=members`), 404);
      expectScimError(await t.scim.put(`/Groups/${id}`, { schemas: [GROUP], displayName: 'x' }), 404);
      expectScimError(await t.scim.patch(`/Groups/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' })), 404);
      expectScimError(await t.scim.delete(`/Groups/${id}`), 404);
    }
  });

  it('lists groups with their members, or without them on request', async () => {
    const [a] = await users(1);
    await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'L1', members: [{ value: a }] }).expect(201);
    await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'L2' }).expect(201);
    const res = await t.scim.get('/Groups').expect(200);
    expect(res.body).to.include({ totalResults: 2, itemsPerPage: 2, startIndex: 1 });
    expect(res.body.Resources.map((g: { displayName: string; members: unknown[] }) => [g.displayName, g.members.length])).to.deep.equal([
      ['L1', 1],
      ['L2', 0],
    ]);
  });

  describe('across dialects', () => {
    it('shows a SCIM-made group with its members in /api/v2/groups', async () => {
      const members = await users(3);
      const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Made in SCIM', members: members.map((value) => ({ value })) }).expect(201);
      const admin = await t.mint(['group_administration']);
      const v2 = await api().get(`/api/v2/groups/${g.body.id}`).set(bearer(admin)).expect(200);
      expect(v2.body).to.include({ id: g.body.id, name: 'Made in SCIM', memberCount: 3 });
      const people = await api().get(`/api/v2/groups/${g.body.id}/members`).set(bearer(admin)).expect(200);
      expect(people.body.entities.map((e: { id: string }) => e.id).sort()).to.deep.equal([...members].sort());
      await t.scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'remove', path: `members[value eq "${members[0]}"]` })).expect(204);
      const after = await api().get(`/api/v2/groups/${g.body.id}`).set(bearer(admin)).expect(200);
      expect(after.body.memberCount).to.equal(2);
    });

    it('patches a group made in /api/v2/groups over SCIM', async () => {
      const [a, b] = await users(2);
      const admin = await t.mint(['group_administration']);
      const made = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Made in v2', description: 'from v2' }).expect(200);
      const id = made.body.id as string;
      await t.scim.patch(`/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] }, { op: 'replace', path: 'displayName', value: 'Renamed by SCIM' })).expect(204);
      const v2 = await api().get(`/api/v2/groups/${id}`).set(bearer(admin)).expect(200);
      expect(v2.body).to.include({ name: 'Renamed by SCIM', memberCount: 2, description: 'from v2' });
      const scim = await t.scim.get(`/Groups/${id}`).expect(200);
      expect(scim.body.displayName).to.equal('Renamed by SCIM');
      expect(scim.body.members.map((m: { value: string }) => m.value).sort()).to.deep.equal([a, b].sort());
      const listed = await t.scim.get(`/Groups${qs({ filter: 'displayName eq "renamed by scim"', excludedAttributes: 'members' })}`).expect(200);
      expect(listed.body.Resources.map((g: { id: string }) => g.id)).to.deep.equal([id]);
    });
  });

  describe('concurrency', () => {
    it('keeps all 50 members when 50 PATCHes add distinct members to one group in parallel', async function () {
      this.timeout(120_000);
      const { db } = testContext();
      const rows = Array.from({ length: 50 }, (_, i) => ({ tenant_id: t.id, user_name: `par${i}@example.com` }));
      const ids: string[] = (await db('users').insert(rows).returning('id')).map((r: { id: string }) => r.id);
      const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Crowded' }).expect(201);
      const results = await Promise.all(ids.map((value) => t.scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Add', path: 'members', value: [{ $ref: null, value }] }))));
      expect(results.map((r) => r.status)).to.deep.equal(ids.map(() => 204));
      expect(await memberRows(g.body.id)).to.deep.equal([...ids].sort());
      const row = await db('groups').where({ id: g.body.id }).first();
      expect(row.member_count).to.equal(50);
      expect(row.version).to.equal(51);
      const read = await t.scim.get(`/Groups/${g.body.id}`).expect(200);
      expect(read.body.members).to.have.length(50);
    });

    it('lets exactly one of many parallel creates of one displayName succeed', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => t.scim.post('/Groups', { schemas: [GROUP], displayName: i % 2 ? 'Racers' : 'RACERS' })));
      expect(results.filter((r) => r.status === 201)).to.have.length(1);
      for (const r of results.filter((x) => x.status !== 201)) expectScimError(r, 409, 'uniqueness');
      expect((await t.scim.get('/Groups?count=0').expect(200)).body.totalResults).to.equal(1);
    });

    it('loses nothing when parallel PATCHes add and remove different members (as Entra sends up to 5 at once)', async () => {
      const keep = await users(5);
      const drop = await users(5);
      const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Churn', members: drop.map((value) => ({ value })) }).expect(201);
      await Promise.all([
        ...keep.map((value) => t.scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value }] })).expect(204)),
        ...drop.map((value) => t.scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ value }] })).expect(204)),
      ]);
      expect(await memberRows(g.body.id)).to.deep.equal([...keep].sort());
      const row = await testContext().db('groups').where({ id: g.body.id }).first();
      expect(row.member_count).to.equal(5);
    });
  });
});
