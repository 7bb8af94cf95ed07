import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { ENTERPRISE, expectScimError, GROUP, memberRows, PATCH_OP, patchOp, scimTenant, USER, type ScimTenant } from './helpers';
import { MAX_PATH_LENGTH } from '../../src/http/scim/patch';

/** RFC 7644 §3.5.2 PATCH, in every shape issue 3 lists, on Users and Groups. */
describe('SCIM: PATCH', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  async function newUser(extra: Record<string, unknown> = {}) {
    const res = await t.scim.post('/Users', { schemas: [USER], userName: `u${Math.random().toString(36).slice(2)}@example.com`, ...extra }).expect(201);
    return res.body as Record<string, unknown> & { id: string };
  }
  const patchUser = (id: string, ...ops: unknown[]) => t.scim.patch(`/Users/${id}`, patchOp(...ops));

  describe('users', () => {
    it('answers 200 with the whole user, a new version and its ETag', async () => {
      const u = await newUser();
      const res = await patchUser(u.id, { op: 'replace', path: 'displayName', value: 'Dee' }).expect(200);
      expect(res.body).to.include({ id: u.id, displayName: 'Dee', userName: u.userName });
      expect(res.body.schemas).to.deep.equal([USER]);
      expect(res.body.meta.version).to.equal('W/"2"');
      expect(res.headers.etag).to.equal('W/"2"');
    });

    it('adds, replaces and removes simple attributes', async () => {
      const u = await newUser({ title: 'Engineer' });
      await patchUser(u.id, { op: 'add', path: 'nickName', value: 'Babs' }).expect(200);
      await patchUser(u.id, { op: 'replace', path: 'title', value: 'Staff Engineer' }).expect(200);
      const res = await patchUser(u.id, { op: 'remove', path: 'nickName' }).expect(200);
      expect(res.body.title).to.equal('Staff Engineer');
      expect(res.body).to.not.have.property('nickName');
    });

    it('merges a complex attribute on replace and changes single sub-attributes by path', async () => {
      const u = await newUser({ name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'J' } });
      const merged = await patchUser(u.id, { op: 'replace', path: 'name', value: { familyName: 'Jansen' } }).expect(200);
      expect(merged.body.name).to.deep.equal({ givenName: 'Barbara', familyName: 'Jansen', middleName: 'J' });
      const sub = await patchUser(u.id, { op: 'add', path: 'name.honorificPrefix', value: 'Ms.' }, { op: 'remove', path: 'name.middleName' }).expect(200);
      expect(sub.body.name).to.deep.equal({ givenName: 'Barbara', familyName: 'Jansen', honorificPrefix: 'Ms.' });
    });

    it('appends to, replaces and clears a multi-valued attribute', async () => {
      const u = await newUser({ emails: [{ value: 'a@example.com', type: 'work' }] });
      const added = await patchUser(u.id, { op: 'add', path: 'emails', value: [{ value: 'b@example.com', type: 'home' }] }).expect(200);
      expect(added.body.emails).to.deep.equal([
        { value: 'a@example.com', type: 'work' },
        { value: 'b@example.com', type: 'home' },
      ]);
      const again = await patchUser(u.id, { op: 'add', path: 'emails', value: [{ value: 'b@example.com', type: 'home' }, { type: 'home', value: 'b@example.com' }] }).expect(200);
      expect(again.body.emails, 'adding a value that is already there changes nothing').to.have.length(2);
      const replaced = await patchUser(u.id, { op: 'replace', path: 'emails', value: [{ value: 'c@example.com', type: 'other' }] }).expect(200);
      expect(replaced.body.emails).to.deep.equal([{ value: 'c@example.com', type: 'other' }]);
      const cleared = await patchUser(u.id, { op: 'remove', path: 'emails' }).expect(200);
      expect(cleared.body).to.not.have.property('emails');
    });

    it('removes exactly the listed values on a remove with a value array', async () => {
      const u = await newUser({ emails: [{ value: 'a@example.com' }, { value: 'b@example.com' }, { value: 'c@example.com' }] });
      const res = await patchUser(u.id, { op: 'remove', path: 'emails', value: [{ value: 'A@example.com' }, { value: 'c@example.com' }] }).expect(200);
      expect(res.body.emails).to.deep.equal([{ value: 'b@example.com' }]);
    });

    it('changes, adds and removes elements selected by a value filter', async () => {
      const u = await newUser({
        emails: [
          { value: 'w@example.com', type: 'work', primary: true },
          { value: 'h@example.com', type: 'home' },
        ],
        phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
      });
      const sub = await patchUser(u.id, { op: 'replace', path: 'emails[type eq "work"].value', value: 'w2@example.com' }).expect(200);
      expect(sub.body.emails[0]).to.deep.equal({ value: 'w2@example.com', type: 'work', primary: true });
      const whole = await patchUser(u.id, { op: 'replace', path: 'emails[value eq "h@example.com"]', value: { value: 'h2@example.com', display: 'Home' } }).expect(200);
      expect(whole.body.emails[1]).to.deep.equal({ value: 'h2@example.com', type: 'home', display: 'Home' });
      const both = await patchUser(u.id, { op: 'remove', path: 'emails[type eq "home" and value co "h2@"]' }).expect(200);
      expect(both.body.emails).to.deep.equal([{ value: 'w2@example.com', type: 'work', primary: true }]);
      const subRemove = await patchUser(u.id, { op: 'remove', path: 'emails[type eq "work"].primary' }).expect(200);
      expect(subRemove.body.emails).to.deep.equal([{ value: 'w2@example.com', type: 'work' }]);
      const phone = await patchUser(u.id, { op: 'replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' }).expect(200);
      expect(phone.body.phoneNumbers).to.deep.equal([{ value: '+1 555 0199', type: 'mobile' }]);
    });

    it('creates the element when a filtered add or replace matches nothing', async () => {
      const u = await newUser();
      const first = await patchUser(u.id, { op: 'Add', path: 'emails[type eq "work"].value', value: 'new@example.com' }).expect(200);
      expect(first.body.emails).to.deep.equal([{ type: 'work', value: 'new@example.com' }]);
      const second = await patchUser(u.id, { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Oslo' }).expect(200);
      expect(second.body.addresses).to.deep.equal([{ type: 'work', locality: 'Oslo' }]);
      const third = await patchUser(u.id, { op: 'replace', path: 'phoneNumbers[type eq "fax"]', value: { value: '+1 555 0111' } }).expect(200);
      expect(third.body.phoneNumbers).to.deep.equal([{ type: 'fax', value: '+1 555 0111' }]);
    });

    it('answers 400 noTarget when a filtered remove matches nothing, and changes nothing', async () => {
      const u = await newUser({ emails: [{ value: 'a@example.com', type: 'work' }] });
      const res = await patchUser(u.id, { op: 'remove', path: 'emails[type eq "home"]' });
      expectScimError(res, 400, 'noTarget');
      const read = await t.scim.get(`/Users/${u.id}`).expect(200);
      expect(read.body.meta.version).to.equal('W/"1"');
    });

    it('patches enterprise extension attributes by URN path, sub-attribute and whole object', async () => {
      const boss = await newUser();
      const u = await newUser({ schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: 'Sales' } });
      const dept = await patchUser(u.id, { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Support' }).expect(200);
      expect(dept.body[ENTERPRISE]).to.deep.equal({ department: 'Support' });
      expect(dept.body.schemas).to.have.members([USER, ENTERPRISE]);
      const mgr = await patchUser(u.id, { op: 'add', path: `${ENTERPRISE}:manager.value`, value: boss.id }).expect(200);
      expect(mgr.body[ENTERPRISE].manager).to.deep.equal({ value: boss.id });
      const whole = await patchUser(u.id, { op: 'replace', path: ENTERPRISE, value: { costCenter: 'CC-1', employeeNumber: 7 } }).expect(200);
      expect(whole.body[ENTERPRISE]).to.deep.equal({ department: 'Support', manager: { value: boss.id }, costCenter: 'CC-1', employeeNumber: '7' });
      const removed = await patchUser(u.id, { op: 'remove', path: ENTERPRISE }).expect(200);
      expect(removed.body).to.not.have.property(ENTERPRISE);
      expect(removed.body.schemas).to.deep.equal([USER]);
    });

    it('accepts the manager as a bare id string, as Entra ID sends it', async () => {
      const boss = await newUser();
      const u = await newUser();
      const res = await patchUser(u.id, { op: 'Add', path: `${ENTERPRISE}:manager`, value: boss.id }).expect(200);
      expect(res.body[ENTERPRISE]).to.deep.equal({ manager: { value: boss.id } });
    });

    it('takes an extension attribute named without its URN (older Entra ID mappings) as the extension\'s', async () => {
      const boss = await newUser();
      const u = await newUser();
      const res = await patchUser(u.id, { op: 'Add', path: 'manager', value: [{ $ref: `../Users/${boss.id}`, value: boss.id }] }, { op: 'replace', path: 'department', value: 'Legal' }).expect(200);
      expect(res.body[ENTERPRISE]).to.deep.equal({ manager: { value: boss.id, $ref: `../Users/${boss.id}` }, department: 'Legal' });
      expect(res.body.schemas).to.have.members([USER, ENTERPRISE]);
      const removed = await patchUser(u.id, { op: 'remove', path: 'department' }).expect(200);
      expect(removed.body[ENTERPRISE]).to.not.have.property('department');
      const noPath = await patchUser(u.id, { op: 'replace', value: { costCenter: 'CC-9' } }).expect(200);
      expect(noPath.body[ENTERPRISE]).to.include({ costCenter: 'CC-9' });
      // A core attribute keeps its name: `title` is the core title, not an extension's.
      const titled = await patchUser(u.id, { op: 'replace', path: 'title', value: 'Boss' }).expect(200);
      expect(titled.body.title).to.equal('Boss');
    });

    it('applies no-path add and replace to every attribute of the value, including the extension', async () => {
      const u = await newUser({ name: { givenName: 'A' } });
      const res = await patchUser(u.id, {
        op: 'add',
        value: { displayName: 'Ann', name: { familyName: 'Lee' }, emails: [{ value: 'ann@example.com' }], [ENTERPRISE]: { division: 'North' } },
      }).expect(200);
      expect(res.body).to.deep.include({ displayName: 'Ann', name: { givenName: 'A', familyName: 'Lee' }, emails: [{ value: 'ann@example.com' }] });
      expect(res.body[ENTERPRISE]).to.deep.equal({ division: 'North' });
      const rep = await patchUser(u.id, { op: 'replace', value: { 'name.givenName': 'Anna', [`${ENTERPRISE}:division`]: 'South' } }).expect(200);
      expect(rep.body.name).to.deep.equal({ givenName: 'Anna', familyName: 'Lee' });
      expect(rep.body[ENTERPRISE]).to.deep.equal({ division: 'South' });
    });

    it('accepts op names in any case', async () => {
      const u = await newUser();
      const res = await patchUser(u.id, { op: 'ADD', path: 'title', value: 'x' }, { op: 'Replace', path: 'title', value: 'y' }, { op: 'rEmOvE', path: 'nickName' }).expect(200);
      expect(res.body.title).to.equal('y');
    });

    it('accepts booleans sent as strings ("True", "False") for boolean attributes and sub-attributes', async () => {
      const u = await newUser({ emails: [{ value: 'a@example.com', type: 'work' }] });
      const off = await patchUser(u.id, { op: 'replace', path: 'active', value: 'False' }).expect(200);
      expect(off.body.active).to.equal(false);
      const on = await patchUser(u.id, { op: 'replace', path: 'active', value: 'True' }, { op: 'replace', path: 'emails[type eq "work"].primary', value: 'true' }).expect(200);
      expect(on.body.active).to.equal(true);
      expect(on.body.emails[0].primary).to.equal(true);
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'active', value: 'maybe' }), 400, 'invalidValue');
    });

    it('keeps primary exclusive: a new primary value clears the old one', async () => {
      const u = await newUser({ emails: [{ value: 'a@example.com', type: 'work', primary: true }, { value: 'b@example.com', type: 'home' }] });
      const added = await patchUser(u.id, { op: 'add', path: 'emails', value: [{ value: 'c@example.com', type: 'other', primary: true }] }).expect(200);
      expect(added.body.emails.filter((e: { primary?: boolean }) => e.primary === true).map((e: { value: string }) => e.value)).to.deep.equal(['c@example.com']);
      const moved = await patchUser(u.id, { op: 'replace', path: 'emails[value eq "b@example.com"].primary', value: true }).expect(200);
      expect(moved.body.emails.filter((e: { primary?: boolean }) => e.primary === true).map((e: { value: string }) => e.value)).to.deep.equal(['b@example.com']);
      const filtered = await patchUser(u.id, { op: 'replace', path: 'emails[value eq "a@example.com"]', value: { primary: true } }).expect(200);
      expect(filtered.body.emails.filter((e: { primary?: boolean }) => e.primary === true).map((e: { value: string }) => e.value)).to.deep.equal(['a@example.com']);
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'emails', value: [{ value: 'x@example.com', primary: true }, { value: 'y@example.com', primary: true }] }), 400, 'invalidValue');
    });

    it('ignores unknown extra schemas URIs next to the PatchOp one, and client-sent meta', async () => {
      const u = await newUser();
      const res = await t.scim
        .patch(`/Users/${u.id}`, {
          schemas: [PATCH_OP, 'urn:example:params:scim:api:messages:2.0:Custom'],
          Operations: [
            { op: 'replace', value: { displayName: 'Meta', meta: { version: 'W/"99"', resourceType: 'Group' }, schemas: ['urn:x'] } },
            { op: 'replace', path: 'meta.lastModified', value: '2000-01-01T00:00:00Z' },
          ],
        })
        .expect(200);
      expect(res.body.displayName).to.equal('Meta');
      expect(res.body.meta).to.include({ resourceType: 'User', version: 'W/"2"' });
      expect(res.body.meta.lastModified).to.not.equal('2000-01-01T00:00:00.000Z');
    });

    it('accepts "id" equal to the user\'s own id and refuses another id with 400 mutability', async () => {
      const u = await newUser();
      await patchUser(u.id, { op: 'replace', value: { id: u.id, displayName: 'Same' } }).expect(200);
      await patchUser(u.id, { op: 'replace', path: 'id', value: u.id.toUpperCase() }).expect(200);
      const other = await patchUser(u.id, { op: 'replace', value: { id: '3a6f2c37-52cb-4c1d-9f1a-6a7c3a5e9d10', displayName: 'Other' } });
      expectScimError(other, 400, 'mutability');
      expectScimError(await patchUser(u.id, { op: 'remove', path: 'id' }), 400, 'mutability');
      const read = await t.scim.get(`/Users/${u.id}`).expect(200);
      expect(read.body).to.include({ id: u.id, displayName: 'Same' });
    });

    it('refuses readOnly and required attributes with 400 mutability', async () => {
      const u = await newUser();
      expectScimError(await patchUser(u.id, { op: 'add', path: 'groups', value: [{ value: u.id }] }), 400, 'mutability');
      expectScimError(await patchUser(u.id, { op: 'remove', path: 'userName' }), 400, 'mutability');
    });

    it('answers 400 with the right scimType for malformed operations', async () => {
      const u = await newUser();
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'emails[type eq]', value: 'x' }), 400, 'invalidPath');
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'emails.shade', value: 'x' }), 400, 'invalidPath');
      expectScimError(await patchUser(u.id, { op: 'remove' }), 400, 'noTarget');
      expectScimError(await patchUser(u.id, { op: 'move', path: 'title', value: 'x' }), 400, 'invalidSyntax');
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'title' }), 400, 'invalidValue');
      expectScimError(await patchUser(u.id, { op: 'replace', value: 'not an object' }), 400, 'invalidValue');
      expectScimError(await patchUser(u.id, { op: 'add', path: 'externalId', value: { value: 'x' } }), 400, 'invalidValue');
      expectScimError(await patchUser(u.id, { op: 'add', path: 'externalId', value: ['a', 'b'] }), 400, 'invalidValue');
      expectScimError(await t.scim.patch(`/Users/${u.id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 400, 'invalidSyntax');
      expectScimError(await t.scim.patch(`/Users/${u.id}`, { schemas: [PATCH_OP], Operations: [] }), 400, 'invalidSyntax');
      expectScimError(await patchUser(u.id, { op: 'replace', path: 'userName', value: '   ' }), 400);
      expectScimError(await patchUser(u.id, { op: 'replace', path: 42, value: 'x' }), 400, 'invalidPath');
      const long = `emails[${Array.from({ length: 60 }, (_, k) => `value eq "a${k}@example.com"`).join(' or ')}].type`;
      expect(long.length).to.be.above(MAX_PATH_LENGTH);
      const tooLong = await patchUser(u.id, { op: 'replace', path: long, value: 'work' });
      expectScimError(tooLong, 400, 'invalidPath');
      expect(tooLong.body.detail).to.equal(`operation 1: "path" is longer than ${MAX_PATH_LENGTH} characters`);
    });

    it('ignores attributes and schemas it does not have, as POST and PUT do, and applies the rest (a deactivation too)', async () => {
      const u = await newUser({ title: 'before' });
      const custom = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';
      const res = await patchUser(
        u.id,
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'replace', path: 'favouriteColour', value: 'blue' },
        { op: 'add', path: `${custom}:tag`, value: 'x' },
        { op: 'replace', value: { title: 'after', costCenterCustom: 'x', [custom]: { tag: 'y' } } },
        { op: 'remove', path: `${custom}:tag` },
      ).expect(200);
      expect(res.body).to.include({ active: false, title: 'after' });
      expect(res.body).to.not.have.any.keys('favouriteColour', 'costCenterCustom', custom);
    });

    it('applies all operations or none', async () => {
      const u = await newUser({ title: 'before' });
      const res = await patchUser(u.id, { op: 'replace', path: 'title', value: 'after' }, { op: 'replace', path: 'emails[type eq]', value: 1 });
      expectScimError(res, 400, 'invalidPath');
      const read = await t.scim.get(`/Users/${u.id}`).expect(200);
      expect(read.body).to.include({ title: 'before' });
      expect(read.body.meta.version).to.equal('W/"1"');
    });

    it('changes the password without ever returning it', async () => {
      const u = await newUser();
      const res = await patchUser(u.id, { op: 'replace', path: 'password', value: 'n3w-Secret!' }).expect(200);
      expect(res.body).to.not.have.property('password');
      const row = await testContext().db('users').where({ id: u.id }).first();
      expect(row.password_hash).to.be.a('string').and.not.include('n3w-Secret!');
    });

    it('answers 409 uniqueness when a PATCH takes another user\'s userName in another case', async () => {
      const a = await newUser();
      const b = await newUser();
      expectScimError(await patchUser(b.id, { op: 'replace', path: 'userName', value: String(a.userName).toUpperCase() }), 409, 'uniqueness');
    });

    it('works on /Me for a token that acts as a user', async () => {
      const u = await newUser();
      const token = await t.mint(['scim_provisioning'], { userId: u.id });
      const res = await t.scim.patch('/Me', patchOp({ op: 'replace', path: 'nickName', value: 'me' })).set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body).to.include({ id: u.id, nickName: 'me' });
    });
  });

  describe('groups', () => {
    async function users(n: number): Promise<string[]> {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await newUser()).id);
      return out;
    }
    async function newGroup(members: string[] = [], displayName = `g-${Math.random().toString(36).slice(2)}`) {
      const res = await t.scim.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }).expect(201);
      return res.body as { id: string; displayName: string };
    }
    const patchGroup = (id: string, ...ops: unknown[]) => t.scim.patch(`/Groups/${id}`, patchOp(...ops));

    it('answers 204 with the new ETag, or 200 with the group when attributes are requested', async () => {
      const g = await newGroup();
      const res = await patchGroup(g.id, { op: 'replace', path: 'displayName', value: 'Renamed' }).expect(204);
      expect(res.headers.etag).to.equal('W/"2"');
      expect(res.text).to.equal('');
      const withAttrs = await t.scim.patch(`/Groups/${g.id}?attributes=displayName`, patchOp({ op: 'replace', path: 'displayName', value: 'Again' })).expect(200);
      expect(withAttrs.body).to.deep.include({ id: g.id, displayName: 'Again', schemas: [GROUP] });
      expect(withAttrs.body).to.not.have.property('members');
      const excluded = await t.scim.patch(`/Groups/${g.id}?excludedAttributes=members`, patchOp({ op: 'replace', path: 'externalId', value: 'ext-1' })).expect(200);
      expect(excluded.body).to.include({ externalId: 'ext-1', displayName: 'Again' });
      expect(excluded.body.meta.version).to.equal('W/"4"');
    });

    it('adds members idempotently, with "$ref": null, display and type', async () => {
      const [a, b] = await users(2);
      const g = await newGroup([a]);
      await patchGroup(g.id, { op: 'add', path: 'members', value: [{ $ref: null, value: a }, { value: b, display: 'B', type: 'User' }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([a, b].sort());
      const read = await t.scim.get(`/Groups/${g.id}`).expect(200);
      expect(read.body.members).to.have.length(2);
    });

    it('removes exactly the members listed in a remove with a value array (Entra ID)', async () => {
      const [a, b, c] = await users(3);
      const g = await newGroup([a, b, c]);
      await patchGroup(g.id, { op: 'Remove', path: 'members', value: [{ $ref: null, value: a }, { value: c }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b]);
      // Removing someone who is not a member is not an error.
      await patchGroup(g.id, { op: 'Remove', path: 'members', value: [{ value: a }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b]);
    });

    it('removes the members a filter selects (Okta), by value, type or both', async () => {
      const [a, b] = await users(2);
      const child = await newGroup();
      const g = await newGroup([a, b, child.id]);
      await patchGroup(g.id, { op: 'remove', path: `members[value eq "${a}"]` }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b, child.id].sort());
      await patchGroup(g.id, { op: 'remove', path: 'members[type eq "Group"]' }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b]);
      await patchGroup(g.id, { op: 'remove', path: `members[value eq "${b}" and type eq "User"]` }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([]);
    });

    it('clears all members on remove "members" without a value, and replaces them on replace', async () => {
      const [a, b, c] = await users(3);
      const g = await newGroup([a, b]);
      await patchGroup(g.id, { op: 'remove', path: 'members' }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([]);
      await patchGroup(g.id, { op: 'replace', path: 'members', value: [{ value: b }, { value: c }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b, c].sort());
      await patchGroup(g.id, { op: 'replace', path: 'members', value: [] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([]);
    });

    it('swaps the selected member on a filtered replace', async () => {
      const [a, b, c] = await users(3);
      const g = await newGroup([a, b]);
      await patchGroup(g.id, { op: 'replace', path: `members[value eq "${a}"]`, value: [{ value: c }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b, c].sort());
    });

    it('applies operations in order within one request', async () => {
      const [a, b, c] = await users(3);
      const g = await newGroup([a]);
      await patchGroup(
        g.id,
        { op: 'add', path: 'members', value: [{ value: b }, { value: c }] },
        { op: 'remove', path: 'members', value: [{ value: b }] },
        { op: 'remove', path: `members[value eq "${c}"]` },
      ).expect(204);
      expect(await memberRows(g.id), 'members added then removed in the same request are gone').to.deep.equal([a]);
      await patchGroup(g.id, { op: 'remove', path: 'members' }, { op: 'add', path: 'members', value: [{ value: b }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b]);
      await patchGroup(g.id, { op: 'remove', path: `members[value eq "${b}"]` }, { op: 'add', path: 'members', value: [{ value: b }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([b]);
      await patchGroup(g.id, { op: 'replace', path: 'members', value: [{ value: a }] }, { op: 'add', path: 'members', value: [{ value: c }] }).expect(204);
      expect(await memberRows(g.id)).to.deep.equal([a, c].sort());
    });

    it('renames with a path, a no-path value with its own id, and URN-qualified keys', async () => {
      const g = await newGroup();
      await patchGroup(g.id, { op: 'Replace', path: 'displayName', value: 'One' }).expect(204);
      await patchGroup(g.id, { op: 'replace', value: { id: g.id, displayName: 'Two', meta: { resourceType: 'Group' }, schemas: [GROUP] } }).expect(204);
      await patchGroup(g.id, { op: 'replace', value: { [`${GROUP}:displayName`]: 'Three' } }).expect(204);
      await patchGroup(g.id, { op: 'replace', path: `${GROUP}:displayName`, value: 'Four' }).expect(204);
      const read = await t.scim.get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
      expect(read.body.displayName).to.equal('Four');
      expect(read.body.meta.version).to.equal('W/"5"');
    });

    it('refuses another group id (400 mutability), removing displayName (400 mutability) and bad member filters (400 invalidPath); ignores attributes it does not have', async () => {
      const g = await newGroup();
      const other = await newGroup();
      expectScimError(await patchGroup(g.id, { op: 'replace', value: { id: other.id, displayName: 'X' } }), 400, 'mutability');
      expectScimError(await patchGroup(g.id, { op: 'remove', path: 'displayName' }), 400, 'mutability');
      expectScimError(await patchGroup(g.id, { op: 'remove', path: 'members[display eq "x"]' }), 400, 'invalidPath');
      const read = await t.scim.get(`/Groups/${g.id}`).expect(200);
      expect(read.body.displayName).to.equal(g.displayName);
      await patchGroup(g.id, { op: 'replace', path: 'colour', value: 'red' }, { op: 'add', path: 'urn:example:custom:2.0:Group:tag', value: 'x' }, { op: 'replace', value: { displayName: 'Renamed', colour: 'red' } }).expect(204);
      const renamed = await t.scim.get(`/Groups/${g.id}`).expect(200);
      expect(renamed.body.displayName).to.equal('Renamed');
      expect(renamed.body).to.not.have.property('colour');
    });

    it('sets and clears externalId', async () => {
      const g = await newGroup();
      await patchGroup(g.id, { op: 'add', path: 'externalId', value: 'ext-42' }).expect(204);
      expect((await t.scim.get(`/Groups/${g.id}`).expect(200)).body.externalId).to.equal('ext-42');
      await patchGroup(g.id, { op: 'remove', path: 'externalId' }).expect(204);
      expect((await t.scim.get(`/Groups/${g.id}`).expect(200)).body).to.not.have.property('externalId');
    });

    it('refuses unknown members, wrong member types and cycles with 400, changing nothing', async () => {
      const [a] = await users(1);
      const parent = await newGroup();
      const child = await newGroup([], 'child');
      await patchGroup(parent.id, { op: 'add', path: 'members', value: [{ value: child.id, type: 'Group' }] }).expect(204);
      expectScimError(await patchGroup(parent.id, { op: 'add', path: 'members', value: [{ value: a }, { value: 'a2b1c7e4-0000-4000-8000-000000000000' }] }), 400, 'invalidValue');
      expectScimError(await patchGroup(parent.id, { op: 'add', path: 'members', value: [{ value: a, type: 'Group' }] }), 400, 'invalidValue');
      expectScimError(await patchGroup(child.id, { op: 'add', path: 'members', value: [{ value: parent.id }] }), 400);
      expectScimError(await patchGroup(parent.id, { op: 'add', path: 'members', value: [{ value: parent.id }] }), 400);
      expect(await memberRows(parent.id)).to.deep.equal([child.id]);
      expect(await memberRows(child.id)).to.deep.equal([]);
    });

    it('refuses a rename to a name another group has with 409 uniqueness', async () => {
      await newGroup([], 'Taken');
      const g = await newGroup();
      expectScimError(await patchGroup(g.id, { op: 'replace', path: 'displayName', value: 'TAKEN' }), 409, 'uniqueness');
    });

    it('keeps memberCount in step with the rows', async () => {
      const [a, b, c] = await users(3);
      const g = await newGroup([a]);
      await patchGroup(g.id, { op: 'add', path: 'members', value: [{ value: a }, { value: b }, { value: c }] }, { op: 'remove', path: `members[value eq "${a}"]` }).expect(204);
      const row = await testContext().db('groups').where({ id: g.id }).first();
      expect(row.member_count).to.equal((await memberRows(g.id)).length);
    });
  });
});
