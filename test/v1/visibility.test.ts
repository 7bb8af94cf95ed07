import { expect } from 'chai';
import type { Group } from '../../src/domain/groups/group';
import type { User } from '../../src/domain/users/user';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/**
 * Visibility `members`/`owners` (Groups v2) in the v1 dialect: a token acting as a user neither
 * lists, counts, reads nor changes the groups hidden from it, and is not told of them among a
 * user's effective permissions; a token acting as no user sees every group, as before.
 */
describe('Groups v1: group visibility for tokens acting as a user', () => {
  let t: TestTenant;
  let viewer: User;
  let asViewer: string;
  let asService: string;
  let shown: Group;
  let hidden: Group;

  beforeEach(async () => {
    t = await newTenant();
    const { services } = testContext().deps;
    viewer = await t.user({ userName: 'viewer@acme.com' });
    shown = await t.group({ name: 'shown', visibility: 'members' });
    hidden = await t.group({ name: 'hidden', visibility: 'owners' });
    await t.group({ name: 'public' });
    // The viewer is a member of both; `hidden` shows to its owners only.
    for (const g of [shown, hidden]) await services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: viewer.id }]);
    asViewer = await t.token(['group_administration'], { userId: viewer.id });
    asService = await t.token(['group_administration']);
  });

  it('lists and counts only the groups the user may see', async () => {
    const mine = await api().get('/api/v1/groups/').query({ pageSize: 100 }).set(bearer(asViewer)).expect(200);
    expect(mine.body.map((g: { name: string }) => g.name).sort()).to.deep.equal(['public', 'shown']);
    expect(mine.headers['x-total-count']).to.equal('2');
    const all = await api().get('/api/v1/groups/').query({ pageSize: 100 }).set(bearer(asService)).expect(200);
    expect(all.body.map((g: { name: string }) => g.name).sort()).to.deep.equal(['hidden', 'public', 'shown']);
    expect(all.headers['x-total-count']).to.equal('3');
  });

  it('reads, updates and deletes a hidden group as an unknown id (404 naming the integer id only)', async () => {
    const get = await api().get(`/api/v1/groups/${hidden.seq}`).set(bearer(asViewer)).expect(404);
    expect(JSON.stringify(get.body)).to.not.contain(hidden.id);
    await api().put(`/api/v1/groups/${hidden.seq}`).set(bearer(asViewer)).send({ description: 'x' }).expect(404);
    await api().delete(`/api/v1/groups/${hidden.seq}`).set(bearer(asViewer)).expect(404);
    await api().delete('/api/v1/groups/bulk-delete').set(bearer(asViewer)).send([hidden.seq]).expect(404);
    expect((await api().get(`/api/v1/groups/${hidden.seq}`).set(bearer(asService)).expect(200)).body.description).to.equal(null);
    await api().get(`/api/v1/groups/${shown.seq}`).set(bearer(asViewer)).expect(200);
  });

  it("leaves hidden groups out of the groups named with a user's effective permissions, not out of the permissions", async () => {
    const db = testContext().db;
    for (const [g, perms] of [[shown, ['READ']], [hidden, ['WRITE']]] as const) {
      await db('group_object_permissions').insert({ tenant_id: t.admin.tenantId, group_id: g.id, object_type: 'SEGMENT', object_id: '563', permissions: perms });
    }
    const query = { userId: viewer.seq, objectType: 'SEGMENT', objectId: 563 };
    const mine = await api().get('/api/v1/permissions/effective').query(query).set(bearer(asViewer)).expect(200);
    expect(mine.body.permissions).to.have.members(['READ', 'WRITE']);
    expect(mine.body.groups).to.deep.equal([shown.seq]);
    const all = await api().get('/api/v1/permissions/effective').query(query).set(bearer(asService)).expect(200);
    expect(all.body.groups).to.have.members([shown.seq, hidden.seq]);
  });
});
