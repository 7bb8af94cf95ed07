import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { expectSpecResponse } from '../helpers/spec-response';
import { ServiceUnavailable } from '../../src/domain/errors';
import { createGroup, expectScimError, GROUP, LIST, qs, scimTenant, SEARCH, type ScimTenant } from './helpers';

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
    await expectSpecResponse('get', `/scim/v2/Groups/${g.id}`, 200, res.body);
    const lean = await t.scim.get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
    expect(lean.body).to.not.have.property('members');
  });

  describe('lists, projections and writes stream members too', () => {
    let t: ScimTenant;
    let big: string;
    let small: string;
    let ids: string[];
    const N = 2_500; // 25 parts of 100 members, more than the first batch of 1,000

    before(async function () {
      this.timeout(120_000);
      t = await scimTenant();
      const { db, deps } = testContext();
      const rows = Array.from({ length: N }, (_, i) => ({ tenant_id: t.id, user_name: `l${i}@example.com`, display_name: `L ${i}` }));
      ids = (await db('users').insert(rows).returning('id')).map((r: { id: string }) => r.id);
      big = (await createGroup(t.scim, 'Listed big')).id;
      small = (await createGroup(t.scim, 'Listed small')).id;
      await deps.services.memberships.addMembers(t.admin, big, ids.map((id) => ({ kind: 'user' as const, id })));
      await deps.services.memberships.addMembers(t.admin, small, ids.slice(0, 3).map((id) => ({ kind: 'user' as const, id })));
    });

    const sorted = (xs: string[]) => [...xs].sort();
    const valuesOf = (g: { members: { value: string }[] }) => g.members.map((m) => m.value);

    it('writes every group of a list page with all its members, in one valid document', async () => {
      const res = await t.scim.get(`/Groups${qs({ filter: 'displayName sw "Listed"', sortBy: 'displayName' })}`).expect(200);
      expect(res.headers['content-type']).to.equal('application/scim+json');
      expect(res.body).to.include({ totalResults: 2, itemsPerPage: 2, startIndex: 1 });
      expect(res.body.schemas).to.deep.equal([LIST]);
      const [first, second] = res.body.Resources;
      expect([first.id, second.id]).to.deep.equal([big, small]);
      expect(sorted(valuesOf(first))).to.deep.equal(sorted(ids));
      expect(sorted(valuesOf(second))).to.deep.equal(sorted(ids.slice(0, 3)));
      expect(first.members[0]).to.have.keys(['value', '$ref', 'display', 'type']);
      expect(Object.keys(first)).to.deep.equal(['schemas', 'id', 'displayName', 'members', 'meta']);
      expect(first.meta).to.include({ resourceType: 'Group', version: 'W/"2"' });
      await expectSpecResponse('get', '/scim/v2/Groups', 200, res.body);
      // The same document, member for member, as the group's own GET.
      const one = await t.scim.get(`/Groups/${big}`).expect(200);
      // (Each supertest request has its own port, which the $refs and locations carry.)
      const sameHost = (doc: unknown) => JSON.parse(JSON.stringify(doc).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://host'));
      expect(sameHost(first)).to.deep.equal(sameHost(one.body));
    });

    it('applies a projection below members part by part: attributes=members.value, excludedAttributes=members.display', async () => {
      const values = await t.scim.get(`/Groups/${big}${qs({ attributes: 'members.value' })}`).expect(200);
      expect(values.body).to.have.keys(['schemas', 'id', 'members']);
      expect(values.body.members).to.have.length(N);
      expect(values.body.members.every((m: object) => Object.keys(m).join() === 'value')).to.equal(true);
      expect(sorted(valuesOf(values.body))).to.deep.equal(sorted(ids));
      expect(values.headers.etag).to.equal('W/"2"');
      await expectSpecResponse('get', `/scim/v2/Groups/${big}`, 200, values.body);

      const noDisplay = await t.scim.get(`/Groups${qs({ filter: `id eq "${big}"`, excludedAttributes: 'members.display' })}`).expect(200);
      const members = noDisplay.body.Resources[0].members as Record<string, string>[];
      expect(members).to.have.length(N);
      expect(members.every((m) => m.display === undefined && m.type === 'User' && m.$ref.endsWith(`/Users/${m.value}`))).to.equal(true);
      expect(noDisplay.body.Resources[0].displayName).to.equal('Listed big');
      await expectSpecResponse('get', '/scim/v2/Groups', 200, noDisplay.body);
      // The check can fail: a resource without its schemas is not one of the spec.
      const { schemas: _dropped, ...broken } = values.body;
      const refused = await expectSpecResponse('get', `/scim/v2/Groups/${big}`, 200, broken).then(() => undefined, (e: Error) => e);
      expect(refused?.message).to.match(/does not match the spec/);
    });

    it('streams members in searches (/Groups/.search and the root /.search) and in write responses that ask for them', async () => {
      const search = await t.scim.post('/Groups/.search', { schemas: [SEARCH], filter: `id eq "${big}"`, attributes: ['members'] }).expect(200);
      expect(sorted(valuesOf(search.body.Resources[0]))).to.deep.equal(sorted(ids));
      await expectSpecResponse('post', '/scim/v2/Groups/.search', 200, search.body);
      const root = await t.scim.post('/.search', { schemas: [SEARCH], filter: 'displayName eq "Listed big"' }).expect(200);
      expect(root.body.Resources).to.have.length(1);
      expect(sorted(valuesOf(root.body.Resources[0]))).to.deep.equal(sorted(ids));
      await expectSpecResponse('post', '/scim/v2/.search', 200, root.body);
      const patched = await t.scim
        .patch(`/Groups/${small}${qs({ attributes: 'members' })}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: ids[3] }] }] })
        .expect(200);
      expect(patched.headers.etag).to.equal('W/"3"');
      expect(sorted(valuesOf(patched.body))).to.deep.equal(sorted(ids.slice(0, 4)));
      await expectSpecResponse('patch', `/scim/v2/Groups/${small}`, 200, patched.body);
      const put = await t.scim.put(`/Groups/${small}${qs({ excludedAttributes: 'members.$ref' })}`, { schemas: [GROUP], displayName: 'Listed small', members: [{ value: ids[5] }] }).expect(200);
      expect(put.body.members).to.deep.equal([{ value: ids[5], display: 'L 5', type: 'User' }]);
    });

    it('answers the error itself (a 503), and sends nothing else, when the first members cannot be read', async () => {
      const dir = testContext().deps.services.groupDirectory as unknown as Record<string, (...args: unknown[]) => unknown>;
      const original = dir.memberBatches;
      dir.memberBatches = () =>
        (async function* () {
          yield* [];
          throw new ServiceUnavailable('the database is unavailable');
        })();
      try {
        const res = await t.scim.get(`/Groups${qs({ filter: 'displayName sw "Listed"' })}`);
        expectScimError(res, 503);
        expect(res.headers.etag).to.equal(undefined);
      } finally {
        dir.memberBatches = original;
      }
    });

    it('cuts the connection, rather than send a truncated document, when the members cannot be read after the first byte', async () => {
      const dir = testContext().deps.services.groupDirectory as unknown as Record<string, (...args: unknown[]) => unknown>;
      const original = dir.memberBatches;
      dir.memberBatches = () =>
        (async function* () {
          yield { parts: ['{"value":"x"}'], count: 1 };
          throw new Error('the database went away');
        })();
      try {
        const err = await t.scim.get(`/Groups${qs({ filter: 'displayName sw "Listed"' })}`).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err?.message).to.match(/socket hang up|aborted|ECONNRESET/i);
      } finally {
        dir.memberBatches = original;
      }
    });
  });
});

