import { expect } from 'chai';
import { findUserGroupIds } from '../../src/domain/access/access.repository';
import { wouldCreateCycle } from '../../src/domain/memberships/memberships.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { queriesOf, type SentQuery } from '../helpers/statements';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const DEPTH = 40;

/** EXPLAIN of a statement as it was sent, with its bindings, under the given planner settings. */
async function planOf(q: SentQuery, settings: string[]): Promise<string> {
  const { db } = testContext();
  return db.transaction(async (trx) => {
    for (const s of settings) await trx.raw(`SET LOCAL ${s}`);
    // Knex reports the statement with $n placeholders, in binding order.
    const rows = (await trx.raw(`EXPLAIN ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as never[])).rows as Record<string, string>[];
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('group hierarchy walks (nesting cycle check, a user\'s groups)', function () {
  this.timeout(120_000);
  let t: TestTenant;
  let token: string;
  /** chain[0] holds chain[1], which holds chain[2] … down to chain[DEPTH - 1]. */
  const chain: string[] = [];
  let bottomUser: string;

  before(async () => {
    t = await newTenant();
    token = await t.token(['all']);
    for (let i = 0; i < DEPTH; i++) chain.push((await t.group({ name: `chain ${i}` })).id);
    for (let i = DEPTH - 2; i >= 0; i--) {
      await api()
        .patch(`/scim/v2/Groups/${chain[i]}`)
        .set(bearer(token))
        .send({ schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: chain[i + 1] }] }] })
        .expect(204);
    }
    bottomUser = (await t.user()).id;
    await api()
      .patch(`/scim/v2/Groups/${chain[DEPTH - 1]}`)
      .set(bearer(token))
      .send({ schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: bottomUser }] }] })
      .expect(204);
  });

  it(`refuses to close a cycle through a ${DEPTH}-deep chain and changes nothing`, async () => {
    const res = await api()
      .patch(`/scim/v2/Groups/${chain[DEPTH - 1]}`)
      .set(bearer(token))
      .send({ schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: chain[0] }] }] })
      .expect(400);
    expect(res.body.detail).to.match(/cycle/);
    const bottom = await api().get(`/scim/v2/Groups/${chain[DEPTH - 1]}`).set(bearer(token)).expect(200);
    expect(bottom.body.members.map((m: { value: string }) => m.value)).to.deep.equal([bottomUser]);
    // Nesting the top under a new group walks the whole chain and finds no cycle.
    const top = await t.group({ name: 'above the chain' });
    expect(await wouldCreateCycle(testContext().db, t.id, top.id, [chain[0]])).to.equal(false);
    expect(await wouldCreateCycle(testContext().db, t.id, chain[DEPTH - 1], [chain[0]])).to.equal(true);
  });

  it('finds every group above a user through the chain', async () => {
    const ids = await findUserGroupIds(testContext().db, t.id, bottomUser);
    expect([...ids].sort()).to.deep.equal([...chain].sort());
  });

  it('walks up one level at a time by member id from the groups found so far, never over the tenant\'s memberships', async () => {
    const { db } = testContext();
    const cycle = await queriesOf(() => wouldCreateCycle(db, t.id, chain[DEPTH - 1], [chain[0]]), (q) => /WITH RECURSIVE up/.test(q.sql));
    const groups = await queriesOf(() => findUserGroupIds(db, t.id, bottomUser), (q) => /WITH RECURSIVE up/.test(q.sql));
    expect([cycle.length, groups.length]).to.deep.equal([1, 1]);
    // Whatever the statistics say (these tables are small and other tests fill them), each level
    // is found through the member index from the ids of the level before: a join of the level
    // with group_members let the planner scan the tenant's group memberships once per level.
    // Sequential scans are switched off, as the tables are small here; then nested loops too.
    for (const settings of [['enable_seqscan = off'], ['enable_seqscan = off', 'enable_nestloop = off']]) {
      for (const q of [cycle[0], groups[0]]) {
        const plan = await planOf(q, settings);
        expect(plan, plan).to.match(/WorkTable Scan on up [\s\S]*Index Only Scan using group_members_member_idx on group_members[^\n]*\n\s+Index Cond: \(\(tenant_id = [^\n]*\(member_kind = 'group'::text\) AND \(member_id = up_1\.id\)\)/);
      }
    }
  });
});
