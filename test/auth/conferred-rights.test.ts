import { expect } from 'chai';
import type { Group } from '../../src/domain/groups/group';
import type { User } from '../../src/domain/users/user';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/**
 * Being in a group gives its `_system_rights` (and those of the groups above it) and its v1
 * object permissions. Changing who is in such a group hands them out, so it needs holding them:
 * the probe's escalation was a `group_administration` holder adding itself to a group giving
 * `admin`, then minting an all-rights token.
 */
describe('auth: changing who is in a group that gives rights needs those rights', () => {
  let t: TestTenant;
  let mallory: User;
  let admins: Group;
  let inner: Group;
  let plain: Group;
  let manager: string;

  const setRights = (groupId: string, rights: Record<string, object>) => testContext().db('groups').where({ id: groupId }).update({ system_rights: JSON.stringify(rights) });
  const versionOf = async (groupId: string) => Number((await testContext().db('groups').where({ id: groupId }).first()).version);
  const addV2 = async (token: string, group: Group, userId: string) =>
    api().post(`/api/v2/groups/${group.id}/members`).set(bearer(token)).send({ memberIds: [userId], version: await versionOf(group.id) });
  const scimAdd = (token: string, groupId: string, value: string) =>
    api()
      .patch(`/scim/v2/Groups/${groupId}`)
      .set(bearer(token))
      .set('Content-Type', 'application/scim+json')
      .send({ schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value }] }] });
  const members = async (groupId: string) => (await testContext().db('group_members').where({ group_id: groupId }).pluck('member_id')) as string[];

  beforeEach(async () => {
    t = await newTenant();
    const { services } = testContext().deps;
    mallory = await t.user({ userName: 'mallory@acme.com' });
    admins = await t.group({ name: 'admins' });
    await setRights(admins.id, { admin: {} });
    // `inner` is nested in `admins`: its members are admins too.
    inner = await t.group({ name: 'inner' });
    await services.memberships.addMembers(t.admin, admins.id, [{ kind: 'group', id: inner.id }]);
    plain = await t.group({ name: 'plain' });
    manager = await t.token(['group_administration', 'scim_provisioning'], { userId: mallory.id });
  });

  it('refuses a user-acting group administrator adding itself to a group giving admin, in every dialect, and writes nothing', async () => {
    const refused = [
      await addV2(manager, admins, mallory.id),
      await api().post(`/group/${admins.id}/user/${mallory.id}`).set(bearer(manager)),
      await scimAdd(manager, admins.id, mallory.id),
      await api().put(`/api/v2/groups/${admins.id}`).set(bearer(manager)).send({ name: 'admins', version: await versionOf(admins.id), wildcards: ['mallory@*'] }),
    ];
    for (const res of refused) {
      expect(res.status, JSON.stringify(res.body)).to.equal(403);
      expect(JSON.stringify(res.body)).to.contain('admin');
    }
    expect(await members(admins.id)).to.deep.equal([inner.id]);
    expect((await testContext().db('groups').where({ id: admins.id }).first()).wildcards).to.deep.equal([]);
  });

  it('refuses it through a group nested in the one giving rights, and through nesting a group of its own', async () => {
    expect((await addV2(manager, inner, mallory.id)).status).to.equal(403);
    expect((await scimAdd(manager, inner.id, mallory.id)).status).to.equal(403);
    await testContext().deps.services.memberships.addMembers(t.admin, plain.id, [{ kind: 'user', id: mallory.id }]);
    expect((await scimAdd(manager, admins.id, plain.id)).status).to.equal(403);
    expect(await members(inner.id)).to.deep.equal([]);
    expect(await members(admins.id)).to.deep.equal([inner.id]);
  });

  it('refuses removals too: who is in such a group is not a group administrator\'s to decide', async () => {
    const boss = await t.user();
    await testContext().deps.services.memberships.addMembers(t.admin, admins.id, [{ kind: 'user', id: boss.id }]);
    const res = await api().delete(`/api/v2/groups/${admins.id}/members`).query({ ids: boss.id }).set(bearer(manager));
    expect(res.status).to.equal(403);
    expect(await members(admins.id)).to.include(boss.id);
  });

  it('lets groups that give nothing, holders of every right given, admin and the identity provider\'s token change members', async () => {
    expect((await addV2(manager, plain, mallory.id)).status).to.equal(202);
    // Holding what the group gives is enough.
    const reader = await t.group({ name: 'readers' });
    await setRights(reader.id, { bag_read: {} });
    const holder = await t.token(['group_administration', 'bag_read'], { userId: mallory.id });
    expect((await addV2(holder, reader, mallory.id)).status).to.equal(202);
    expect((await addV2(manager, reader, (await t.user()).id)).status).to.equal(403);
    // admin holds everything; an IdP token (scim_provisioning, acting as nobody) is the source of truth for membership.
    const someone = await t.user();
    expect((await addV2(await t.token(['admin']), admins, someone.id)).status).to.equal(202);
    const idp = await t.token(['scim_provisioning']);
    expect((await scimAdd(idp, admins.id, (await t.user()).id)).status).to.equal(204);
    // A group administrator acting as nobody is not the IdP: it needs the rights as well.
    expect((await addV2(await t.token(['group_administration']), admins, (await t.user()).id)).status).to.equal(403);
  });

  it('asks a user-acting token for the v1 object permissions the group gives, as setting them would', async () => {
    const segment = await t.group({ name: 'segment-writers' });
    await testContext().db('group_object_permissions').insert({ tenant_id: t.admin.tenantId, group_id: segment.id, object_type: 'SEGMENT', object_id: '563', permissions: ['READ', 'WRITE'] });
    expect((await addV2(manager, segment, mallory.id)).status).to.equal(403);
    // Once its user holds them through another group, it may.
    const owners = await t.group({ name: 'segment-owners' });
    await testContext().db('group_object_permissions').insert({ tenant_id: t.admin.tenantId, group_id: owners.id, object_type: 'SEGMENT', object_id: '563', permissions: ['READ', 'WRITE', 'CREATE'] });
    await testContext().deps.services.memberships.addMembers(t.admin, owners.id, [{ kind: 'user', id: mallory.id }]);
    expect((await addV2(manager, segment, mallory.id)).status).to.equal(202);
    // A token acting as nobody is trusted by its right alone for object permissions (as for setting them).
    const other = await t.group({ name: 'trait-readers' });
    await testContext().db('group_object_permissions').insert({ tenant_id: t.admin.tenantId, group_id: other.id, object_type: 'TRAIT', object_id: '1', permissions: ['READ'] });
    expect((await addV2(await t.token(['group_administration']), other, mallory.id)).status).to.equal(202);
  });
});
