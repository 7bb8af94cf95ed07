import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { User } from '../../src/domain/users/user';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import pino from 'pino';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { bagsService } from '../../src/domain/bags/bags.service';
import { expectApiError, expectUserError, grant, login, setPassword, setSystemRights } from './helpers';

type Rights = Record<string, Record<string, unknown>>;

describe('Group bags: /api/v1/group', () => {
  let t: TestTenant;

  beforeEach(async () => {
    t = await newTenant();
  });

  const addMember = (groupId: string, userId: string) => testContext().deps.services.memberships.addMembers(t.admin, groupId, [{ kind: 'user', id: userId }]);

  /** A logged-in session user whose group gives it these system rights. */
  async function sessionWith(rights: Rights): Promise<{ token: string; user: User; groupId: string; groupSeq: number }> {
    const user = await t.user();
    await setPassword(user.id, 'pw');
    const g = await t.group();
    await setSystemRights(g.id, rights);
    await addMember(g.id, user.id);
    return { token: await login(t, user.userName, 'pw'), user, groupId: g.id, groupSeq: g.seq };
  }

  const creator: Rights = { 'system.group': { create: true } };
  const put = (token: string, body: unknown) => api().put('/api/v1/group').query({ token }).send(body as object);
  const post = (token: string, body: unknown) => api().post('/api/v1/group').query({ token }).send(body as object);
  const get = (token: string, id?: number | string) => api().get(id === undefined ? '/api/v1/group' : `/api/v1/group/${id}`).query({ token });
  const del = (token: string, id: number | string) => api().delete(`/api/v1/group/${id}`).query({ token });
  const names = async () => (await testContext().db('groups').where({ tenant_id: t.id }).orderBy('seq')).map((g: { name: string }) => g.name);

  describe('PUT (create)', () => {
    it('creates groups from an array and returns them, owned by the session user', async () => {
      const { token, user } = await sessionWith(creator);
      const res = await put(token, [
        { _basetype: 'group', group: { _version: 1, name: 'students', displayname: { 'de-DE': 'Studenten', 'en-US': 'Students' }, comment: 'All students' } },
        { _basetype: 'group', group: { name: 'teachers', type: 'custom-staff', frontend_prefs: { color: 'red' }, authorization_info: 'ldap' } },
      ]).expect(200);
      expect(res.body).to.have.length(2);
      const [students, teachers] = res.body;
      expect(students.group).to.deep.include({ _version: 1, name: 'students', type: 'easydb', is_system_group: false, comment: 'All students', displayname: { 'de-DE': 'Studenten', 'en-US': 'Students' } });
      expect(students.group._id).to.be.a('number');
      expect(students._owner).to.deep.equal({ _basetype: 'user', user: { _id: user.seq, _version: user.version, type: 'easydb', login: user.userName, _generated_displayname: user.userName } });
      expect(students).to.deep.include({ _basetype: 'group', _acl: [], _has_acl: false, _system_rights: {} });
      expect(teachers.group).to.deep.include({ type: 'custom-staff', frontend_prefs: { color: 'red' }, authorization_info: 'ldap', comment: null });
    });

    it('keeps the ACL and system rights it is given, naming users and groups by integer id', async () => {
      const { token, groupSeq } = await sessionWith({ 'system.group': { create: true }, bag_read: {} });
      const other = await t.user();
      const res = await put(token, [
        {
          group: { name: 'Curators' },
          _acl: [
            { who: { _basetype: 'user', user: { _id: other.seq } }, rights: { bag_read: {}, bag_write: {} } },
            { who: { _basetype: 'group', group: { _id: groupSeq } }, rights: { bag_read: {} } },
          ],
          _system_rights: { bag_read: {} },
        },
      ]).expect(200);
      const [g] = res.body;
      expect(g._has_acl).to.equal(true);
      expect(g._acl).to.have.length(2);
      expect(g._acl.find((e: { who: { _basetype: string } }) => e.who._basetype === 'user')).to.deep.include({ rights: { bag_read: {}, bag_write: {} }, active: true });
      expect(g._acl.find((e: { who: { _basetype: string } }) => e.who._basetype === 'group').who.group._id).to.equal(groupSeq);
      expect(g._system_rights).to.deep.equal({ bag_read: {} });
      expect(g._generated_rights).to.deep.equal({ bag_read: {} });
    });

    it('needs system.group with create (No System Right otherwise)', async () => {
      const plain = await sessionWith({ 'system.group': {} });
      expectUserError(await put(plain.token, [{ group: { name: 'x' } }]), 'no_system_right', { right: 'system.group', extra_info: 'create' });
      const none = await sessionWith({});
      expectUserError(await put(none.token, [{ group: { name: 'x' } }]), 'no_system_right', { right: 'system.group' });
      expect(await names()).to.not.include('x');
    });

    it('refuses a different owner (Change Owner On Creation) but accepts the session user itself', async () => {
      const { token, user } = await sessionWith(creator);
      const other = await t.user();
      expectUserError(await put(token, [{ _owner: { _basetype: 'user', user: { _id: other.seq } }, group: { name: 'a' } }]), 'change_owner_on_creation');
      expectUserError(await put(token, [{ _owner: { _basetype: 'group', group: { _id: (await t.group()).seq } }, group: { name: 'b' } }]), 'change_owner_on_creation');
      await put(token, [{ _owner: { _basetype: 'user', user: { _id: user.seq } }, group: { name: 'c' } }]).expect(200);
    });

    it('answers User Not Found, Group Not Found, Right Not Found and Custom Type Required, creating nothing', async () => {
      const { token } = await sessionWith({ 'system.group': { create: true }, 'system.user.create_new': { type: 'custom_type', custom_type: 'x' } });
      expectUserError(await put(token, [{ group: { name: 'u' }, _acl: [{ who: { _basetype: 'user', user: { _id: 999999999 } }, rights: { bag_read: {} } }] }]), 'user_not_found', { id: '999999999' });
      expectUserError(await put(token, [{ group: { name: 'g' }, _acl: [{ who: { _basetype: 'group', group: { _id: 999999999 } }, rights: {} }] }]), 'group_not_found', { id: '999999999' });
      expectUserError(await put(token, [{ group: { name: 'r' }, _acl: [{ who: { _basetype: 'group', group: { _id: 1 } }, rights: { fly: {} } }] }]), 'right_not_found', { id: 'fly' });
      expectUserError(await put(token, [{ group: { name: 's' }, _system_rights: { 'system.teleport': {} } }]), 'right_not_found', { id: 'system.teleport' });
      expectUserError(await put(token, [{ group: { name: 'c' }, _system_rights: { 'system.user.create_new': { type: 'custom' } } }]), 'custom_type_required');
      expectUserError(await put(token, [{ group: { name: 'c' }, _system_rights: { 'system.user.create_new': { type: 'custom_type' } } }]), 'custom_type_required');
      const foreignUser = await (await newTenant()).user();
      expectUserError(await put(token, [{ group: { name: 'f' }, _acl: [{ who: { user: { _id: foreignUser.seq } }, rights: {} }] }]), 'user_not_found');
      expect(await names()).to.have.length(1);
    });

    it('grants system.user.create_new with the type "custom" and its custom_type, as the document names them', async () => {
      const { token } = await sessionWith({ 'system.group': { create: true }, 'system.user.create_new': { type: 'custom', custom_type: 'ldap' } });
      const rights = { 'system.user.create_new': { type: 'custom', custom_type: 'ldap' } };
      const [g] = (await put(token, [{ group: { name: 'ldap-creators' }, _system_rights: rights }]).expect(200)).body;
      expect(g._system_rights).to.deep.equal(rights);
      expectApiError(await put(token, [{ group: { name: 'x' }, _system_rights: { 'system.user.create_new': { type: 'alien' } } }]), 'invalid_value');
    });

    it('refuses to grant a system right the session user does not hold', async () => {
      const { token } = await sessionWith(creator);
      expectUserError(await put(token, [{ group: { name: 'escalate' }, _system_rights: { admin: {} } }]), 'no_system_right', { right: 'admin' });
      await put(token, [{ group: { name: 'fine' }, _system_rights: { 'system.group': { create: true } } }]).expect(200);
    });

    it('writes none of a batch when one group is bad', async () => {
      const { token } = await sessionWith(creator);
      expectUserError(await put(token, [{ group: { name: 'one' } }, { group: { name: 'two' }, _system_rights: { nope: {} } }]), 'right_not_found');
      expectUserError(await put(token, [{ group: { name: 'three' } }, { group: { name: 'THREE' } }]), 'integrity_constraint_violation');
      expect(await names()).to.have.length(1);
    });

    it('answers API errors for malformed input: bad JSON, unknown attributes, wrong types, missing names, _id on create', async () => {
      const { token } = await sessionWith(creator);
      expectApiError(await api().put('/api/v1/group').query({ token }).set('Content-Type', 'application/json').send('[{"group":'), 'invalid_content');
      expectApiError(await put(token, [{ group: { name: 'x', color: 'red' } }]), 'attribute_not_accepted');
      expectApiError(await put(token, [{ group: { name: 5 } }]), 'type_mismatch');
      expectApiError(await put(token, [{ group: {} }]), 'attribute_expected');
      expectApiError(await put(token, []), 'invalid_value');
      expectApiError(await put(token, [{ group: { _id: 5, name: 'x' } }]), 'invalid_value');
      expectApiError(await put(token, [{ group: { name: 'x', type: 'system' } }]), 'invalid_value');
      expectApiError(await put(token, [{ group: { name: 'x' }, _acl: [{ who: { user: { _id: 1 } }, rights: {}, active: false }] }]), 'invalid_value');
      expectUserError(await put(token, [{ group: { name: 'x', _version: 3 } }]), 'version_mismatch', { provided: '3', expected: '1' });
      expect(await names()).to.have.length(1);
    });
  });

  describe('POST (update)', () => {
    it('updates a group the user holds bag_write on; the version is the stored one plus one', async () => {
      const { token, user } = await sessionWith({ 'system.group': {} });
      const g = await t.group({ name: 'dept_head' });
      await grant(t, g.id, { kind: 'user', id: user.id }, ['bag_write']);
      const res = await post(token, [{ _basetype: 'group', group: { id: g.seq, _version: 2, name: 'dept_heads', displayname: { 'en-US': 'Department Heads' } } }]).expect(200);
      expect(res.body[0].group).to.deep.include({ _id: g.seq, _version: 2, name: 'dept_heads', displayname: { 'en-US': 'Department Heads' } });
      expect(res.body[0]._generated_rights).to.deep.equal({ bag_write: {} });
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 2, name: 'again' } }]), 'version_mismatch', { provided: '2', expected: '3' });
      await post(token, [{ group: { _id: g.seq, _version: 3, comment: 'kept name' } }]).expect(200);
      expect((await testContext().db('groups').where({ id: g.id }).first()).name).to.equal('dept_heads');
    });

    it('takes bag_write from an ACL entry naming a group the user is in, or the token', async () => {
      const { token, groupId } = await sessionWith({ 'system.group': {} });
      const g = await t.group();
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 2, comment: 'x' } }]), 'insufficient_rights', { operation: 'update', right: 'bag_write', type: 'group', ids: String(g.seq) });
      await grant(t, g.id, { kind: 'group', id: groupId }, ['bag_write']);
      await post(token, [{ group: { _id: g.seq, _version: 2, comment: 'x' } }]).expect(200);
    });

    it('replaces the ACL, the system rights and the owner when given', async () => {
      const { token, user, groupSeq } = await sessionWith({ 'system.group': {}, bag_write: {}, bag_read: {} });
      const g = await t.group();
      // The session user owns the group, so it may hand it to its group.
      await testContext().db('groups').where({ id: g.id }).update({ owner_user_id: user.id });
      const other = await t.user();
      await grant(t, g.id, { kind: 'user', id: other.id }, ['bag_delete']);
      const res = await post(token, [
        {
          group: { _id: g.seq, _version: 2 },
          _owner: { _basetype: 'group', group: { _id: groupSeq } },
          _acl: [{ who: { _basetype: 'user', user: { _id: user.seq } }, rights: { bag_read: {} } }],
          _system_rights: { bag_read: {} },
        },
      ]).expect(200);
      expect(res.body[0]._owner.group._id).to.equal(groupSeq);
      expect(res.body[0]._acl).to.deep.equal([{ who: res.body[0]._acl[0].who, rights: { bag_read: {} }, active: true }]);
      expect(res.body[0]._acl[0].who.user._id).to.equal(user.seq);
      expect(res.body[0]._system_rights).to.deep.equal({ bag_read: {} });
      expectApiError(await post(token, [{ group: { _id: g.seq, _version: 3 }, _owner: null }]), 'invalid_value');
    });

    it('lets only the owner (or admin) give a group another owner: bag_write cannot make itself owner and then grant itself anything', async () => {
      // The probe's escalation: bag_write through the ACL, then itself as _owner, then bag_delete.
      const { token, user } = await sessionWith({ 'system.group': {} });
      const g = await t.group({ name: 'claimed' });
      await grant(t, g.id, { kind: 'user', id: user.id }, ['bag_read', 'bag_write']);
      const self = { _basetype: 'user', user: { _id: user.seq } };
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 2 }, _owner: self }]), 'insufficient_rights', { operation: 'update', right: '_owner', ids: String(g.seq) });
      expect((await testContext().db('groups').where({ id: g.id }).first()).owner_user_id).to.equal(null);
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 2 }, _acl: [{ who: self, rights: { bag_read: {}, bag_write: {}, bag_delete: {} } }] }]), 'insufficient_rights', { right: 'bag_delete' });
      expectUserError(await del(token, g.seq), 'insufficient_rights', { right: 'bag_delete' });
      // The owner may hand the group on, and naming the same owner again is no change.
      const owner = await t.user();
      await testContext().db('groups').where({ id: g.id }).update({ owner_user_id: user.id });
      await post(token, [{ group: { _id: g.seq, _version: 2 }, _owner: self }]).expect(200);
      await post(token, [{ group: { _id: g.seq, _version: 3 }, _owner: { _basetype: 'user', user: { _id: owner.seq } } }]).expect(200);
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 4 }, _owner: self }]), 'insufficient_rights', { right: '_owner' });
      // An admin token may set any owner.
      const admin = await t.token(['admin']);
      await api().post('/api/v1/group').query({ token: admin }).send([{ group: { _id: g.seq, _version: 4 }, _owner: self }]).expect(200);
    });

    it('lets nobody grant an ACL right it does not hold on the group (Insufficient Rights), unless it owns the group', async () => {
      // The probe's escalation: bag_read and bag_write through the ACL, then bag_delete granted to itself.
      const { token, user } = await sessionWith({ 'system.group': {} });
      const g = await t.group({ name: 'guarded' });
      const colleague = await t.user();
      await grant(t, g.id, { kind: 'user', id: user.id }, ['bag_read', 'bag_write']);
      const self = { _basetype: 'user', user: { _id: user.seq } };
      const mate = { _basetype: 'user', user: { _id: colleague.seq } };
      expectUserError(
        await post(token, [{ group: { _id: g.seq, _version: 2 }, _acl: [{ who: self, rights: { bag_read: {}, bag_write: {}, bag_delete: {} } }] }]),
        'insufficient_rights',
        { right: 'bag_delete', ids: String(g.seq) },
      );
      expectUserError(await post(token, [{ group: { _id: g.seq, _version: 2 }, _acl: [{ who: self, rights: { bag_read: {}, bag_write: {} } }, { who: mate, rights: { bag_delete: {} } }] }]), 'insufficient_rights', { right: 'bag_delete' });
      const acl = await testContext().db('group_acl').where({ tenant_id: t.id, group_id: g.id }).select('who_id', 'rights');
      expect(acl).to.deep.equal([{ who_id: user.id, rights: ['bag_read', 'bag_write'] }]);
      expectUserError(await del(token, g.seq), 'insufficient_rights', { right: 'bag_delete' });
      // Rights it holds it may pass on, and keep its own entry as it was.
      const res = await post(token, [{ group: { _id: g.seq, _version: 2 }, _acl: [{ who: self, rights: { bag_read: {}, bag_write: {} } }, { who: mate, rights: { bag_read: {} } }] }]).expect(200);
      expect(res.body[0]._acl).to.have.length(2);
      // An owner decides: the user owning a group may grant what it does not hold itself.
      const owner = await sessionWith({ 'system.group': { create: true } });
      const created = await put(owner.token, [{ group: { name: 'owned' } }]).expect(200);
      const seq = created.body[0].group._id as number;
      const ownedId = (await testContext().db('groups').where({ tenant_id: t.id, seq }).first()).id as string;
      await grant(t, ownedId, { kind: 'user', id: owner.user.id }, ['bag_write']);
      await post(owner.token, [{ group: { _id: seq, _version: 2 }, _acl: [{ who: mate, rights: { bag_delete: {} } }, { who: { _basetype: 'user', user: { _id: owner.user.seq } }, rights: { bag_write: {} } }] }]).expect(200);
    });

    it('forgets a deleted user\'s and a deleted group\'s ACL entries, and a deleted owner, whichever dialect deleted them', async () => {
      const { token } = await sessionWith({ 'system.group': {}, bag_read: {} });
      const g = await t.group();
      const [gone, kept] = [await t.user(), await t.user()];
      const goneGroup = await t.group();
      await grant(t, g.id, { kind: 'user', id: gone.id }, ['bag_read']);
      await grant(t, g.id, { kind: 'user', id: kept.id }, ['bag_read']);
      await grant(t, g.id, { kind: 'group', id: goneGroup.id }, ['bag_read']);
      await testContext().db('groups').where({ id: g.id }).update({ owner_user_id: gone.id });
      const admin = bearer(await t.token(['admin']));
      await api().delete(`/scim/v2/Users/${gone.id}`).set(admin).expect(204);
      await api().delete(`/api/v2/groups/${goneGroup.id}`).set(admin).expect(204);
      const [shown] = (await get(token, g.seq).expect(200)).body;
      expect(shown._acl.map((e: { who: { user?: { _id: number } } }) => e.who.user?._id)).to.deep.equal([kept.seq]);
      expect(shown).to.not.have.property('_owner');
      expect(await testContext().db('group_acl').where({ tenant_id: t.id }).whereIn('who_id', [gone.id, goneGroup.id])).to.deep.equal([]);
    });

    it('answers Group Not Found for unknown and foreign groups, and needs _id and _version', async () => {
      const { token } = await sessionWith({ 'system.group': {}, bag_write: {} });
      const foreign = await (await newTenant()).group();
      expectUserError(await post(token, [{ group: { _id: 999999999, _version: 2 } }]), 'group_not_found', { id: '999999999' });
      expectUserError(await post(token, [{ group: { _id: foreign.seq, _version: 2 } }]), 'group_not_found');
      expectApiError(await post(token, [{ group: { name: 'x' } }]), 'attribute_expected');
      const g = await t.group();
      expectApiError(await post(token, [{ group: { _id: g.seq } }]), 'attribute_expected');
      expectApiError(await post(token, [{ group: { _id: g.seq, id: g.seq + 1, _version: 2 } }]), 'invalid_value');
    });

    it('writes none of a batch when one group fails', async () => {
      const { token } = await sessionWith({ 'system.group': {}, bag_write: {} });
      const [a, b] = [await t.group({ name: 'a' }), await t.group({ name: 'b' })];
      expectUserError(await post(token, [{ group: { _id: a.seq, _version: 2, name: 'a2' } }, { group: { _id: b.seq, _version: 9, name: 'b2' } }]), 'version_mismatch');
      expect(await names()).to.include.members(['a', 'b']);
      expect((await testContext().db('groups').where({ id: a.id }).first()).version).to.equal(1);
    });

    it('refuses renaming a system group and granting rights the user lacks', async () => {
      const { token } = await sessionWith({ 'system.group': {}, bag_write: {} });
      const sys = await t.group({ name: ':all', system: true });
      expectApiError(await post(token, [{ group: { _id: sys.seq, _version: 2, name: 'everyone' } }]), 'invalid_value');
      await post(token, [{ group: { _id: sys.seq, _version: 2, comment: 'All users' } }]).expect(200);
      expectUserError(await post(token, [{ group: { _id: sys.seq, _version: 3 }, _system_rights: { group_administration: {} } }]), 'no_system_right', { right: 'group_administration' });
    });
  });

  describe('GET', () => {
    it('lists the groups the user belongs to or may read, and says what it may do on each', async () => {
      const { token, user, groupSeq } = await sessionWith({ 'system.group': {} });
      const [readable, hidden, writable] = [await t.group({ name: 'readable' }), await t.group({ name: 'hidden' }), await t.group({ name: 'writable' })];
      await grant(t, readable.id, { kind: 'user', id: user.id }, ['bag_read']);
      await grant(t, writable.id, { kind: 'user', id: user.id }, ['bag_read', 'bag_write']);
      const res = await get(token).expect(200);
      expect(res.body.map((g: { group: { _id: number } }) => g.group._id)).to.deep.equal([groupSeq, readable.seq, writable.seq]);
      expect(res.body[2]._generated_rights).to.deep.equal({ bag_read: {}, bag_write: {} });
      expect(res.body[0]._generated_rights).to.deep.equal({});
      expect(res.body.map((g: { group: { name: string } }) => g.group.name)).to.not.include(hidden.name);
    });

    it('lets membership read only "easydb" groups: a member of a custom-typed group needs bag_read for it', async () => {
      const { token, user } = await sessionWith({ 'system.group': {} });
      const custom = await t.group({ name: 'ldap-imported' });
      await addMember(custom.id, user.id);
      await testContext().db('groups').where({ id: custom.id }).update({ vendor_attributes: JSON.stringify({ easydb: { type: 'custom-ldap' } }) });
      const listed = async () => (await get(token).expect(200)).body.map((g: { group: { name: string } }) => g.group.name);
      expect(await listed()).to.not.include('ldap-imported');
      expectUserError(await get(token, custom.seq), 'insufficient_rights', { operation: 'read', right: 'bag_read' });
      await grant(t, custom.id, { kind: 'user', id: user.id }, ['bag_read']);
      expect(await listed()).to.include('ldap-imported');
      const [one] = (await get(token, custom.seq).expect(200)).body;
      expect(one.group).to.include({ name: 'ldap-imported', type: 'custom-ldap' });
    });

    it('lists every group of the tenant (and none of another) with a global bag_read, a page at a time', async () => {
      const { token } = await sessionWith({ 'system.group': {}, bag_read: {} });
      await t.group();
      await t.group();
      await (await newTenant()).group();
      expect((await get(token).expect(200)).body).to.have.length(3);
      expect((await api().get('/api/v1/group').query({ token, offset: 1, limit: 1 }).expect(200)).body).to.have.length(1);
      // Without a limit, every group from the offset on.
      const all = (await get(token).expect(200)).body.map((g: { group: { _id: number } }) => g.group._id);
      expect((await api().get('/api/v1/group').query({ token, offset: 1 }).expect(200)).body.map((g: { group: { _id: number } }) => g.group._id)).to.deep.equal(all.slice(1));
    });

    it('reads "all groups" in batches that continue after the last id, never stopping at a page', async () => {
      for (let i = 0; i < 6; i++) await t.group({ name: `batch-${i}` });
      const expected = (await testContext().db('groups').where({ tenant_id: t.id }).orderBy('seq').select('seq')).map((r: { seq: number | string }) => Number(r.seq));
      const bags = bagsService(testContext().db);
      const sizes: number[] = [];
      const seen: number[] = [];
      for await (const batch of bags.allBags(t.admin, 0, 2)) {
        sizes.push(batch.length);
        seen.push(...batch.map((v) => v.group.seq));
      }
      expect(seen).to.deep.equal(expected);
      expect(sizes.every((n) => n <= 2)).to.equal(true);
      const fromTwo: number[] = [];
      for await (const batch of bags.allBags(t.admin, 2, 4)) fromTwo.push(...batch.map((v) => v.group.seq));
      expect(fromTwo).to.deep.equal(expected.slice(2));
      // A production app (no response validation) streams the same array.
      const { token } = await sessionWith({ 'system.group': {}, bag_read: {} });
      const raw = buildApp({ ...testContext().deps, config: { ...testContext().deps.config, validateResponses: false } }, pino({ level: 'silent' }));
      const streamed = await request(raw).get('/api/v1/group').query({ token }).expect(200).expect('Content-Type', /application\/json/);
      const checked = await get(token).expect(200);
      expect(JSON.parse(streamed.text)).to.deep.equal(checked.body);
      expect(checked.body).to.have.length(expected.length + 1);
    });

    it('returns one group by id, an empty array when it is unknown or foreign, and Insufficient Rights when unreadable', async () => {
      const { token, groupSeq } = await sessionWith({ 'system.group': {} });
      expect((await get(token, groupSeq).expect(200)).body.map((g: { group: { _id: number } }) => g.group._id)).to.deep.equal([groupSeq]);
      expect((await get(token, 999999999).expect(200)).body).to.deep.equal([]);
      expect((await get(token, (await (await newTenant()).group()).seq).expect(200)).body).to.deep.equal([]);
      const other = await t.group();
      expectUserError(await get(token, other.seq), 'insufficient_rights', { operation: 'read', right: 'bag_read' });
      expectApiError(await get(token, 'abc'), 'invalid_value');
    });

    it('needs system.group', async () => {
      const { token, groupSeq } = await sessionWith({});
      expectUserError(await get(token), 'no_system_right', { right: 'system.group' });
      expectUserError(await get(token, groupSeq), 'no_system_right');
    });

    it('works for API tokens too, with the rights the token carries, by header or ?token=', async () => {
      const token = await t.token(['system.group', 'bag_read']);
      const g = await t.group();
      expect((await get(token, g.seq).expect(200)).body).to.have.length(1);
      expect((await api().get(`/api/v1/group/${g.seq}`).set('Authorization', `Bearer ${token}`).expect(200)).body).to.have.length(1);
      expectUserError(await get(await t.token(['bag_read']), g.seq), 'no_system_right');
    });

    it('answers API errors for unknown paths and methods under /api/v1/group', async () => {
      const { token } = await sessionWith({ 'system.group': {} });
      expectApiError(await api().patch('/api/v1/group').query({ token }).send([]), 'invalid_request_method');
      expectApiError(await api().get('/api/v1/group/1/extra').query({ token }), 'invalid_api');
    });
  });

  describe('DELETE', () => {
    it('deletes a group the user holds bag_delete on, and removes ACL entries naming it', async () => {
      const { token, user } = await sessionWith({});
      const [g, holder] = [await t.group(), await t.group()];
      await grant(t, g.id, { kind: 'user', id: user.id }, ['bag_delete']);
      await grant(t, holder.id, { kind: 'group', id: g.id }, ['bag_read']);
      expect((await del(token, g.seq).expect(200)).body).to.deep.equal({});
      expect(await testContext().db('groups').where({ id: g.id })).to.have.length(0);
      expect(await testContext().db('group_acl').where({ who_id: g.id })).to.have.length(0);
    });

    it('answers Insufficient Rights without bag_delete, Group Not Found for unknown ids, and refuses system groups', async () => {
      const { token } = await sessionWith({ bag_delete: {} });
      const plain = await sessionWith({});
      const g = await t.group();
      expectUserError(await del(plain.token, g.seq), 'insufficient_rights', { operation: 'delete', right: 'bag_delete' });
      expectUserError(await del(token, 999999999), 'group_not_found');
      expectUserError(await del(token, (await (await newTenant()).group()).seq), 'group_not_found');
      const sys = await t.group({ system: true });
      expectUserError(await del(token, sys.seq), 'delete_system_group', { group_id: String(sys.seq) });
      expect(await testContext().db('groups').whereIn('id', [g.id, sys.id])).to.have.length(2);
    });
  });

  it('ignores an id that is not a group of the tenant in ACL lookups (random uuid tokens are harmless)', async () => {
    const { token, user } = await sessionWith({ 'system.group': {} });
    const g = await t.group();
    await grant(t, g.id, { kind: 'token', id: randomUUID() }, ['bag_read']);
    expectUserError(await get(token, g.seq), 'insufficient_rights');
    expect(user.seq).to.be.a('number');
  });
});
