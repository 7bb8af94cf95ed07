import { expect } from 'chai';
import { PAGE_MEMBERSHIP_SPAN } from '../../src/domain/users/users.repository';
import { testContext } from '../helpers/context';
import { createGroup, createUser, patchOp, scimTenant } from './helpers';

type Listed = { id: string; groups?: { value: string; display: string; type: string; $ref: string }[] };

/**
 * A page of users reads its users' memberships as one range of the member index, between the
 * page's lowest and highest user id (ids are time-ordered), and falls back to one probe per user
 * when that range holds PAGE_MEMBERSHIP_SPAN memberships or more. Either way each user gets its
 * own groups, in name order, and nothing of the users off the page whose ids fall in between.
 */
describe('SCIM: the groups of a page of users', () => {
  for (const [label, between] of [
    ['a few memberships of other users', 10],
    ['more memberships of other users than one range reads', PAGE_MEMBERSHIP_SPAN],
  ] as const) {
    it(`gives each user of a page its own groups in name order, with ${label} between the page's ids`, async () => {
      const t = await scimTenant();
      const ada = await createUser(t.scim, 'ada@example.com');
      const zeta = await createGroup(t.scim, 'zeta', [ada.id]);
      const alpha = await createGroup(t.scim, 'Alpha', [ada.id]);
      const other = await createGroup(t.scim, 'other');
      // Members of `other` whose ids come after ada's and before bob's: users off the page.
      await testContext().db.raw(`INSERT INTO group_members (tenant_id, group_id, member_kind, member_id) SELECT ?, ?, 'user', roster_uuid_v7() FROM generate_series(1, ?)`, [
        t.id,
        other.id,
        between,
      ]);
      const bob = await createUser(t.scim, 'bob@example.com');
      await t.scim.patch(`/Groups/${alpha.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: bob.id }] })).expect(204);
      const cy = await createUser(t.scim, 'cy@example.com');
      expect(ada.id < bob.id && bob.id < cy.id, 'time-ordered ids').to.equal(true);

      const expected: Record<string, [string, string][]> = {
        [ada.id]: [
          [alpha.id, 'Alpha'],
          [zeta.id, 'zeta'],
        ],
        [bob.id]: [[alpha.id, 'Alpha']],
        [cy.id]: [],
      };
      const groupsOf = (u: Listed) => (u.groups ?? []).map((g) => [g.value, g.display]);
      // Whole documents (written as text) and projected ones (objects); first pages by index
      // and by cursor, a page at an offset, a page after a cursor.
      for (const attrs of ['', '&attributes=userName,groups']) {
        const byIndex = await t.scim.get(`/Users?count=3${attrs}`).expect(200);
        const byCursor = await t.scim.get(`/Users?count=3&cursor=${attrs}`).expect(200);
        const atOffset = await t.scim.get(`/Users?count=2&startIndex=2${attrs}`).expect(200);
        const first = await t.scim.get(`/Users?count=1&cursor=${attrs}`).expect(200);
        const afterCursor = await t.scim.get(`/Users?count=2&cursor=${encodeURIComponent(first.body.nextCursor)}${attrs}`).expect(200);
        for (const [res, ids] of [
          [byIndex, [ada.id, bob.id, cy.id]],
          [byCursor, [ada.id, bob.id, cy.id]],
          [atOffset, [bob.id, cy.id]],
          [afterCursor, [bob.id, cy.id]],
        ] as const) {
          const listed = res.body.Resources as Listed[];
          expect(listed.map((u) => u.id)).to.deep.equal(ids);
          for (const u of listed) expect(groupsOf(u), `${u.id}${attrs}`).to.deep.equal(expected[u.id]);
          for (const g of listed.flatMap((u) => u.groups ?? [])) {
            expect(g.type).to.equal('direct');
            expect(g.$ref).to.match(new RegExp(`/scim/v2/Groups/${g.value}$`));
          }
        }
      }
    });
  }
});
