import { expect } from 'chai';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/** The same rows seen through every dialect: made in one, read (with members) in the others. */
describe('cross-dialect: one group, every dialect', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['all']);
  });

  async function v2GroupBySeq(seq: number) {
    const list = await api().get('/api/v2/groups').query({ pageSize: 500 }).set(bearer(admin)).expect(200);
    const v1 = (await api().get(`/api/v1/groups/${seq}`).set(bearer(admin)).expect(200)).body;
    const entity = list.body.entities.find((g: { name: string }) => g.name === v1.name);
    return (await api().get(`/api/v2/groups/${entity.id}`).set(bearer(admin)).expect(200)).body;
  }

  it('a group created at /group, with a user added, shows the member at /api/v1/groups, /api/v2/groups/{id} and /api/v1/group', async () => {
    const user = await t.user({ userName: 'ann' });
    await api().post('/group').set(bearer(admin)).send({ 'entity-type': 'group', id: 'research', properties: { grouplabel: 'Research', description: 'R&D' } }).expect(201);
    await api().post('/group/research/user/ann').set(bearer(admin)).expect(201);

    const v1 = (await api().get('/api/v1/groups').set(bearer(admin)).expect(200)).body;
    expect(v1).to.have.length(1);
    expect(v1[0]).to.include({ name: 'Research', description: 'R&D', membershipCount: 1 });
    expect(v1[0].users).to.deep.equal([user.seq]);

    const v2 = await v2GroupBySeq(v1[0].groupId);
    expect(v2).to.include({ name: 'Research', description: 'R&D', memberCount: 1 });

    const [bag] = (await api().get(`/api/v1/group/${v1[0].groupId}`).query({ token: admin }).expect(200)).body;
    expect(bag.group).to.include({ _id: v1[0].groupId, name: 'Research', comment: 'R&D' });
  });

  it('a group created at /api/v1/groups with users is a group entity with those members, found by its uuid', async () => {
    const [a, b] = [await t.user({ userName: 'a1' }), await t.user({ userName: 'b1' })];
    const created = (await api().post('/api/v1/groups').set(bearer(admin)).send({ name: 'Analysts', users: [a.seq, b.seq] }).expect(201)).body;
    const v2 = await v2GroupBySeq(created.groupId);
    const entity = (await api().get(`/group/${v2.id}`).set(bearer(admin)).set('fetch.group', 'memberUsers').expect(200)).body;
    expect(entity).to.deep.include({ id: v2.id, memberUsers: ['a1', 'b1'] });
    expect(entity.properties.grouplabel).to.equal('Analysts');
  });

  it('a group bag created at /api/v1/group is renamed at /api/v2 and the bag sees the new name and version', async () => {
    const [bag] = (await api().put('/api/v1/group').query({ token: admin }).send([{ group: { name: 'bags' } }]).expect(200)).body;
    const v2 = await v2GroupBySeq(bag.group._id);
    await api().put(`/api/v2/groups/${v2.id}`).set(bearer(admin)).send({ name: 'bags renamed', version: v2.version }).expect(200);
    const [after] = (await api().get(`/api/v1/group/${bag.group._id}`).query({ token: admin }).expect(200)).body;
    expect(after.group).to.include({ name: 'bags renamed', _version: v2.version + 1 });
  });

  it('members added through /api/v1/groups show up in the group entity, and removals in v1 after /group removes them', async () => {
    const user = await t.user({ userName: 'cy' });
    const created = (await api().post('/api/v1/groups').set(bearer(admin)).send({ name: 'Ops' }).expect(201)).body;
    await api().put(`/api/v1/groups/${created.groupId}`).set(bearer(admin)).send({ users: [user.seq] }).expect(200);
    const v2 = await v2GroupBySeq(created.groupId);
    expect(v2.memberCount).to.equal(1);
    await api().delete(`/group/${v2.id}/user/cy`).set(bearer(admin)).expect(200);
    expect((await api().get(`/api/v1/groups/${created.groupId}`).set(bearer(admin)).expect(200)).body.users).to.deep.equal([]);
  });

  it('a group deleted in one dialect is gone in all', async () => {
    await api().post('/group').set(bearer(admin)).send({ 'entity-type': 'group', id: 'temp' }).expect(201);
    const [{ groupId }] = (await api().get('/api/v1/groups').set(bearer(admin)).expect(200)).body;
    await api().delete(`/api/v1/groups/${groupId}`).set(bearer(admin)).expect(204);
    await api().get('/group/temp').set(bearer(admin)).expect(404);
    expect((await api().get(`/api/v1/group/${groupId}`).query({ token: admin }).expect(200)).body).to.deep.equal([]);
  });
});
