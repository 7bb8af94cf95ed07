import { expect } from 'chai';
import { ENTERPRISE, expectScimError, GROUP, LIST, memberRows, patchOp, qs, scimTenant, USER, type ScimTenant } from './helpers';

/**
 * Request/response sequences as Okta and Microsoft Entra ID send them (their provisioning
 * documentation): look the user up by userName in another case, create, deactivate, manage a
 * group's members, rename, delete. Bodies keep the clients' quirks on purpose.
 */
describe('SCIM: identity provider sequences', () => {
  describe('Okta', () => {
    let t: ScimTenant;
    beforeEach(async () => {
      t = await scimTenant();
    });

    it('provisions a user: lookup miss, create, lookup in capitals, PUT, deactivate, reactivate', async () => {
      const miss = await t.scim.get(`/Users${qs({ filter: 'userName eq "jane.doe@okta.example"', startIndex: 1, count: 100 })}`).expect(200);
      expect(miss.body).to.deep.include({ schemas: [LIST], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });

      const created = await t.scim
        .post('/Users', {
          schemas: [USER],
          userName: 'jane.doe@okta.example',
          name: { givenName: 'Jane', familyName: 'Doe' },
          emails: [{ primary: true, value: 'jane.doe@okta.example', type: 'work' }],
          displayName: 'Jane Doe',
          locale: 'en-US',
          externalId: '00ujl29u0le5T6Aj10h7',
          groups: [],
          password: '1mz050nq',
          active: true,
        })
        .expect(201);
      const id = created.body.id as string;
      expect(created.headers.location).to.match(new RegExp(`/scim/v2/Users/${id}$`));
      expect(created.headers['content-type']).to.equal('application/scim+json');
      expect(created.body).to.not.have.property('password');
      expect(created.body.meta).to.include({ resourceType: 'User', version: 'W/"1"' });
      expect(created.headers.etag).to.equal('W/"1"');

      // Okta looks users up with the userName as typed in Okta, which may differ in case.
      const hit = await t.scim.get(`/Users${qs({ filter: 'userName eq "JANE.DOE@OKTA.EXAMPLE"', startIndex: 1, count: 100 })}`).expect(200);
      expect(hit.body.totalResults).to.equal(1);
      expect(hit.body.Resources[0]).to.include({ id, userName: 'jane.doe@okta.example', active: true });

      // Okta updates profiles with PUT, sending the whole user back (id and all).
      const put = await t.scim
        .put(`/Users/${id}`, {
          schemas: [USER],
          id,
          userName: 'jane.doe@okta.example',
          name: { givenName: 'Janet', familyName: 'Doe' },
          emails: [{ primary: true, value: 'janet.doe@okta.example', type: 'work' }],
          displayName: 'Janet Doe',
          locale: 'en-US',
          externalId: '00ujl29u0le5T6Aj10h7',
          groups: [],
          active: true,
        })
        .expect(200);
      expect(put.body.name).to.deep.equal({ givenName: 'Janet', familyName: 'Doe' });
      expect(put.body.emails).to.deep.equal([{ primary: true, value: 'janet.doe@okta.example', type: 'work' }]);
      expect(put.body.meta.version).to.equal('W/"2"');

      // Okta deactivates with a no-path replace.
      const off = await t.scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: false } })).expect(200);
      expect(off.body).to.include({ id, active: false });
      expect(off.body.name).to.deep.equal({ givenName: 'Janet', familyName: 'Doe' });
      const read = await t.scim.get(`/Users/${id}`).expect(200);
      expect(read.body.active).to.equal(false);

      const on = await t.scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: true } })).expect(200);
      expect(on.body.active).to.equal(true);
    });

    it('pushes a group: lookup miss, create, add, replace and remove members, rename, delete', async () => {
      const ids: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        const u = await t.scim.post('/Users', { schemas: [USER], userName: `${name}@okta.example`, active: true }).expect(201);
        ids.push(u.body.id);
      }
      const [a, b, c] = ids;
      const miss = await t.scim.get(`/Groups${qs({ filter: 'displayName eq "Engineering"', startIndex: 1, count: 100 })}`).expect(200);
      expect(miss.body.totalResults).to.equal(0);

      const created = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Engineering', members: [] }).expect(201);
      const gid = created.body.id as string;
      expect(created.headers.location).to.match(new RegExp(`/scim/v2/Groups/${gid}$`));
      expect(created.body).to.deep.include({ displayName: 'Engineering', members: [] });

      await t.scim
        .patch(`/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: a, display: 'a@okta.example' }, { value: b, display: 'b@okta.example' }] }))
        .expect(204);
      expect(await memberRows(gid)).to.deep.equal([a, b].sort());

      // Group push sends the full member list as a replace.
      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'replace', path: 'members', value: [{ value: b }, { value: c }] })).expect(204);
      expect(await memberRows(gid)).to.deep.equal([b, c].sort());

      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${b}"]` })).expect(204);
      expect(await memberRows(gid)).to.deep.equal([c]);

      // Okta renames with a no-path replace that carries the group's own id.
      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'replace', value: { id: gid, displayName: 'Engineering (all)' } })).expect(204);
      const read = await t.scim.get(`/Groups/${gid}`).expect(200);
      expect(read.body.displayName).to.equal('Engineering (all)');
      expect(read.body.members.map((m: { value: string }) => m.value)).to.deep.equal([c]);
      expect(read.body.members[0]).to.include({ value: c, display: 'c@okta.example', type: 'User' });

      await t.scim.delete(`/Groups/${gid}`).expect(204);
      await t.scim.get(`/Groups/${gid}`).expect(404);
      // The users are untouched.
      await t.scim.get(`/Users/${c}`).expect(200);
    });

    it('PUT of a group replaces its name and its whole member list', async () => {
      const u1 = await t.scim.post('/Users', { schemas: [USER], userName: 'p1@okta.example' }).expect(201);
      const u2 = await t.scim.post('/Users', { schemas: [USER], userName: 'p2@okta.example' }).expect(201);
      const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Sales', members: [{ value: u1.body.id }] }).expect(201);
      const put = await t.scim
        .put(`/Groups/${g.body.id}`, { schemas: [GROUP], id: g.body.id, displayName: 'Sales EMEA', members: [{ value: u2.body.id, display: 'p2@okta.example' }] })
        .expect(200);
      expect(put.body.displayName).to.equal('Sales EMEA');
      expect(put.body.members.map((m: { value: string }) => m.value)).to.deep.equal([u2.body.id]);
      expect(await memberRows(g.body.id)).to.deep.equal([u2.body.id]);
    });
  });

  describe('Microsoft Entra ID', () => {
    let t: ScimTenant;
    beforeEach(async () => {
      t = await scimTenant();
    });

    it('provisions a user: lookup miss, create with the enterprise extension, lookup in another case, update, deactivate with "False"', async () => {
      await t.scim.get(`/Users${qs({ filter: 'userName eq "Test_User_dfeef4c5@contoso.example"' })}`).expect(200).expect((r) => expect(r.body.totalResults).to.equal(0));
      const manager = await t.scim.post('/Users', { schemas: [USER], userName: 'boss@contoso.example' }).expect(201);
      const created = await t.scim
        .post('/Users', {
          schemas: [USER, ENTERPRISE],
          externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
          userName: 'Test_User_dfeef4c5@contoso.example',
          active: true,
          emails: [{ primary: true, type: 'work', value: 'Test_User_ab6490ee@contoso.example' }],
          meta: { resourceType: 'User' },
          name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
          roles: [],
          [ENTERPRISE]: { employeeNumber: '1234', department: 'R&D' },
        })
        .expect(201);
      const id = created.body.id as string;
      expect(created.body.schemas).to.have.members([USER, ENTERPRISE]);
      expect(created.body[ENTERPRISE]).to.deep.equal({ employeeNumber: '1234', department: 'R&D' });
      expect(created.body.meta.resourceType).to.equal('User');
      expect(created.body.meta.created).to.be.a('string');

      const other = await t.scim.get(`/Users${qs({ filter: 'userName eq "test_user_DFEEF4C5@contoso.example"' })}`).expect(200);
      expect(other.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([id]);
      // Entra may match on externalId instead, and sometimes without quotes.
      const byExternal = await t.scim.get(`/Users?filter=${encodeURIComponent('externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef')}`).expect(200);
      expect(byExternal.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([id]);
      // …or on the work e-mail.
      const byMail = await t.scim.get(`/Users${qs({ filter: 'emails[type eq "work"].value eq "test_user_ab6490ee@contoso.example"' })}`).expect(200);
      expect(byMail.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([id]);

      const updated = await t.scim
        .patch(
          `/Users/${id}`,
          patchOp(
            { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@contoso.example' },
            { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
            { op: 'Add', path: `${ENTERPRISE}:manager`, value: manager.body.id },
            { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Operations' },
          ),
        )
        .expect(200);
      expect(updated.body.emails).to.deep.equal([{ primary: true, type: 'work', value: 'updatedEmail@contoso.example' }]);
      expect(updated.body.name).to.deep.equal({ formatted: 'givenName familyName', familyName: 'updatedFamilyName', givenName: 'givenName' });
      expect(updated.body[ENTERPRISE]).to.deep.equal({ employeeNumber: '1234', department: 'Operations', manager: { value: manager.body.id } });

      const off = await t.scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })).expect(200);
      expect(off.body.active).to.equal(false);
      expect(off.body.meta.version).to.equal('W/"3"');
      // Deactivated users stay readable and listable.
      await t.scim.get(`/Users/${id}`).expect(200).expect((r) => expect(r.body.active).to.equal(false));
      const listed = await t.scim.get(`/Users${qs({ filter: 'active eq false' })}`).expect(200);
      expect(listed.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([id]);

      // Entra clears the manager with a remove.
      const noManager = await t.scim.patch(`/Users/${id}`, patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager` })).expect(200);
      expect(noManager.body[ENTERPRISE]).to.deep.equal({ employeeNumber: '1234', department: 'Operations' });

      await t.scim.delete(`/Users/${id}`).expect(204);
      await t.scim.get(`/Users/${id}`).expect(404);
    });

    it('provisions a group: lookup without members, create, add and remove members with value arrays, check membership by filter, rename, delete', async () => {
      const users: string[] = [];
      for (let i = 0; i < 3; i++) users.push((await t.scim.post('/Users', { schemas: [USER], userName: `e${i}@contoso.example` }).expect(201)).body.id);
      const lookup = await t.scim.get(`/Groups${qs({ excludedAttributes: 'members', filter: 'displayName eq "Group1DisplayName"' })}`).expect(200);
      expect(lookup.body).to.deep.include({ totalResults: 0, Resources: [] });

      const created = await t.scim
        .post('/Groups', { schemas: [GROUP], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'Group1DisplayName', meta: { resourceType: 'Group' }, members: [] })
        .expect(201);
      const gid = created.body.id as string;
      expect(created.body.externalId).to.equal('8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159');

      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'Add', path: 'members', value: users.map((value) => ({ $ref: null, value })) })).expect(204);
      expect(await memberRows(gid)).to.deep.equal([...users].sort());

      // Entra checks a membership with a filter on id and members, without loading members.
      const check = await t.scim.get(`/Groups${qs({ filter: `id eq "${gid}" and members[value eq "${users[1]}"]`, excludedAttributes: 'members' })}`).expect(200);
      expect(check.body.totalResults).to.equal(1);
      expect(check.body.Resources[0]).to.not.have.property('members');
      expect(check.body.Resources[0]).to.include({ id: gid, displayName: 'Group1DisplayName' });

      // remove with path "members" and a value array removes exactly those members.
      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[1] }] })).expect(204);
      expect(await memberRows(gid)).to.deep.equal([users[0], users[2]].sort());
      const gone = await t.scim.get(`/Groups${qs({ filter: `id eq "${gid}" and members[value eq "${users[1]}"]`, excludedAttributes: 'members' })}`).expect(200);
      expect(gone.body.totalResults).to.equal(0);

      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Group1 renamed' })).expect(204);
      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'Replace', value: { displayName: 'Group1 renamed again' } })).expect(204);
      await t.scim.patch(`/Groups/${gid}`, patchOp({ op: 'Replace', value: { [`${GROUP}:displayName`]: 'Group1 final' } })).expect(204);
      const read = await t.scim.get(`/Groups/${gid}${qs({ excludedAttributes: 'members' })}`).expect(200);
      expect(read.body).to.include({ id: gid, displayName: 'Group1 final' });
      expect(read.body).to.not.have.property('members');
      expect(read.headers.etag).to.equal(read.body.meta.version);

      await t.scim.delete(`/Groups/${gid}`).expect(204);
      await t.scim.get(`/Groups/${gid}${qs({ excludedAttributes: 'members' })}`).expect(404);
      expect(await memberRows(gid)).to.deep.equal([]);
    });

    it('works with the aadOptscim062020 flag Entra appends to every request, and with other unknown parameters ignored', async () => {
      const flag = '?aadOptscim062020';
      const user = await t.scim.post(`/Users${flag}`, { schemas: [USER], userName: 'flagged@contoso.example', active: true }).expect(201);
      const found = await t.scim.get(`/Users${flag}&filter=${encodeURIComponent('userName eq "flagged@contoso.example"')}`).expect(200);
      expect(found.body.totalResults).to.equal(1);
      await t.scim.patch(`/Users/${user.body.id}${flag}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })).expect(200);
      const group = await t.scim.post(`/Groups${flag}`, { schemas: [GROUP], displayName: 'Flagged' }).expect(201);
      await t.scim.patch(`/Groups/${group.body.id}${flag}`, patchOp({ op: 'Add', path: 'members', value: [{ value: user.body.id }] })).expect(204);
      const members = await t.scim.get(`/Groups/${group.body.id}${flag}&excludedAttributes=members`).expect(200);
      expect(members.body).to.not.have.property('members');
      await t.scim.get(`/Users/${user.body.id}?tenantHint=x&aadOptscim062020`).expect(200).expect((r) => expect(r.body.active).to.equal(false));
      // Parameter names are case-insensitive (RFC 7644 §3.4.2): Filter and Count work as filter and count.
      const capital = await t.scim.get(`/Users?Filter=${encodeURIComponent('userName eq "flagged@contoso.example"')}&Count=1`).expect(200);
      expect(capital.body.totalResults).to.equal(1);
      expectScimError(await t.scim.get('/Users?Count=many'), 400, 'invalidValue');
      // ... and so are attributes/excludedAttributes on one resource, as on lists.
      await t.scim.patch(`/Groups/${group.body.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: user.body.id }] })).expect(204);
      for (const name of ['ExcludedAttributes', 'excludedattributes']) {
        const one = await t.scim.get(`/Groups/${group.body.id}?${name}=members`).expect(200);
        expect(one.body, name).to.not.have.property('members');
        expect(one.body.displayName).to.equal('Flagged');
      }
      const projected = await t.scim.get(`/Users/${user.body.id}?Attributes=userName`).expect(200);
      expect(Object.keys(projected.body).sort()).to.deep.equal(['id', 'schemas', 'userName']);
      const patched = await t.scim.patch(`/Groups/${group.body.id}?Attributes=displayName`, patchOp({ op: 'Replace', path: 'displayName', value: 'Flagged 2' })).expect(200);
      expect(patched.body).to.include({ displayName: 'Flagged 2' });
      expect(patched.body).to.not.have.property('members');
      await t.scim.delete(`/Groups/${group.body.id}${flag}`).expect(204);
      await t.scim.delete(`/Users/${user.body.id}${flag}`).expect(204);
    });

    it('renames a user with a no-path replace using dotted and URN-qualified keys', async () => {
      const u = await t.scim.post('/Users', { schemas: [USER], userName: 'dots@contoso.example', name: { givenName: 'A', familyName: 'B' } }).expect(201);
      const res = await t.scim
        .patch(
          `/Users/${u.body.id}`,
          patchOp({
            op: 'Replace',
            value: { 'name.givenName': 'Alice', [`${USER}:displayName`]: 'Alice B', [`${ENTERPRISE}:department`]: 'Legal', active: 'True' },
          }),
        )
        .expect(200);
      expect(res.body.name).to.deep.equal({ givenName: 'Alice', familyName: 'B' });
      expect(res.body.displayName).to.equal('Alice B');
      expect(res.body[ENTERPRISE]).to.deep.equal({ department: 'Legal' });
      expect(res.body.active).to.equal(true);
    });
  });
});
