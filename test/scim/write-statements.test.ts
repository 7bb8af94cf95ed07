import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { statementsOf } from '../helpers/statements';
import { BULK_REQUEST, createGroup, createUser, GROUP, patchOp, scimTenant, USER, type ScimTenant } from './helpers';

async function auditCount(tenantId: string, resourceId: string): Promise<number> {
  const [{ n }] = await testContext().db('audit_events').where({ tenant_id: tenantId, resource_id: resourceId }).count({ n: '*' });
  return Number(n);
}

async function storedGroup(tenantId: string, id: string): Promise<{ member_count: number; version: number }> {
  return testContext().db('groups').where({ tenant_id: tenantId, id }).first('member_count', 'version');
}

describe('SCIM: statements per write (issue 7)', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  describe('PATCH of group members', () => {
    it('adds a user in one statement, bumping the count, the version and the audit log', async () => {
      const [a, b] = [await createUser(t.scim, 'a@example.com'), await createUser(t.scim, 'b@example.com')];
      const g = await createGroup(t.scim, 'one-statement', [a.id]);
      const events = await auditCount(t.id, g.id);
      const { count, sql } = await statementsOf(() => t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] })).expect(204));
      expect(count, sql.join('\n')).to.equal(1);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 2, version: 2 });
      expect(await auditCount(t.id, g.id)).to.equal(events + 1);
      const res = await t.scim.get(`/Groups/${g.id}`).expect(200);
      expect(res.body.members.map((m: { value: string }) => m.value).sort()).to.deep.equal([a.id, b.id].sort());
      expect(res.headers.etag).to.equal('W/"2"');
    });

    it('answers concurrent PATCHes adding members to one group each with its own version (they take turns, issue 7)', async () => {
      const g = await createGroup(t.scim, 'concurrent');
      const users = [];
      for (let i = 0; i < 12; i++) users.push(await createUser(t.scim, `c${i}@example.com`));
      const events = await auditCount(t.id, g.id);
      const responses = await Promise.all(users.map((u) => t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] }))));
      expect(responses.map((r) => r.status)).to.deep.equal(users.map(() => 204));
      const etags = responses.map((r) => r.headers.etag).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
      expect(etags).to.deep.equal(users.map((_, i) => `W/"${i + 2}"`));
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 12, version: 13 });
      expect(await auditCount(t.id, g.id)).to.equal(events + 12);
      const res = await t.scim.get(`/Groups/${g.id}`).expect(200);
      expect(res.body.members.map((m: { value: string }) => m.value).sort()).to.deep.equal(users.map((u) => u.id).sort());
    });

    it('changes nothing (no version, no event) when the user already is a member', async () => {
      const a = await createUser(t.scim, 'a@example.com');
      const g = await createGroup(t.scim, 'already', [a.id]);
      const events = await auditCount(t.id, g.id);
      const res = await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id.toUpperCase() }] })).expect(204);
      expect(res.headers.etag).to.equal('W/"1"');
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 1, version: 1 });
      expect(await auditCount(t.id, g.id)).to.equal(events);
    });

    it('writes nothing when one of the ids is unknown, and names it in a 400', async () => {
      const a = await createUser(t.scim, 'a@example.com');
      const g = await createGroup(t.scim, 'unknown');
      const ghost = '6f1c0c36-3c36-4d0e-9a52-0c6a2b9f0e11';
      const res = await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id }, { value: ghost }] })).expect(400);
      expect(res.body.detail).to.contain(ghost);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 0, version: 1 });
    });

    it('still nests groups (and refuses cycles) when a member id is a group', async () => {
      const parent = await createGroup(t.scim, 'parent');
      const child = await createGroup(t.scim, 'child');
      await t.scim.patch(`/Groups/${parent.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: child.id }] })).expect(204);
      expect(await storedGroup(t.id, parent.id)).to.deep.equal({ member_count: 1, version: 2 });
      await t.scim.patch(`/Groups/${child.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: parent.id }] })).expect(400);
    });

    it('honours If-Match on the one-statement add: 412 and nothing written on a stale version', async () => {
      const a = await createUser(t.scim, 'a@example.com');
      const g = await createGroup(t.scim, 'if-match');
      await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id }] })).set('If-Match', 'W/"7"').expect(412);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 0, version: 1 });
      await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id }] })).set('If-Match', 'W/"1"').expect(204);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 1, version: 2 });
    });

    it('removes members by value list and by filter in a short transaction (lock, one statement)', async () => {
      const [a, b, c] = [await createUser(t.scim, 'a@example.com'), await createUser(t.scim, 'b@example.com'), await createUser(t.scim, 'c@example.com')];
      const g = await createGroup(t.scim, 'removals', [a.id, b.id, c.id]);
      const events = await auditCount(t.id, g.id);
      const byValue = await statementsOf(() => t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members', value: [{ value: a.id }] })).expect(204));
      expect(byValue.count, byValue.sql.join('\n')).to.be.at.most(4);
      const byFilter = await statementsOf(() => t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${b.id}"]` })).expect(204));
      expect(byFilter.count, byFilter.sql.join('\n')).to.be.at.most(4);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 1, version: 3 });
      expect(await auditCount(t.id, g.id)).to.equal(events + 2);
      // Removing a non-member is no change.
      await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members', value: [{ value: a.id }] })).expect(204);
      expect(await storedGroup(t.id, g.id)).to.deep.equal({ member_count: 1, version: 3 });
    });

    it('keeps the stored count exact under parallel adds and removes of the same members', async () => {
      const users = [];
      for (let i = 0; i < 8; i++) users.push(await createUser(t.scim, `p${i}@example.com`));
      const g = await createGroup(t.scim, 'parallel');
      const ops = users.flatMap((u) => [
        t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] })),
        t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members', value: [{ value: u.id }] })),
        t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] })),
      ]);
      for (const res of await Promise.all(ops)) expect(res.status).to.equal(204);
      const [{ n }] = await testContext().db('group_members').where({ tenant_id: t.id, group_id: g.id }).count({ n: '*' });
      expect((await storedGroup(t.id, g.id)).member_count).to.equal(Number(n));
    });
  });
});

describe('SCIM: statements per user create (issue 7)', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  it('creates a user and its audit event in one statement', async () => {
    let id = '';
    const { count, sql } = await statementsOf(async () => {
      id = (await t.scim.post('/Users', { schemas: [USER], userName: 'one@example.com', name: { givenName: 'One' } }).expect(201)).body.id;
    });
    // The create itself; a user just created is in no group, so there is no groups lookup.
    expect(count, sql.join('\n')).to.equal(1);
    const events = await testContext().db('audit_events').where({ tenant_id: t.id, resource_id: id }).select('action', 'after');
    expect(events).to.have.length(1);
    expect(events[0].action).to.equal('user.created');
    expect(events[0].after).to.include({ id, userName: 'one@example.com', active: true, version: 1 });
    await t.scim.post('/Users', { schemas: [USER], userName: 'ONE@example.com' }).expect(409);
  });

  it('answers concurrent creates each on its own: 201 with its own user, or 409 for a name taken (issue 7)', async () => {
    const names = ['k0@example.com', 'k1@example.com', 'K1@example.com', 'k2@example.com', 'k3@example.com', 'k4@example.com'];
    const responses = await Promise.all(names.map((userName) => t.scim.post('/Users', { schemas: [USER], userName })));
    expect(responses.map((r) => r.status).filter((s) => s === 201)).to.have.length(5);
    const refused = responses.filter((r) => r.status === 409);
    expect(refused).to.have.length(1);
    expect(refused[0].body.scimType).to.equal('uniqueness');
    const created = responses.filter((r) => r.status === 201).map((r) => r.body as { id: string; userName: string; meta: { location: string } });
    expect(new Set(created.map((u) => u.id)).size).to.equal(5);
    for (const u of created) {
      expect(names).to.include(u.userName);
      expect((await t.scim.get(`/Users/${u.id}`).expect(200)).body.userName).to.equal(u.userName);
    }
    const [{ n }] = await testContext().db('audit_events').where({ tenant_id: t.id, action: 'user.created' }).count({ n: '*' });
    expect(Number(n)).to.equal(5);
  });

  it('runs a Bulk of user creates as one statement, each operation still succeeding or failing alone', async () => {
    await createUser(t.scim, 'taken@example.com');
    const names = ['b0@example.com', 'taken@example.com', 'b1@example.com', 'B0@example.com', '', 'b2@example.com'];
    const Operations = [
      ...names.map((userName, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: { schemas: [USER], userName } })),
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'bulk-group', members: [{ value: 'bulkId:u0' }, { value: 'bulkId:u5' }] } },
    ];
    let body: { Operations: { status: string; bulkId: string; location?: string; response?: { scimType?: string } }[] } = { Operations: [] };
    const { count, sql } = await statementsOf(async () => {
      body = (await t.scim.post('/Bulk', { schemas: [BULK_REQUEST], Operations }).expect(200)).body;
    });
    expect(body.Operations.map((o) => [o.bulkId, o.status])).to.deep.equal([
      ['u0', '201'],
      ['u1', '409'],
      ['u2', '201'],
      ['u3', '409'],
      ['u4', '400'],
      ['u5', '201'],
      ['g', '201'],
    ]);
    expect(body.Operations[1].response?.scimType).to.equal('uniqueness');
    // One statement for the six user creates; the group create is the general path's business.
    const userInserts = sql.filter((q) => /insert into "?users"?/i.test(q));
    expect(userInserts, sql.join('\n')).to.have.length(1);
    expect(count).to.be.below(15);
    const [{ n }] = await testContext().db('audit_events').where({ tenant_id: t.id, action: 'user.created' }).count({ n: '*' });
    expect(Number(n)).to.equal(4);
    const group = await t.scim.get(body.Operations[6].location!.replace(/^.*\/scim\/v2/, '')).expect(200);
    expect(group.body.members).to.have.length(2);
  });
});
