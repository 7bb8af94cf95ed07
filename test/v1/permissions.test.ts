import { expect } from 'chai';
import { findAuditEvents } from '../../src/domain/audit/audit.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

describe('Groups v1: object permissions', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
  });

  const get = (seq: number | string, token = admin) => api().get(`/api/v1/groups/${seq}/permissions`).set(bearer(token));
  const put = (seq: number | string, body: unknown, token = admin) => api().put(`/api/v1/groups/${seq}/permissions/`).set(bearer(token)).send(body as object);
  const addUser = (groupId: string, userId: string) => testContext().deps.services.memberships.addMembers(t.admin, groupId, [{ kind: 'user', id: userId }]);
  const nest = (parentId: string, childId: string) => testContext().deps.services.memberships.addMembers(t.admin, parentId, [{ kind: 'group', id: childId }]);

  describe('GET /api/v1/groups/{groupId}/permissions', () => {
    it('lists nothing for a new group', async () => {
      const g = await t.group();
      expect((await get(g.seq).expect(200)).body).to.deep.equal([]);
    });

    it("answers 400 for a group that is not accessible: unknown, malformed or another tenant's", async () => {
      const foreign = await (await newTenant()).group();
      for (const id of [999999999, 'abc', foreign.seq]) {
        const res = await get(id).expect(400);
        expect(res.body).to.include({ status: 400, code: 'BAD_REQUEST' });
        expect(res.body.message).to.match(/not accessible/);
      }
    });
  });

  describe('PUT /api/v1/groups/{groupId}/permissions/', () => {
    it('replaces every permission object and returns the new list, object ids as integers', async () => {
      const g = await t.group();
      const first = [
        { objectId: 34, objectType: 'SEGMENT', permissions: ['READ', 'WRITE', 'DELETE', 'MAP_TO_MODELS'] },
        { objectId: '234', objectType: 'TRAIT', permissions: ['READ', 'WRITE', 'DELETE', 'MAP_TO_MODELS'] },
        { objectId: 277, objectType: 'SEGMENT', permissions: ['READ', 'WRITE', 'MAP_TO_MODELS'] },
      ];
      const res = await put(g.seq, first).expect(200);
      expect(res.body).to.deep.equal([
        { objectId: 34, objectType: 'SEGMENT', permissions: ['READ', 'WRITE', 'DELETE', 'MAP_TO_MODELS'] },
        { objectId: 277, objectType: 'SEGMENT', permissions: ['READ', 'WRITE', 'MAP_TO_MODELS'] },
        { objectId: 234, objectType: 'TRAIT', permissions: ['READ', 'WRITE', 'DELETE', 'MAP_TO_MODELS'] },
      ]);
      expect((await get(g.seq).expect(200)).body).to.deep.equal(res.body);

      const second = [
        { objectType: 'SEGMENT', objectId: 563, permissions: ['READ', 'WRITE'] },
        { objectType: 'SEGMENT', objectId: 2363, permissions: ['CREATE', 'WRITE'] },
        { objectType: 'TRAIT', objectId: 83498, permissions: ['READ', 'MAP_TO_SEGMENTS'] },
        { objectType: 'DESTINATION', objectId: 304, permissions: ['READ', 'WRITE', 'CREATE'] },
      ];
      const replaced = await put(g.seq, second).expect(200);
      expect(replaced.body.map((e: { objectId: number }) => e.objectId)).to.deep.equal([304, 563, 2363, 83498]);
      expect(replaced.body.find((e: { objectId: number }) => e.objectId === 2363).permissions).to.deep.equal(['WRITE', 'CREATE']);
      await put(g.seq, []).expect(200, []);
    });

    it('answers 400 for an unknown permission, a permission of another type, an unknown type or a bad object id, and changes nothing', async () => {
      const g = await t.group();
      const kept = [{ objectType: 'SEGMENT', objectId: 1, permissions: ['READ'] }];
      await put(g.seq, kept).expect(200);
      const bad = [
        [{ objectType: 'SEGMENT', objectId: 2, permissions: ['FLY'] }],
        [{ objectType: 'DESTINATION', objectId: 2, permissions: ['MAP_TO_SEGMENTS'] }],
        [{ objectType: 'PLANET', objectId: 2, permissions: ['READ'] }],
        [{ objectType: 'SEGMENT', objectId: -2, permissions: ['READ'] }],
        [{ objectType: 'SEGMENT', objectId: '2x', permissions: ['READ'] }],
        [{ objectType: 'SEGMENT', objectId: 2, permissions: ['READ'] }, { objectType: 'SEGMENT', objectId: '2', permissions: ['WRITE'] }],
        [{ objectType: 'SEGMENT', objectId: 2 }],
        { objectType: 'SEGMENT', objectId: 2, permissions: ['READ'] },
      ];
      for (const body of bad) {
        const res = await put(g.seq, body).expect(400);
        expect(res.body.code).to.equal('BAD_REQUEST');
      }
      const res = await put(g.seq, [{ objectType: 'SEGMENT', objectId: 2, permissions: ['FLY', 'READ'] }]).expect(400);
      expect(res.body.message).to.include('FLY');
      expect((await get(g.seq)).body).to.deep.equal([{ objectId: 1, objectType: 'SEGMENT', permissions: ['READ'] }]);
    });

    it('answers 400 for an inaccessible group and writes nothing', async () => {
      const foreign = await (await newTenant()).group();
      await put(foreign.seq, [{ objectType: 'SEGMENT', objectId: 1, permissions: ['READ'] }]).expect(400);
      expect(await testContext().db('group_object_permissions').where({ group_id: foreign.id })).to.have.length(0);
    });

    it('answers 403 when a user may not touch an object, and lets it grant what it holds itself', async () => {
      const [user, own, target] = [await t.user(), await t.group(), await t.group()];
      await addUser(own.id, user.id);
      await put(own.seq, [{ objectType: 'SEGMENT', objectId: 10, permissions: ['READ', 'WRITE'] }]).expect(200);
      const asUser = await t.token(['group_administration'], { userId: user.id });
      const denied = await put(target.seq, [{ objectType: 'SEGMENT', objectId: 11, permissions: ['READ'] }], asUser).expect(403);
      expect(denied.body).to.include({ status: 403, code: 'FORBIDDEN' });
      await put(target.seq, [{ objectType: 'SEGMENT', objectId: 10, permissions: ['READ', 'DELETE'] }], asUser).expect(403);
      await put(target.seq, [{ objectType: 'SEGMENT', objectId: 10, permissions: ['READ'] }], asUser).expect(200);
      expect((await get(target.seq)).body).to.deep.equal([{ objectId: 10, objectType: 'SEGMENT', permissions: ['READ'] }]);
      const adminUser = await t.token(['admin'], { userId: user.id });
      await put(target.seq, [{ objectType: 'SEGMENT', objectId: 11, permissions: ['READ'] }], adminUser).expect(200);
    });

    it('records the replacement in the audit log, before and after', async () => {
      const g = await t.group();
      await put(g.seq, [{ objectType: 'TRAIT', objectId: 5, permissions: ['READ'] }]).expect(200);
      const events = await findAuditEvents(testContext().db, t.id);
      const event = events.find((e) => e.action === 'group.permissions_replaced');
      expect(event).to.include({ resource_id: g.id });
      expect(event!.after).to.deep.equal([{ objectType: 'TRAIT', objectId: '5', permissions: ['READ'] }]);
    });

    it('needs group_administration or admin', async () => {
      const g = await t.group();
      await get(g.seq, await t.token(['bag_read'])).expect(403);
      await put(g.seq, [], await t.token(['group_creation'])).expect(403);
      await put(g.seq, [], await t.token(['admin'])).expect(200);
    });
  });

  describe('GET /api/v1/permissions/effective', () => {
    const effective = (q: Record<string, string | number>, token = admin) => api().get('/api/v1/permissions/effective').query(q).set(bearer(token));

    it('answers the union over direct, nested and dynamic membership, naming the granting groups', async () => {
      const user = await t.user({ userName: 'ann@acme.test' });
      const [direct, inner, outer, dynamic, unrelated] = [await t.group(), await t.group(), await t.group(), await t.group({ wildcards: ['*@acme.test'] }), await t.group()];
      await addUser(direct.id, user.id);
      await addUser(inner.id, user.id);
      await nest(outer.id, inner.id);
      await put(direct.seq, [{ objectType: 'SEGMENT', objectId: 34, permissions: ['READ'] }]).expect(200);
      await put(outer.seq, [{ objectType: 'SEGMENT', objectId: 34, permissions: ['WRITE'] }]).expect(200);
      await put(dynamic.seq, [{ objectType: 'SEGMENT', objectId: 34, permissions: ['MAP_TO_MODELS'] }, { objectType: 'TRAIT', objectId: 34, permissions: ['DELETE'] }]).expect(200);
      await put(unrelated.seq, [{ objectType: 'SEGMENT', objectId: 34, permissions: ['DELETE'] }]).expect(200);

      const res = await effective({ userId: user.seq, objectType: 'SEGMENT', objectId: '034' }).expect(200);
      expect(res.body).to.deep.equal({
        userId: user.seq,
        objectType: 'SEGMENT',
        objectId: 34,
        permissions: ['READ', 'WRITE', 'MAP_TO_MODELS'],
        groups: [direct.seq, outer.seq, dynamic.seq].sort((a, b) => a - b),
      });
      const byUuid = await effective({ userId: user.id, objectType: 'TRAIT', objectId: 34 }).expect(200);
      expect(byUuid.body).to.include({ userId: user.seq });
      expect(byUuid.body.permissions).to.deep.equal(['DELETE']);
    });

    it('answers an empty list for a user without permissions on the object', async () => {
      const user = await t.user();
      const res = await effective({ userId: user.seq, objectType: 'DESTINATION', objectId: 1 }).expect(200);
      expect(res.body).to.include({ objectId: 1 });
      expect(res.body.permissions).to.deep.equal([]);
      expect(res.body.groups).to.deep.equal([]);
    });

    it('follows membership changes at once', async () => {
      const user = await t.user();
      const g = await t.group();
      await put(g.seq, [{ objectType: 'SEGMENT', objectId: 1, permissions: ['READ'] }]).expect(200);
      const ask = async () => (await effective({ userId: user.seq, objectType: 'SEGMENT', objectId: 1 }).expect(200)).body.permissions;
      expect(await ask()).to.deep.equal([]);
      await addUser(g.id, user.id);
      expect(await ask()).to.deep.equal(['READ']);
      await testContext().deps.services.memberships.removeMembers(t.admin, g.id, [{ kind: 'user', id: user.id }]);
      expect(await ask()).to.deep.equal([]);
    });

    it("answers 404 for an unknown or another tenant's user and 400 for an unknown type or object id", async () => {
      const foreign = await (await newTenant()).user();
      await effective({ userId: 999999999, objectType: 'SEGMENT', objectId: 1 }).expect(404);
      await effective({ userId: foreign.seq, objectType: 'SEGMENT', objectId: 1 }).expect(404);
      await effective({ userId: 'nobody', objectType: 'SEGMENT', objectId: 1 }).expect(404);
      const user = await t.user();
      await effective({ userId: user.seq, objectType: 'PLANET', objectId: 1 }).expect(400);
      await effective({ userId: user.seq, objectType: 'SEGMENT', objectId: 'x' }).expect(400);
      await effective({ userId: user.seq, objectType: 'SEGMENT' }).expect(400);
    });
  });
});
