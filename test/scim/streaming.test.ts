import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { createGroup, scimTenant } from './helpers';

describe('SCIM: big groups stream their members', () => {
  it('returns every member of a 12,000-member group, across several batches, in one valid document', async function () {
    this.timeout(120_000);
    const t = await scimTenant();
    const { db } = testContext();
    const rows = Array.from({ length: 12_000 }, (_, i) => ({ tenant_id: t.id, user_name: `s${i}@example.com`, display_name: `S ${i}` }));
    const ids: string[] = [];
    for (let i = 0; i < rows.length; i += 2000) {
      ids.push(...(await db('users').insert(rows.slice(i, i + 2000)).returning('id')).map((r: { id: string }) => r.id));
    }
    const g = await createGroup(t.scim, 'Everyone');
    await testContext().deps.services.memberships.addMembers(t.admin, g.id, ids.map((id) => ({ kind: 'user' as const, id })));
    const res = await t.scim.get(`/Groups/${g.id}`).expect(200);
    expect(res.headers['content-type']).to.equal('application/scim+json');
    expect(res.headers.etag).to.equal('W/"2"');
    expect(res.body.members).to.have.length(12_000);
    expect(new Set(res.body.members.map((m: { value: string }) => m.value)).size).to.equal(12_000);
    expect(res.body.members[0]).to.have.keys(['value', '$ref', 'display', 'type']);
    expect(res.body.meta.version).to.equal('W/"2"');
    const lean = await t.scim.get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
    expect(lean.body).to.not.have.property('members');
  });
});
