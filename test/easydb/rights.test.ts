import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { expectUserError, login, setPassword, setSystemRights } from './helpers';

describe('Rights model: a session user has the system rights of its groups, as they are now', () => {
  let t: TestTenant;

  beforeEach(async () => {
    t = await newTenant();
  });

  const members = () => testContext().deps.services.memberships;
  const listGroups = (token: string) => api().get('/api/v1/group').query({ token });
  const createGroup = (token: string, name: string) => api().put('/api/v1/group').query({ token }).send([{ group: { name } }]);
  const sessionRights = async (token: string) => (await api().get('/api/v1/session').query({ token }).expect(200)).body.system_rights;

  async function sessionUser(userName: string) {
    const user = await t.user({ userName });
    await setPassword(user.id, 'pw');
    return { user, token: await login(t, userName, 'pw') };
  }

  it('gains a right when added to a group that gives it, and loses it when removed', async () => {
    const { user, token } = await sessionUser('ann@acme.test');
    const readers = await t.group({ name: 'readers' });
    await setSystemRights(readers.id, { 'system.group': {} });
    expectUserError(await listGroups(token), 'no_system_right', { right: 'system.group' });

    await members().addMembers(t.admin, readers.id, [{ kind: 'user', id: user.id }]);
    await listGroups(token).expect(200);
    expect(await sessionRights(token)).to.deep.equal({ 'system.group': {} });

    await members().removeMembers(t.admin, readers.id, [{ kind: 'user', id: user.id }]);
    expectUserError(await listGroups(token), 'no_system_right');
    expect(await sessionRights(token)).to.deep.equal({});
  });

  it('gains rights through nested groups, and loses them when the nesting is undone', async () => {
    const { user, token } = await sessionUser('bob@acme.test');
    const [team, creators] = [await t.group({ name: 'team' }), await t.group({ name: 'creators' })];
    await setSystemRights(creators.id, { 'system.group': { create: true } });
    await members().addMembers(t.admin, team.id, [{ kind: 'user', id: user.id }]);
    expectUserError(await createGroup(token, 'first'), 'no_system_right');

    await members().addMembers(t.admin, creators.id, [{ kind: 'group', id: team.id }]);
    await createGroup(token, 'first').expect(200);

    await members().removeMembers(t.admin, creators.id, [{ kind: 'group', id: team.id }]);
    expectUserError(await createGroup(token, 'second'), 'no_system_right');
  });

  it('gains rights through dynamic membership (wildcards), following changes to the rules', async () => {
    const { token } = await sessionUser('cat@acme.test');
    const staff = await t.group({ name: 'staff', wildcards: ['*@other.test'] });
    await setSystemRights(staff.id, { 'system.group': {} });
    expectUserError(await listGroups(token), 'no_system_right');

    await testContext().deps.services.groups.updateGroup(t.admin, staff.id, { wildcards: ['*@acme.test'] });
    const listed = await listGroups(token).expect(200);
    expect(listed.body.map((g: { group: { name: string } }) => g.group.name)).to.include('staff');

    await testContext().deps.services.groups.updateGroup(t.admin, staff.id, { wildcards: [] });
    expectUserError(await listGroups(token), 'no_system_right');
  });

  it('follows changes to a group’s system rights made over the API', async () => {
    const boss = await t.token(['admin']);
    const { user, token } = await sessionUser('dan@acme.test');
    const put = await api().put('/api/v1/group').set(bearer(boss)).send([{ group: { name: 'editors' }, _system_rights: { 'system.group': { create: true } } }]).expect(200);
    const editors = put.body[0].group;
    const row = await testContext().db('groups').where({ tenant_id: t.id, seq: editors._id }).first();
    await members().addMembers(t.admin, row.id, [{ kind: 'user', id: user.id }]);
    await createGroup(token, 'made-by-dan').expect(200);

    // CASE: the membership change bumped the version; an update names the next one.
    const [current] = (await api().get(`/api/v1/group/${editors._id}`).set(bearer(boss)).expect(200)).body;
    await api().post('/api/v1/group').set(bearer(boss)).send([{ group: { _id: editors._id, _version: current.group._version + 1 }, _system_rights: { 'system.group': {} } }]).expect(200);
    expectUserError(await createGroup(token, 'again'), 'no_system_right', { right: 'system.group', extra_info: 'create' });
    await listGroups(token).expect(200);
  });

  it('unites the rights of several groups', async () => {
    const { user, token } = await sessionUser('eva@acme.test');
    const [a, b] = [await t.group(), await t.group()];
    await setSystemRights(a.id, { 'system.group': {}, 'system.user.write_self': { phone: true } });
    await setSystemRights(b.id, { 'system.group': { create: true }, 'system.user.write_self': { town: true } });
    await members().addMembers(t.admin, a.id, [{ kind: 'user', id: user.id }]);
    await members().addMembers(t.admin, b.id, [{ kind: 'user', id: user.id }]);
    expect(await sessionRights(token)).to.deep.equal({ 'system.group': { create: true }, 'system.user.write_self': { phone: true, town: true } });
  });

  it('reads membership of a group as the right to read it, and loses it with the membership', async () => {
    const { user, token } = await sessionUser('fay@acme.test');
    const [base, club] = [await t.group(), await t.group({ name: 'club' })];
    await setSystemRights(base.id, { 'system.group': {} });
    await members().addMembers(t.admin, base.id, [{ kind: 'user', id: user.id }]);
    expectUserError(await api().get(`/api/v1/group/${club.seq}`).query({ token }), 'insufficient_rights');
    await members().addMembers(t.admin, club.id, [{ kind: 'user', id: user.id }]);
    expect((await api().get(`/api/v1/group/${club.seq}`).query({ token }).expect(200)).body).to.have.length(1);
    await members().removeMembers(t.admin, club.id, [{ kind: 'user', id: user.id }]);
    expectUserError(await api().get(`/api/v1/group/${club.seq}`).query({ token }), 'insufficient_rights');
  });

  it("is scoped to the user's tenant: another tenant's groups give nothing", async () => {
    const { token } = await sessionUser('gus@acme.test');
    const other = await newTenant();
    const theirs = await other.group({ wildcards: ['*@acme.test'] });
    await setSystemRights(theirs.id, { 'system.group': {} });
    expectUserError(await listGroups(token), 'no_system_right');
  });
});
