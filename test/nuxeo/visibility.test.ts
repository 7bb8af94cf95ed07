import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/**
 * Visibility `members`/`owners` (Groups v2) in the group entity's `parentGroups` and
 * `memberGroups`: a token acting as a user sees the groups Groups v2 shows it; a token acting as
 * no user sees them all.
 */
describe('Group entities: parentGroups and memberGroups honour group visibility', () => {
  let t: TestTenant;

  beforeEach(async () => {
    t = await newTenant();
  });

  /** A public child nested in parents of every visibility; the viewer is a member, owner or rule member of some. */
  async function arrange() {
    const { services } = testContext().deps;
    const viewer = await t.user({ userName: 'viewer@acme.com' });
    const child = await t.group({ name: 'child' });
    const parents = {
      public: await t.group({ name: 'public' }),
      membersIn: await t.group({ name: 'members-in', visibility: 'members' }),
      membersRule: await t.group({ name: 'members-rule', visibility: 'members', wildcards: ['*@acme.com'] }),
      membersOut: await t.group({ name: 'members-out', visibility: 'members' }),
      ownersIn: await t.group({ name: 'owners-in', visibility: 'owners', ownerIds: [viewer.id] }),
      ownersOut: await t.group({ name: 'owners-out', visibility: 'owners' }),
    };
    for (const parent of Object.values(parents)) await services.memberships.addMembers(t.admin, parent.id, [{ kind: 'group', id: child.id }]);
    await services.memberships.addMembers(t.admin, parents.membersIn.id, [{ kind: 'user', id: viewer.id }]);
    await services.memberships.addMembers(t.admin, parents.ownersOut.id, [{ kind: 'user', id: viewer.id }]);
    return { viewer, child, parents };
  }

  const parentsOf = async (id: string, token: string) =>
    (await api().get(`/group/${id}`).set(bearer(token)).set('fetch.group', 'parentGroups').expect(200)).body.parentGroups as string[];

  it('a token acting as a user does not see hidden parents, even with no rights', async () => {
    const { viewer, child, parents: p } = await arrange();
    const expected = [p.public.id, p.membersIn.id, p.membersRule.id, p.ownersIn.id];
    expect(await parentsOf(child.id, await t.token([], { userId: viewer.id }))).to.deep.equal(expected);
    expect(await parentsOf(child.id, await t.token(['group_administration'], { userId: viewer.id }))).to.deep.equal(expected);
  });

  it('a user who is a member or owner of every parent sees them all', async () => {
    const { child, parents: p } = await arrange();
    const { services } = testContext().deps;
    const insider = await t.user({ userName: 'insider@other.org' });
    await services.memberships.addMembers(t.admin, p.membersOut.id, [{ kind: 'user', id: insider.id }]);
    await services.memberships.addMembers(t.admin, p.membersIn.id, [{ kind: 'user', id: insider.id }]);
    await services.groups.updateGroup(t.admin, p.ownersOut.id, { ownerIds: [insider.id] });
    await services.groups.updateGroup(t.admin, p.ownersIn.id, { ownerIds: [insider.id] });
    await services.groups.updateGroup(t.admin, p.membersRule.id, { wildcards: ['insider@*'] });
    const all = Object.values(p).map((g) => g.id);
    expect(await parentsOf(child.id, await t.token([], { userId: insider.id }))).to.deep.equal(all);
    // An outsider, member of none and owner of none, sees the public parent alone.
    const outsider = await t.user({ userName: 'outsider@other.org' });
    expect(await parentsOf(child.id, await t.token([], { userId: outsider.id }))).to.deep.equal([p.public.id]);
  });

  it('memberGroups of a visible group leaves out the member groups hidden from a token acting as a user', async () => {
    const { viewer, parents: p } = await arrange();
    const { services } = testContext().deps;
    const top = await t.group({ name: 'top' });
    await services.memberships.addMembers(t.admin, top.id, Object.values(p).map((g) => ({ kind: 'group' as const, id: g.id })));
    const membersOf = async (token: string) =>
      (await api().get(`/group/${top.id}`).set(bearer(token)).set('fetch.group', 'memberGroups').expect(200)).body.memberGroups as string[];
    expect(await membersOf(await t.token([], { userId: viewer.id }))).to.deep.equal([p.public.id, p.membersIn.id, p.membersRule.id, p.ownersIn.id]);
    expect(await membersOf(await t.token([]))).to.deep.equal(Object.values(p).map((g) => g.id));
  });

  it('a token acting as no user sees every parent, as before, where its user would not', async () => {
    const { viewer, child, parents: p } = await arrange();
    const all = Object.values(p).map((g) => g.id);
    expect(await parentsOf(child.id, await t.token([]))).to.deep.equal(all);
    const res = await api().get(`/group/${child.id}`).set(bearer(await t.token([]))).set('fetch.group', 'memberGroups,parentGroups').expect(200);
    expect(res.body).to.deep.include({ memberGroups: [], parentGroups: all });
    const asUser = await api().get(`/group/${child.id}`).set(bearer(await t.token([], { userId: viewer.id }))).set('fetch.group', 'memberGroups,parentGroups').expect(200);
    expect(asUser.body.parentGroups).to.not.include.members([p.membersOut.id, p.ownersOut.id]);
    expect(asUser.body.parentGroups).to.have.length(4);
  });
});
