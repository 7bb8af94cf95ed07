import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

const names = (body: { entities?: { name: string }[]; results?: { name: string }[] }) => (body.entities ?? body.results ?? []).map((g) => g.name).sort();

describe('Groups v2: visibility members/owners', () => {
  let t: TestTenant;

  beforeEach(async () => {
    t = await newTenant();
  });

  /** public, members-only (the viewer is a member), members-only (by rule), members-only (not), owners-only (owner), owners-only (member only). */
  async function arrange() {
    const viewer = await t.user({ userName: 'viewer@acme.com' });
    const { services } = testContext().deps;
    await t.group({ name: 'public' });
    const member = await t.group({ name: 'members-in', visibility: 'members' });
    await services.memberships.addMembers(t.admin, member.id, [{ kind: 'user', id: viewer.id }]);
    await t.group({ name: 'members-rule', visibility: 'members', wildcards: ['*@acme.com'] });
    await t.group({ name: 'members-out', visibility: 'members' });
    await t.group({ name: 'owners-in', visibility: 'owners', ownerIds: [viewer.id] });
    const ownersOut = await t.group({ name: 'owners-out', visibility: 'owners' });
    await services.memberships.addMembers(t.admin, ownersOut.id, [{ kind: 'user', id: viewer.id }]);
    return { viewer, ownersOut };
  }

  const visible = ['members-in', 'members-rule', 'owners-in', 'public'];
  const everything = ['members-in', 'members-out', 'members-rule', 'owners-in', 'owners-out', 'public'];

  it('the listing shows a user-acting token only the groups it may see, and counts only those', async () => {
    const { viewer } = await arrange();
    const userToken = await t.token([], { userId: viewer.id });
    const res = await api().get('/api/v2/groups').set(bearer(userToken)).expect(200);
    expect(names(res.body)).to.deep.equal(visible);
    expect(res.body.total).to.equal(4);
    const profiles = await api().get('/api/v2/profiles/groups').set(bearer(userToken)).expect(200);
    expect(names(profiles.body)).to.deep.equal(visible);
  });

  it('an integration token (acting as no user) sees every group', async () => {
    await arrange();
    const res = await api().get('/api/v2/groups').set(bearer(await t.token([]))).expect(200);
    expect(names(res.body)).to.deep.equal(everything);
  });

  it('search honours visibility too', async () => {
    const { viewer } = await arrange();
    const userToken = await t.token([], { userId: viewer.id });
    const res = await api().post('/api/v2/groups/search').set(bearer(userToken)).send({ query: [{ type: 'MATCH_ALL' }] }).expect(200);
    expect(names(res.body)).to.deep.equal(visible);
    expect(res.body.total).to.equal(4);
  });

  it('a hidden group is 404 to get, to list members of, and to read the profile of', async () => {
    const { viewer, ownersOut } = await arrange();
    const userToken = await t.token([], { userId: viewer.id });
    for (const path of ['', '/members', '/individuals', '/profile']) {
      await api().get(`/api/v2/groups/${ownersOut.id}${path}`).set(bearer(userToken)).expect(404);
    }
    await api().get(`/v2/groups/${ownersOut.id}`).set(bearer(userToken)).expect(404);
  });

  it('a rule member sees a members-only group', async () => {
    await arrange();
    const ruled = await t.user({ userName: 'other@acme.com' });
    const res = await api().get('/api/v2/groups').set(bearer(await t.token([], { userId: ruled.id }))).expect(200);
    expect(names(res.body)).to.deep.equal(['members-rule', 'public']);
  });
});
