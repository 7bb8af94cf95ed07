import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { BULK_REQUEST, ENTERPRISE, expectScimError, GROUP, patchOp, scimTenant, USER, type ScimTenant } from './helpers';

/**
 * What a write means when it leaves something out or changes nothing (RFC 7644 §3.5): an absent
 * `active` is not asserted, `active` cannot be removed, a removed password is gone, and a write
 * that changes nothing makes no new version.
 */
describe('SCIM: unasserted attributes and writes that change nothing', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  const passwordHash = async (id: string): Promise<string | null> => (await testContext().db('users').where({ id }).first('password_hash')).password_hash;
  const events = async (id: string): Promise<number> => Number((await testContext().db('audit_events').where({ resource_id: id }).count({ n: '*' }))[0].n);

  describe('active', () => {
    it('a PUT without active keeps a deactivated user deactivated; one with active true reactivates it', async () => {
      const { body: user } = await t.scim.post('/Users', { schemas: [USER], userName: 'away@example.com' }).expect(201);
      expect(user.active).to.equal(true);
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(200);
      const put = await t.scim.put(`/Users/${user.id}`, { schemas: [USER], userName: 'away@example.com', title: 'Former' }).expect(200);
      expect(put.body).to.include({ active: false, title: 'Former' });
      const back = await t.scim.put(`/Users/${user.id}`, { schemas: [USER], userName: 'away@example.com', active: true }).expect(200);
      expect(back.body.active).to.equal(true);
      // A user created without it is active.
      expect((await t.scim.get(`/Users/${user.id}`).expect(200)).body.active).to.equal(true);
    });

    it('refuses to remove active or set it to null (400 invalidValue), changing nothing', async () => {
      const { body: user } = await t.scim.post('/Users', { schemas: [USER], userName: 'off@example.com', active: false }).expect(201);
      for (const op of [{ op: 'remove', path: 'active' }, { op: 'replace', path: 'active', value: null }, { op: 'replace', value: { active: null } }]) {
        expectScimError(await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }, op)), 400, 'invalidValue');
      }
      const after = await t.scim.get(`/Users/${user.id}`).expect(200);
      expect(after.body.active).to.equal(false);
      expect(after.body).to.not.have.property('title');
      expect(after.body.meta.version).to.equal(user.meta.version);
      // The same in a Bulk PATCH.
      const bulk = await t.scim
        .post('/Bulk', { schemas: [BULK_REQUEST], Operations: [{ method: 'PATCH', path: `/Users/${user.id}`, data: patchOp({ op: 'remove', path: 'active' }) }] })
        .expect(200);
      expect(bulk.body.Operations[0].status).to.equal('400');
      expect((await t.scim.get(`/Users/${user.id}`).expect(200)).body.active).to.equal(false);
    });
  });

  describe('password', () => {
    it('PATCH remove (or replace with null) clears the password; PATCH of other attributes keeps it', async () => {
      const { body: user } = await t.scim.post('/Users', { schemas: [USER], userName: 'pw@example.com', password: 'Secret-123' }).expect(201);
      const first = await passwordHash(user.id);
      expect(first).to.be.a('string');
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'title', value: 'Keeps' })).expect(200);
      expect(await passwordHash(user.id)).to.equal(first);
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'remove', path: 'password' })).expect(200);
      expect(await passwordHash(user.id)).to.equal(null);
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'password', value: 'Another-456' })).expect(200);
      expect(await passwordHash(user.id)).to.be.a('string');
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'password', value: null })).expect(200);
      expect(await passwordHash(user.id)).to.equal(null);
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', value: { password: 'Third-789' } })).expect(200);
      expect(await passwordHash(user.id)).to.be.a('string');
      expectScimError(await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'password', value: 42 })), 400, 'invalidValue');
      expect(await passwordHash(user.id)).to.be.a('string');
    });

    it('a PUT without password keeps it; a PUT with password null clears it', async () => {
      const { body: user } = await t.scim.post('/Users', { schemas: [USER], userName: 'pw2@example.com', password: 'Secret-123' }).expect(201);
      const first = await passwordHash(user.id);
      await t.scim.put(`/Users/${user.id}`, { schemas: [USER], userName: 'pw2@example.com', title: 'x' }).expect(200);
      expect(await passwordHash(user.id)).to.equal(first);
      await t.scim.put(`/Users/${user.id}`, { schemas: [USER], userName: 'pw2@example.com', password: null }).expect(200);
      expect(await passwordHash(user.id)).to.equal(null);
    });
  });

  describe('empty values', () => {
    it('stores and shows an empty array or object as unassigned (RFC 7643 §2.5), on POST, PUT and PATCH', async () => {
      const { body: user } = await t.scim
        .post('/Users', { schemas: [USER, ENTERPRISE], userName: 'empty@example.com', roles: [], emails: [], name: {}, [ENTERPRISE]: { manager: {} } })
        .expect(201);
      expect(user).to.not.have.any.keys('roles', 'emails', 'name', ENTERPRISE);
      const put = await t.scim.put(`/Users/${user.id}`, { schemas: [USER], userName: 'empty@example.com', phoneNumbers: [], addresses: [{}] }).expect(200);
      expect(put.body).to.not.have.any.keys('phoneNumbers', 'addresses');
      await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'e@example.com', type: 'work' }] })).expect(200);
      const emptied = await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'emails', value: [] }, { op: 'add', path: 'name', value: {} })).expect(200);
      expect(emptied.body).to.not.have.any.keys('emails', 'name');
    });

    it('leaves a complex attribute out when a projection removes all it had', async () => {
      const { body: boss } = await t.scim.post('/Users', { schemas: [USER], userName: 'boss@example.com' }).expect(201);
      const { body: user } = await t.scim.post('/Users', { schemas: [USER, ENTERPRISE], userName: 'worker@example.com', [ENTERPRISE]: { manager: { value: boss.id } } }).expect(201);
      const res = await t.scim.get(`/Users/${user.id}?excludedAttributes=${encodeURIComponent(`${ENTERPRISE}:manager.value`)}`).expect(200);
      expect(res.body).to.not.have.property(ENTERPRISE);
      const shown = await t.scim.get(`/Users/${user.id}`).expect(200);
      expect(shown.body[ENTERPRISE].manager.value).to.equal(boss.id);
    });
  });

  describe('writes that change nothing', () => {
    it('a user PUT or PATCH that sets what is already there keeps the version, lastModified and the change feed', async () => {
      const body = { schemas: [USER], userName: 'same@example.com', name: { givenName: 'Sam', familyName: 'Same' }, emails: [{ value: 'same@example.com', type: 'work' }], active: false };
      const { body: user } = await t.scim.post('/Users', body).expect(201);
      const first = await t.scim.put(`/Users/${user.id}`, { ...body, title: 'T' }).expect(200);
      const eventsBefore = await events(user.id);
      const again = await t.scim.put(`/Users/${user.id}`, { ...body, title: 'T' }).expect(200);
      expect(again.headers.etag).to.equal(first.headers.etag);
      const when = (meta: { version: string; lastModified: string }) => [meta.version, meta.lastModified];
      expect(when(again.body.meta)).to.deep.equal(when(first.body.meta));
      const patched = await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'active', value: 'False' }, { op: 'replace', path: 'title', value: 'T' })).expect(200);
      expect(when(patched.body.meta)).to.deep.equal(when(first.body.meta));
      expect(await events(user.id)).to.equal(eventsBefore);
      // A real change still makes a new version, and a case change of userName is a change.
      const renamed = await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'userName', value: 'Same@example.com' })).expect(200);
      expect(renamed.body.meta.version).to.not.equal(first.body.meta.version);
      expect(await events(user.id)).to.equal(eventsBefore + 1);
      // Setting a password is always a change (its old value cannot be compared).
      const pw = await t.scim.patch(`/Users/${user.id}`, patchOp({ op: 'replace', path: 'password', value: 'Secret-1' })).expect(200);
      expect(pw.body.meta.version).to.not.equal(renamed.body.meta.version);
    });

    it('a group PUT or displayName replace that changes nothing keeps the version', async () => {
      const { body: member } = await t.scim.post('/Users', { schemas: [USER], userName: 'member@example.com' }).expect(201);
      const { body: group } = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Steady', externalId: 'ext-1', members: [{ value: member.id }] }).expect(201);
      const eventsBefore = await events(group.id);
      const put = await t.scim.put(`/Groups/${group.id}`, { schemas: [GROUP], displayName: 'Steady', externalId: 'ext-1', members: [{ value: member.id }] }).expect(200);
      expect(put.body.meta.version).to.equal(group.meta.version);
      const patched = await t.scim.patch(`/Groups/${group.id}?attributes=displayName,meta`, patchOp({ op: 'replace', path: 'displayName', value: 'Steady' })).expect(200);
      expect(patched.body.meta.version).to.equal(group.meta.version);
      expect(await events(group.id)).to.equal(eventsBefore);
      const renamed = await t.scim.patch(`/Groups/${group.id}?attributes=displayName,meta`, patchOp({ op: 'replace', path: 'displayName', value: 'steady' })).expect(200);
      expect(renamed.body.meta.version).to.not.equal(group.meta.version);
    });
  });
});
