import { expect } from 'chai';
import { testContext } from '../helpers/context';
import type { User } from '../../src/domain/users/user';
import { scimMemberTemplates } from '../../src/http/scim/stream';
import { LIST, patchOp, qs, scimClient, scimTenant, SEARCH, type ScimClient, type ScimTenant } from './helpers';

/**
 * Visibility `members`/`owners` (Groups v2) over SCIM: a token acting as a user sees the groups
 * Groups v2 shows it — in group lists and searches, their totals, users' `groups`, the `groups`
 * filters and a group's member groups — and a token acting as no user sees every group, as before.
 */
describe('SCIM: group visibility for tokens acting as a user', () => {
  let t: ScimTenant;
  let viewer: User;
  let ada: User;
  let asViewer: ScimClient;
  const ids: Record<string, string> = {};

  /**
   * ada is a direct member of every group; the viewer is a member of members-in and owners-out,
   * owns owners-in and is included by members-rule's rule.
   */
  beforeEach(async () => {
    t = await scimTenant();
    const { services } = testContext().deps;
    viewer = await t.user({ userName: 'viewer@acme.com' });
    ada = await t.user({ userName: 'ada@other.org' });
    const groups = {
      public: await t.group({ name: 'public' }),
      'members-in': await t.group({ name: 'members-in', visibility: 'members' }),
      'members-rule': await t.group({ name: 'members-rule', visibility: 'members', wildcards: ['*@acme.com'] }),
      'members-out': await t.group({ name: 'members-out', visibility: 'members' }),
      'owners-in': await t.group({ name: 'owners-in', visibility: 'owners', ownerIds: [viewer.id] }),
      'owners-out': await t.group({ name: 'owners-out', visibility: 'owners' }),
    };
    for (const [name, g] of Object.entries(groups)) {
      ids[name] = g.id;
      await services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: ada.id }]);
    }
    await services.memberships.addMembers(t.admin, ids['members-in'], [{ kind: 'user', id: viewer.id }]);
    await services.memberships.addMembers(t.admin, ids['owners-out'], [{ kind: 'user', id: viewer.id }]);
    asViewer = scimClient(await t.mint(['scim_provisioning'], { userId: viewer.id }));
  });

  const visible = ['members-in', 'members-rule', 'owners-in', 'public'];
  const everything = ['members-in', 'members-out', 'members-rule', 'owners-in', 'owners-out', 'public'];
  const names = (body: { Resources?: { displayName: string }[] }) => (body.Resources ?? []).map((g) => g.displayName).sort();
  const groupNames = (u: { groups?: { display: string }[] }) => (u.groups ?? []).map((g) => g.display).sort();

  describe('group lists and searches', () => {
    it('GET /Groups lists and counts only the groups the user may see; a token acting as no user sees all', async () => {
      const mine = await asViewer.get('/Groups').expect(200);
      expect(names(mine.body)).to.deep.equal(visible);
      expect(mine.body.totalResults).to.equal(4);
      // The groups shown still carry their members.
      for (const g of mine.body.Resources) expect(g.members.map((m: { value: string }) => m.value)).to.include(ada.id);
      const all = await t.scim.get('/Groups').expect(200);
      expect(names(all.body)).to.deep.equal(everything);
      expect(all.body.totalResults).to.equal(6);
      // The list agrees with a GET of each group (404 when hidden).
      await asViewer.get(`/Groups/${ids['owners-out']}`).expect(404);
      await asViewer.get(`/Groups/${ids['owners-in']}`).expect(200);
      await t.scim.get(`/Groups/${ids['owners-out']}`).expect(200);
    });

    it('a displayName filter does not find a hidden group, and does find one the user is a member or owner of', async () => {
      for (const hidden of ['owners-out', 'members-out']) {
        const res = await asViewer.get(`/Groups${qs({ filter: `displayName eq "${hidden}"` })}`).expect(200);
        expect(res.body).to.include({ totalResults: 0 });
        expect(res.body.Resources ?? []).to.deep.equal([]);
        const admin = await t.scim.get(`/Groups${qs({ filter: `displayName eq "${hidden}"` })}`).expect(200);
        expect(names(admin.body)).to.deep.equal([hidden]);
      }
      for (const shown of ['owners-in', 'members-in', 'members-rule']) {
        const res = await asViewer.get(`/Groups${qs({ filter: `displayName eq "${shown}"` })}`).expect(200);
        expect(names(res.body)).to.deep.equal([shown]);
        expect(res.body.totalResults).to.equal(1);
      }
    });

    it('totals alone (count=0) and cursor pages leave hidden groups out', async () => {
      const totals = await asViewer.get(`/Groups${qs({ count: 0 })}`).expect(200);
      expect(totals.body.totalResults).to.equal(4);
      const seen: string[] = [];
      let page = await asViewer.get(`/Groups${qs({ count: 3, cursor: '' })}`).expect(200);
      seen.push(...names(page.body));
      while (page.body.nextCursor) {
        page = await asViewer.get(`/Groups${qs({ count: 3, cursor: page.body.nextCursor })}`).expect(200);
        seen.push(...names(page.body));
      }
      expect(seen.sort()).to.deep.equal(visible);
    });

    it('POST /Groups/.search and the root /.search leave hidden groups out of results and totals', async () => {
      const search = { schemas: [SEARCH], filter: 'displayName sw "owners-"' };
      const mine = await asViewer.post('/Groups/.search', search).expect(200);
      expect(names(mine.body)).to.deep.equal(['owners-in']);
      expect(mine.body.totalResults).to.equal(1);
      const all = await t.scim.post('/Groups/.search', search).expect(200);
      expect(names(all.body)).to.deep.equal(['owners-in', 'owners-out']);

      const root = { schemas: [SEARCH], filter: 'displayName sw "members-"' };
      const mineRoot = await asViewer.post('/.search', root).expect(200);
      expect(mineRoot.body.schemas).to.deep.equal([LIST]);
      expect(names(mineRoot.body)).to.deep.equal(['members-in', 'members-rule']);
      expect(mineRoot.body.totalResults).to.equal(2);
      const allRoot = await t.scim.post('/.search', root).expect(200);
      expect(names(allRoot.body)).to.deep.equal(['members-in', 'members-out', 'members-rule']);
      expect(allRoot.body.totalResults).to.equal(3);
    });
  });

  describe('member groups of a visible group', () => {
    /** Every other group is a member of `public`, next to ada. */
    const nestAll = async () => {
      const { services } = testContext().deps;
      const nested = everything.filter((n) => n !== 'public').map((n) => ({ kind: 'group' as const, id: ids[n] }));
      await services.memberships.addMembers(t.admin, ids.public, nested);
    };
    const memberNames = (g: { members?: { display?: string; type: string }[] }) =>
      (g.members ?? []).filter((m) => m.type === 'Group').map((m) => m.display).sort();
    const visibleNested = visible.filter((n) => n !== 'public');
    const everyNested = everything.filter((n) => n !== 'public');

    it('GET /Groups/{id}, group lists and searches show only the member groups the user may see; users stay', async () => {
      await nestAll();
      const mine = await asViewer.get(`/Groups/${ids.public}`).expect(200);
      expect(memberNames(mine.body)).to.deep.equal(visibleNested);
      expect(mine.body.members.filter((m: { type: string }) => m.type === 'User').map((m: { value: string }) => m.value)).to.deep.equal([ada.id]);
      const all = await t.scim.get(`/Groups/${ids.public}`).expect(200);
      expect(memberNames(all.body)).to.deep.equal(everyNested);
      // The same in a list page (every group of it), a search and a projection of members.value.
      const listed = await asViewer.get(`/Groups${qs({ filter: 'displayName eq "public"' })}`).expect(200);
      expect(memberNames(listed.body.Resources[0])).to.deep.equal(visibleNested);
      const searched = await asViewer.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName eq "public"' }).expect(200);
      expect(memberNames(searched.body.Resources[0])).to.deep.equal(visibleNested);
      const values = await asViewer.get(`/Groups/${ids.public}${qs({ attributes: 'members.value' })}`).expect(200);
      const expected = [ada.id, ...visibleNested.map((n) => ids[n])].sort();
      expect(values.body.members.map((m: { value: string }) => m.value).sort()).to.deep.equal(expected);
    });

    it('a PATCH response shows the member groups the user may see, and the change still applies to hidden ones', async () => {
      await nestAll();
      const writer = scimClient(await t.mint(['scim_provisioning'], { userId: viewer.id }));
      const res = await writer.patch(`/Groups/${ids.public}?attributes=members`, patchOp(
        { op: 'remove', path: `members[value eq "${ids['members-in']}"]` },
        { op: 'remove', path: `members[value eq "${ids['members-out']}"]` },
      )).expect(200);
      expect(memberNames(res.body)).to.deep.equal(visibleNested.filter((n) => n !== 'members-in'));
      const all = await t.scim.get(`/Groups/${ids.public}`).expect(200);
      expect(memberNames(all.body)).to.deep.equal(everyNested.filter((n) => n !== 'members-in' && n !== 'members-out'));
    });

    it('batches past a run of hidden member groups go on to the users after them', async () => {
      const { services } = testContext().deps;
      // Twenty hidden groups, then ada: in batches of two, several whole batches are hidden.
      const hidden = [];
      for (let i = 0; i < 20; i++) hidden.push(await t.group({ name: `hidden-${i}`, visibility: 'owners' }));
      await services.memberships.addMembers(t.admin, ids.public, [...hidden.map((g) => ({ kind: 'group' as const, id: g.id })), { kind: 'group', id: ids['members-in'] }]);
      const read = async (userId?: string) => {
        const texts: string[] = [];
        const p = userId ? { ...t.admin, userId } : t.admin;
        for await (const batch of services.groupDirectory.memberBatches(p, ids.public, scimMemberTemplates('https://x/scim/v2'), { firstBatch: 2, batchSize: 2 })) {
          texts.push(...batch.parts.filter(Boolean));
        }
        return (JSON.parse(`[${texts.join(',')}]`) as { value: string }[]).map((m) => m.value).sort();
      };
      expect(await read(viewer.id)).to.deep.equal([ada.id, ids['members-in']].sort());
      expect(await read()).to.deep.equal([ada.id, ids['members-in'], ...hidden.map((g) => g.id)].sort());
    });
  });

  describe("users' groups", () => {
    it("GET /Users/{id} shows only the groups the user may see; a token acting as no user sees all", async () => {
      const mine = await asViewer.get(`/Users/${ada.id}`).expect(200);
      expect(groupNames(mine.body)).to.deep.equal(visible);
      const projected = await asViewer.get(`/Users/${ada.id}?attributes=groups`).expect(200);
      expect(groupNames(projected.body)).to.deep.equal(visible);
      const all = await t.scim.get(`/Users/${ada.id}`).expect(200);
      expect(groupNames(all.body)).to.deep.equal(everything);
    });

    it('/Me shows the groups its user is a direct member of and may see (not an owners-only group it is only a member of)', async () => {
      const me = await asViewer.get('/Me').expect(200);
      expect(groupNames(me.body)).to.deep.equal(['members-in']);
      const all = await t.scim.get(`/Users/${viewer.id}`).expect(200);
      expect(groupNames(all.body)).to.deep.equal(['members-in', 'owners-out']);
    });

    it('user lists, written as text or as objects, by index or cursor, show only the groups the user may see', async () => {
      const pages = [
        '/Users',
        `/Users${qs({ excludedAttributes: 'name' })}`,
        `/Users${qs({ attributes: 'groups' })}`,
        `/Users${qs({ cursor: '' })}`,
        `/Users${qs({ filter: `userName eq "${ada.userName}"` })}`,
        `/Users${qs({ sortBy: 'userName' })}`,
      ];
      for (const path of pages) {
        const mine = await asViewer.get(path).expect(200);
        const adaMine = mine.body.Resources.find((u: { id: string }) => u.id === ada.id);
        expect(groupNames(adaMine), path).to.deep.equal(visible);
        const all = await t.scim.get(path).expect(200);
        const adaAll = all.body.Resources.find((u: { id: string }) => u.id === ada.id);
        expect(groupNames(adaAll), path).to.deep.equal(everything);
      }
      const search = await asViewer.post('/Users/.search', { schemas: [SEARCH], filter: `userName eq "${ada.userName}"` }).expect(200);
      expect(groupNames(search.body.Resources[0])).to.deep.equal(visible);
    });

    it('groups filters match through visible groups only, in results and totals', async () => {
      const members = (body: { Resources?: { userName: string }[] }) => (body.Resources ?? []).map((u) => u.userName).sort();
      for (const filter of [`groups.value eq "${ids['owners-out']}"`, `groups eq "${ids['owners-out']}"`, `groups[value eq "${ids['members-out']}"]`]) {
        const mine = await asViewer.get(`/Users${qs({ filter })}`).expect(200);
        expect(mine.body.totalResults, filter).to.equal(0);
        expect(members(mine.body), filter).to.deep.equal([]);
        const count = await asViewer.get(`/Users${qs({ filter, count: 0 })}`).expect(200);
        expect(count.body.totalResults, filter).to.equal(0);
        const all = await t.scim.get(`/Users${qs({ filter })}`).expect(200);
        expect(all.body.totalResults, filter).to.be.greaterThan(0);
      }
      const shown = await asViewer.get(`/Users${qs({ filter: `groups.value eq "${ids['members-in']}"` })}`).expect(200);
      expect(members(shown.body)).to.deep.equal([ada.userName, viewer.userName].sort());
      // A full first page needs the count: it is of visible groups too.
      const counted = await asViewer.get(`/Users${qs({ filter: `groups.value eq "${ids['members-in']}" or groups.value eq "${ids['owners-out']}"`, count: 1 })}`).expect(200);
      expect(counted.body.totalResults).to.equal(2);
      // Only ada is in owners-in; the viewer owns it, so it shows.
      const owned = await asViewer.get(`/Users${qs({ filter: `groups.value eq "${ids['owners-in']}"` })}`).expect(200);
      expect(members(owned.body)).to.deep.equal([ada.userName]);
      // A user whose only group is hidden has no groups as far as the viewer can tell.
      const hiddenOnly = await t.user({ userName: 'hidden-only@other.org' });
      await testContext().deps.services.memberships.addMembers(t.admin, ids['owners-out'], [{ kind: 'user', id: hiddenOnly.id }]);
      const withGroups = await asViewer.get(`/Users${qs({ filter: 'groups pr' })}`).expect(200);
      expect(members(withGroups.body)).to.deep.equal([ada.userName, viewer.userName].sort());
      const withGroupsAll = await t.scim.get(`/Users${qs({ filter: 'groups pr' })}`).expect(200);
      expect(members(withGroupsAll.body)).to.deep.equal([ada.userName, hiddenOnly.userName, viewer.userName].sort());
      const without = await asViewer.get(`/Users${qs({ filter: 'not (groups pr)' })}`).expect(200);
      expect(members(without.body)).to.deep.equal([hiddenOnly.userName]);
      const withoutAll = await t.scim.get(`/Users${qs({ filter: 'not (groups pr)' })}`).expect(200);
      expect(members(withoutAll.body)).to.deep.equal([]);
    });

    it('walks cursor pages forward and back as a user, through every user in creation order', async () => {
      const ids = (body: { Resources?: { id: string }[] }) => (body.Resources ?? []).map((u) => u.id);
      for (let i = 0; i < 4; i++) await t.user({ userName: `walker-${i}@other.org` });
      const everyone = ids((await t.scim.get(`/Users${qs({ count: 1000, cursor: '' })}`).expect(200)).body);
      expect(everyone.length).to.be.greaterThan(5);
      let page = await asViewer.get(`/Users${qs({ count: 1, cursor: '' })}`).expect(200);
      const forward = ids(page.body);
      while (page.body.nextCursor) {
        page = await asViewer.get(`/Users${qs({ count: 1, cursor: page.body.nextCursor })}`).expect(200);
        forward.push(...ids(page.body));
      }
      expect(forward).to.deep.equal(everyone);
      // Back from the last page, two at a time, to the first.
      const back: string[] = [];
      page = await asViewer.get(`/Users${qs({ count: 2, cursor: page.body.previousCursor })}`).expect(200);
      back.unshift(...ids(page.body));
      while (page.body.previousCursor) {
        page = await asViewer.get(`/Users${qs({ count: 2, cursor: page.body.previousCursor })}`).expect(200);
        back.unshift(...ids(page.body));
      }
      expect(back).to.deep.equal(everyone.slice(0, -1));
    });
  });
});
