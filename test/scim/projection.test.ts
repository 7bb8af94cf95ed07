import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { ENTERPRISE, GROUP, patchOp, qs, scimTenant, SEARCH, USER, type ScimTenant } from './helpers';

/** RFC 7644 §3.4.2.5 / §3.9: `attributes` and `excludedAttributes` on every kind of response. */
describe('SCIM: attribute projection', () => {
  let t: ScimTenant;
  let uid: string;
  let gid: string;
  const full = {
    schemas: [USER, ENTERPRISE],
    userName: 'proj@example.com',
    displayName: 'Pro Jection',
    name: { givenName: 'Pro', familyName: 'Jection' },
    emails: [
      { value: 'p@work.example', type: 'work', primary: true },
      { value: 'p@home.example', type: 'home' },
    ],
    [ENTERPRISE]: { department: 'Maps', costCenter: 'C1' },
  };

  before(async () => {
    t = await scimTenant();
    uid = (await t.scim.post('/Users', full).expect(201)).body.id;
    gid = (await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Cartographers', members: [{ value: uid }] }).expect(201)).body.id;
  });

  it('returns only the requested attributes plus id and schemas', async () => {
    const res = await t.scim.get(`/Users/${uid}?attributes=userName`).expect(200);
    expect(res.body).to.have.all.keys('schemas', 'id', 'userName');
    const subs = await t.scim.get(`/Users/${uid}${qs({ attributes: 'name.givenName,emails.value,meta.version' })}`).expect(200);
    expect(subs.body).to.deep.equal({
      schemas: [USER, ENTERPRISE],
      id: uid,
      name: { givenName: 'Pro' },
      emails: [{ value: 'p@work.example' }, { value: 'p@home.example' }],
      meta: { version: 'W/"1"' },
    });
  });

  it('matches attribute names without regard to case and with their schema URN', async () => {
    const res = await t.scim.get(`/Users/${uid}${qs({ attributes: `USERNAME,${USER}:displayName,${ENTERPRISE}:department` })}`).expect(200);
    expect(res.body).to.deep.equal({ schemas: [USER, ENTERPRISE], id: uid, userName: 'proj@example.com', displayName: 'Pro Jection', [ENTERPRISE]: { department: 'Maps' } });
    const ext = await t.scim.get(`/Users/${uid}${qs({ attributes: ENTERPRISE })}`).expect(200);
    expect(ext.body[ENTERPRISE]).to.deep.equal({ department: 'Maps', costCenter: 'C1' });
  });

  it('leaves out excluded attributes but never id or schemas', async () => {
    const res = await t.scim.get(`/Users/${uid}${qs({ excludedAttributes: 'emails,name,id,schemas' })}`).expect(200);
    expect(res.body).to.not.have.any.keys('emails', 'name');
    expect(res.body).to.include({ id: uid, userName: 'proj@example.com' });
    expect(res.body.schemas).to.have.members([USER, ENTERPRISE]);
    expect(res.body.meta).to.be.an('object');
    const sub = await t.scim.get(`/Users/${uid}${qs({ excludedAttributes: `emails.type,${ENTERPRISE}:costCenter` })}`).expect(200);
    expect(sub.body.emails).to.deep.equal([{ value: 'p@work.example', primary: true }, { value: 'p@home.example' }]);
    expect(sub.body[ENTERPRISE]).to.deep.equal({ department: 'Maps' });
  });

  it("shows a user's groups unless they are excluded", async () => {
    const res = await t.scim.get(`/Users/${uid}`).expect(200);
    expect(res.body.groups).to.have.length(1);
    expect(res.body.groups[0]).to.include({ value: gid, display: 'Cartographers', type: 'direct' });
    expect(res.body.groups[0].$ref).to.match(new RegExp(`/scim/v2/Groups/${gid}$`));
    const without = await t.scim.get(`/Users/${uid}?excludedAttributes=groups`).expect(200);
    expect(without.body).to.not.have.property('groups');
    const only = await t.scim.get(`/Users/${uid}?attributes=groups.value`).expect(200);
    expect(only.body.groups).to.deep.equal([{ value: gid }]);
  });

  it("projects each user's groups (in name order) on a whole list page, by index and by cursor", async () => {
    const own = await scimTenant();
    const ids: string[] = [];
    for (const n of ['a', 'b', 'c']) ids.push((await own.scim.post('/Users', { schemas: [USER], userName: `${n}@example.com` }).expect(201)).body.id);
    for (const name of ['Zulu', 'alpha', 'Mike']) await own.scim.post('/Groups', { schemas: [GROUP], displayName: name, members: [{ value: ids[0] }, ...(name === 'Mike' ? [{ value: ids[2] }] : [])] }).expect(201);
    const expected = [
      { schemas: [USER], id: ids[0], groups: [{ display: 'Mike' }, { display: 'Zulu' }, { display: 'alpha' }] },
      { schemas: [USER], id: ids[1] },
      { schemas: [USER], id: ids[2], groups: [{ display: 'Mike' }] },
    ];
    const byIndex = await own.scim.get(`/Users${qs({ attributes: 'groups.display', startIndex: 1, count: 3 })}`).expect(200);
    expect(byIndex.body.Resources).to.deep.equal(expected);
    const first = await own.scim.get(`/Users${qs({ attributes: 'groups.display', count: 1, cursor: '' })}`).expect(200);
    expect(first.body.Resources).to.deep.equal(expected.slice(0, 1));
    const rest = await own.scim.get(`/Users${qs({ attributes: 'groups.display', count: 2, cursor: first.body.nextCursor })}`).expect(200);
    expect(rest.body.Resources).to.deep.equal(expected.slice(1));
  });

  it('projects every resource of a list and of a search', async () => {
    const list = await t.scim.get(`/Users${qs({ attributes: 'userName', filter: 'userName eq "proj@example.com"' })}`).expect(200);
    expect(list.body.Resources).to.deep.equal([{ schemas: [USER, ENTERPRISE], id: uid, userName: 'proj@example.com' }]);
    const search = await t.scim.post('/Users/.search', { schemas: [SEARCH], attributes: ['displayName', 'emails.type'], filter: `id eq "${uid}"` }).expect(200);
    expect(search.body.Resources).to.deep.equal([{ schemas: [USER, ENTERPRISE], id: uid, displayName: 'Pro Jection', emails: [{ type: 'work' }, { type: 'home' }] }]);
    const excluded = await t.scim.post('/Users/.search', { schemas: [SEARCH], excludedAttributes: ['meta', 'groups', 'name', 'emails', ENTERPRISE], filter: `id eq "${uid}"` }).expect(200);
    expect(excluded.body.Resources[0]).to.have.all.keys('schemas', 'id', 'userName', 'displayName', 'active');
    const groups = await t.scim.get(`/Groups${qs({ attributes: 'displayName' })}`).expect(200);
    expect(groups.body.Resources).to.deep.equal([{ schemas: [GROUP], id: gid, displayName: 'Cartographers' }]);
    const root = await t.scim.post('/.search', { schemas: [SEARCH], attributes: ['id'], filter: 'meta.created pr' }).expect(200);
    expect(root.body.Resources.map((r: { id: string }) => r.id).sort()).to.deep.equal([uid, gid].sort());
    expect(root.body.Resources.every((r: object) => Object.keys(r).sort().join() === 'id,schemas')).to.equal(true);
  });

  it('projects the responses of create, replace and patch', async () => {
    const created = await t.scim.post(`/Users${qs({ attributes: 'userName' })}`, { schemas: [USER], userName: 'made@example.com', title: 'x' }).expect(201);
    expect(created.body).to.have.all.keys('schemas', 'id', 'userName');
    expect(created.headers.etag).to.equal('W/"1"');
    const replaced = await t.scim.put(`/Users/${created.body.id}${qs({ excludedAttributes: 'meta,title' })}`, { schemas: [USER], userName: 'made@example.com', title: 'y', nickName: 'n' }).expect(200);
    expect(replaced.body).to.not.have.any.keys('meta', 'title');
    expect(replaced.body.nickName).to.equal('n');
    const patched = await t.scim.patch(`/Users/${created.body.id}${qs({ attributes: 'nickName' })}`, patchOp({ op: 'replace', path: 'nickName', value: 'm' })).expect(200);
    expect(patched.body).to.deep.equal({ schemas: [USER], id: created.body.id, nickName: 'm' });
    const group = await t.scim.post(`/Groups${qs({ excludedAttributes: 'members' })}`, { schemas: [GROUP], displayName: 'Projected', members: [{ value: uid }] }).expect(201);
    expect(group.body).to.not.have.property('members');
    const put = await t.scim.put(`/Groups/${group.body.id}${qs({ attributes: 'members.value' })}`, { schemas: [GROUP], displayName: 'Projected', members: [{ value: uid }] }).expect(200);
    expect(put.body).to.deep.equal({ schemas: [GROUP], id: group.body.id, members: [{ value: uid }] });
    const gpatch = await t.scim.patch(`/Groups/${group.body.id}${qs({ attributes: 'displayName' })}`, patchOp({ op: 'replace', path: 'displayName', value: 'Projected 2' })).expect(200);
    expect(gpatch.body).to.deep.equal({ schemas: [GROUP], id: group.body.id, displayName: 'Projected 2' });
  });

  describe('excludedAttributes=members', () => {
    type Spy = { calls: number; restore: () => void };
    function spyMembers(): Spy {
      const dir = testContext().deps.services.groupDirectory as unknown as Record<string, (...args: unknown[]) => unknown>;
      const originals = { memberBatches: dir.memberBatches };
      const spy: Spy = {
        calls: 0,
        restore: () => Object.assign(dir, originals),
      };
      dir.memberBatches = (...args) => {
        spy.calls++;
        return originals.memberBatches(...args);
      };
      return spy;
    }

    it('never loads members for a group read, list or search that excludes them', async () => {
      const spy = spyMembers();
      try {
        const one = await t.scim.get(`/Groups/${gid}?excludedAttributes=members`).expect(200);
        expect(one.body).to.not.have.property('members');
        const list = await t.scim.get(`/Groups${qs({ excludedAttributes: 'members', filter: 'displayName eq "Cartographers"' })}`).expect(200);
        expect(list.body.Resources[0]).to.not.have.property('members');
        await t.scim.post('/Groups/.search', { schemas: [SEARCH], excludedAttributes: ['members'] }).expect(200);
        await t.scim.get(`/Groups/${gid}?attributes=displayName`).expect(200);
        expect(spy.calls).to.equal(0);
        await t.scim.get(`/Groups/${gid}`).expect(200);
        expect(spy.calls, 'the default representation does load them').to.equal(1);
      } finally {
        spy.restore();
      }
    });

    it('still returns members when only a sub-attribute of them is excluded', async () => {
      const res = await t.scim.get(`/Groups/${gid}?excludedAttributes=members.display`).expect(200);
      expect(res.body.members).to.have.length(1);
      expect(res.body.members[0]).to.not.have.property('display');
      expect(res.body.members[0]).to.include({ value: uid, type: 'User' });
    });
  });
});
