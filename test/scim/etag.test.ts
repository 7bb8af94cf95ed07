import { expect } from 'chai';
import { BULK_REQUEST, expectScimError, GROUP, memberRows, patchOp, scimTenant, USER, type ScimTenant } from './helpers';

/** RFC 7644 §3.14: weak ETags from meta.version, If-Match (412) and If-None-Match (304). */
describe('SCIM: ETags and versions', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  const newUser = async () => (await t.scim.post('/Users', { schemas: [USER], userName: `e${Math.random().toString(36).slice(2)}@example.com`, title: 'v1' }).expect(201)).body as { id: string };
  const newGroup = async (members: string[] = []) =>
    (await t.scim.post('/Groups', { schemas: [GROUP], displayName: `g${Math.random().toString(36).slice(2)}`, members: members.map((value) => ({ value })) }).expect(201)).body as { id: string };

  it('sends meta.version and the ETag header as W/"<version>", bumped by every change', async () => {
    const u = await newUser();
    const read = await t.scim.get(`/Users/${u.id}`).expect(200);
    expect(read.headers.etag).to.equal('W/"1"');
    expect(read.body.meta.version).to.equal('W/"1"');
    await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'v2' })).expect(200);
    await t.scim.put(`/Users/${u.id}`, { schemas: [USER], userName: 'etag3@example.com' }).expect(200);
    const again = await t.scim.get(`/Users/${u.id}`).expect(200);
    expect(again.headers.etag).to.equal('W/"3"');
    expect(again.body.meta.version).to.equal('W/"3"');

    const g = await newGroup();
    const gr = await t.scim.get(`/Groups/${g.id}`).expect(200);
    expect(gr.headers.etag).to.equal('W/"1"');
    expect(gr.body.meta.version).to.equal('W/"1"');
    await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] })).expect(204);
    const gr2 = await t.scim.get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
    expect(gr2.headers.etag).to.equal('W/"2"');
    // A no-op PATCH (adding a member already there) does not bump the version.
    const noop = await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: u.id }] })).expect(204);
    expect(noop.headers.etag).to.equal('W/"2"');
  });

  it('applies PUT, PATCH and DELETE on users only when If-Match names the current version', async () => {
    const u = await newUser();
    await t.scim.put(`/Users/${u.id}`, { schemas: [USER], userName: 'im@example.com', title: 'v2' }).set('If-Match', 'W/"1"').expect(200);
    const stale = await t.scim.put(`/Users/${u.id}`, { schemas: [USER], userName: 'im@example.com', title: 'stale' }).set('If-Match', 'W/"1"');
    expectScimError(stale, 412);
    expectScimError(await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'stale' })).set('If-Match', 'W/"1"'), 412);
    expectScimError(await t.scim.delete(`/Users/${u.id}`).set('If-Match', 'W/"7"'), 412);
    expectScimError(await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'stale' })).set('If-Match', 'garbage'), 412);
    const read = await t.scim.get(`/Users/${u.id}`).expect(200);
    expect(read.body).to.include({ title: 'v2' });
    expect(read.body.meta.version).to.equal('W/"2"');
    await t.scim.delete(`/Users/${u.id}`).set('If-Match', 'W/"2"').expect(204);
  });

  it('accepts "*" and a list of ETags in If-Match', async () => {
    const u = await newUser();
    await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'v2' })).set('If-Match', '*').expect(200);
    const res = await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'v3' })).set('If-Match', 'W/"9", W/"2", "4"').expect(200);
    expect(res.body.meta.version).to.equal('W/"3"');
    await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'v4' })).set('If-Match', '"3"').expect(200);
    expectScimError(await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'title', value: 'x' })).set('If-Match', 'W/"1", W/"2"'), 412);
  });

  it('applies group changes only when If-Match matches, leaving members untouched on 412', async () => {
    const u = await newUser();
    const g = await newGroup([u.id]);
    expectScimError(await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' })).set('If-Match', 'W/"5"'), 412);
    expectScimError(await t.scim.put(`/Groups/${g.id}`, { schemas: [GROUP], displayName: 'changed', members: [] }).set('If-Match', 'W/"5"'), 412);
    expectScimError(await t.scim.delete(`/Groups/${g.id}`).set('If-Match', 'W/"5"'), 412);
    expect(await memberRows(g.id)).to.deep.equal([u.id]);
    const read = await t.scim.get(`/Groups/${g.id}`).expect(200);
    expect(read.body.meta.version).to.equal('W/"1"');
    const ok = await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'remove', path: 'members' })).set('If-Match', read.headers.etag).expect(204);
    expect(ok.headers.etag).to.equal('W/"2"');
    await t.scim.delete(`/Groups/${g.id}`).set('If-Match', 'W/"2"').expect(204);
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 otherwise', async () => {
    const u = await newUser();
    const hit = await t.scim.get(`/Users/${u.id}`).set('If-None-Match', 'W/"1"').expect(304);
    expect(hit.text ?? '').to.equal('');
    expect(hit.headers.etag).to.equal('W/"1"');
    await t.scim.get(`/Users/${u.id}`).set('If-None-Match', '*').expect(304);
    await t.scim.get(`/Users/${u.id}`).set('If-None-Match', 'W/"0", W/"1"').expect(304);
    const miss = await t.scim.get(`/Users/${u.id}`).set('If-None-Match', 'W/"0"').expect(200);
    expect(miss.body.id).to.equal(u.id);

    const g = await newGroup();
    await t.scim.get(`/Groups/${g.id}`).set('If-None-Match', 'W/"1"').expect(304);
    await t.scim.get(`/Groups/${g.id}?excludedAttributes=members`).set('If-None-Match', 'W/"1"').expect(304);
    await t.scim.patch(`/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'newer' })).expect(204);
    await t.scim.get(`/Groups/${g.id}`).set('If-None-Match', 'W/"1"').expect(200);
  });

  it('honours a version in a Bulk operation (412 for that operation only)', async () => {
    const u = await newUser();
    const res = await t.scim
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: [
          { method: 'PATCH', path: `/Users/${u.id}`, version: 'W/"9"', data: patchOp({ op: 'replace', path: 'title', value: 'x' }) },
          { method: 'PATCH', path: `/Users/${u.id}`, version: 'W/"1"', data: patchOp({ op: 'replace', path: 'title', value: 'y' }) },
        ],
      })
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).to.deep.equal(['412', '200']);
    expect(res.body.Operations[1].version).to.equal('W/"2"');
  });
});
