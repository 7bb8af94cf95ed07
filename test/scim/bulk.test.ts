import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BULK_OPERATIONS, MAX_BULK_PAYLOAD } from '../../src/http/scim/bulk';
import { testContext } from '../helpers/context';
import { BULK_REQUEST, BULK_RESPONSE, ENTERPRISE, ERROR, expectScimError, GROUP, memberRows, patchOp, qs, scimTenant, USER, type ScimTenant } from './helpers';

interface OpResult {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: { schemas: string[]; status: string; scimType?: string; detail: string };
}

/** RFC 7644 §3.7 Bulk: bulkId references, order, errors, limits. */
describe('SCIM: Bulk', () => {
  let t: ScimTenant;
  beforeEach(async () => {
    t = await scimTenant();
  });

  const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => t.scim.post('/Bulk', { schemas: [BULK_REQUEST], ...extra, Operations });
  const byBulkId = (ops: OpResult[]): Record<string, OpResult> => Object.fromEntries(ops.filter((o) => o.bulkId).map((o) => [o.bulkId, o]));
  const idFrom = (location?: string) => String(location).split('/').pop()!;
  const countUsers = async (s: ScimTenant = t) => (await s.scim.get('/Users?count=0').expect(200)).body.totalResults as number;

  it('follows bulkId references in data and in paths: user, group with that user, patch of the group', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'u1', data: { schemas: [USER], userName: 'bulk1@example.com' } },
      { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP], displayName: 'Bulk group', members: [{ type: 'User', value: 'bulkId:u1' }] } },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: { schemas: [USER], userName: 'bulk2@example.com' } },
      { method: 'PATCH', path: '/Groups/bulkId:g1', data: patchOp({ op: 'add', path: 'members', value: [{ value: 'bulkId:u2' }] }) },
      { method: 'PUT', path: '/Users/bulkId:u2', data: { schemas: [USER], userName: 'bulk2@example.com', title: 'Second' } },
    ]).expect(200);
    expect(res.headers['content-type']).to.equal('application/scim+json');
    expect(res.body.schemas).to.deep.equal([BULK_RESPONSE]);
    const ops = res.body.Operations as OpResult[];
    expect(ops.map((o) => [o.method, o.status])).to.deep.equal([
      ['POST', '201'],
      ['POST', '201'],
      ['POST', '201'],
      ['PATCH', '200'],
      ['PUT', '200'],
    ]);
    const named = byBulkId(ops);
    expect(named.u1.location).to.match(/\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
    expect(named.g1.location).to.match(/\/scim\/v2\/Groups\/[0-9a-f-]{36}$/);
    expect(named.u1.version).to.equal('W/"1"');
    const [u1, u2, g1] = [idFrom(named.u1.location), idFrom(named.u2.location), idFrom(named.g1.location)];
    expect(await memberRows(g1)).to.deep.equal([u1, u2].sort());
    expect(ops[3].location).to.match(new RegExp(`/Groups/${g1}$`));
    const user2 = await t.scim.get(`/Users/${u2}`).expect(200);
    expect(user2.body.title).to.equal('Second');
  });

  it('runs an operation that references a later bulkId after that one (forward reference)', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'Forward', members: [{ value: 'bulkId:later' }] } },
      { method: 'POST', path: '/Users', bulkId: 'boss', data: { schemas: [USER], userName: 'boss@example.com' } },
      { method: 'POST', path: '/Users', bulkId: 'later', data: { schemas: [USER, ENTERPRISE], userName: 'later@example.com', [ENTERPRISE]: { manager: { value: 'bulkId:boss' } } } },
    ]).expect(200);
    const named = byBulkId(res.body.Operations);
    expect(Object.values(named).map((o) => o.status)).to.deep.equal(['201', '201', '201']);
    // The group ran last, yet its result is first: results follow the request's order.
    expect(res.body.Operations.map((o: OpResult) => o.bulkId)).to.deep.equal(['g', 'boss', 'later']);
    const user = idFrom(named.later.location);
    expect(await memberRows(idFrom(named.g.location))).to.deep.equal([user]);
    const read = await t.scim.get(`/Users/${user}`).expect(200);
    expect(read.body[ENTERPRISE].manager.value).to.equal(idFrom(named.boss.location));
  });

  it('answers 409 for operations whose bulkIds reference each other in a cycle, and runs the rest', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'a', data: { schemas: [GROUP], displayName: 'A', members: [{ value: 'bulkId:b' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'b', data: { schemas: [GROUP], displayName: 'B', members: [{ value: 'bulkId:a' }] } },
      { method: 'POST', path: '/Users', bulkId: 'free', data: { schemas: [USER], userName: 'free@example.com' } },
    ]).expect(200);
    const named = byBulkId(res.body.Operations);
    expect(named.free.status).to.equal('201');
    for (const id of ['a', 'b']) {
      expect(named[id].status).to.equal('409');
      expect(named[id].response).to.include({ status: '409' });
      expect(named[id].response!.schemas).to.deep.equal([ERROR]);
    }
    const groups = await t.scim.get('/Groups?count=0').expect(200);
    expect(groups.body.totalResults).to.equal(0);
  });

  it('reports each failure in its operation, with SCIM error bodies, and keeps going', async () => {
    await t.scim.post('/Users', { schemas: [USER], userName: 'taken@example.com' }).expect(201);
    const res = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'dup', data: { schemas: [USER], userName: 'TAKEN@example.com' } },
      { method: 'POST', path: '/Users', bulkId: 'ok', data: { schemas: [USER], userName: 'fine@example.com' } },
      { method: 'DELETE', path: '/Users/00000000-0000-4000-8000-000000000000' },
      { method: 'PATCH', path: '/Users/bulkId:dup', data: patchOp({ op: 'replace', path: 'title', value: 'x' }) },
      { method: 'POST', path: '/Users', bulkId: 'ref', data: { schemas: [USER], userName: 'ref@example.com', externalId: 'bulkId:nowhere' } },
      { method: 'DELETE', path: '/Users/bulkId:ok' },
    ]).expect(200);
    const ops = res.body.Operations as OpResult[];
    expect(ops.map((o) => o.status)).to.deep.equal(['409', '201', '404', '409', '400', '204']);
    expect(ops[0].response).to.include({ scimType: 'uniqueness', status: '409' });
    expect(ops[2].response).to.include({ status: '404' });
    expect(ops[4].response).to.include({ status: '400' });
    expect(await countUsers()).to.equal(1);
    // Every result but a failed POST names its resource (RFC 7644 §3.7.3), a DELETE's too.
    expect(ops[0].location).to.equal(undefined);
    expect(ops[2].location).to.match(/\/scim\/v2\/Users\/00000000-0000-4000-8000-000000000000$/);
    expect(ops[3].location).to.match(/\/scim\/v2\/Users\/bulkId:dup$/);
    expect(ops[5].location).to.equal(ops[1].location);
  });

  it('checks Bulk group members as /Groups does: a member needs a value, and PUT keeps its type', async () => {
    const user = (await t.scim.post('/Users', { schemas: [USER], userName: 'm@example.com' }).expect(201)).body.id;
    const group = (await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Typed' }).expect(201)).body.id;
    const res = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'x', data: { schemas: [GROUP], displayName: 'No value', members: [{ display: 'someone' }] } },
      { method: 'PUT', path: `/Groups/${group}`, data: { schemas: [GROUP], displayName: 'Typed', members: [{ value: user, type: 'Group' }] } },
      { method: 'PUT', path: `/Groups/${group}`, data: { schemas: [GROUP], displayName: 'Typed', members: [{ value: user, type: 'User' }] } },
    ]).expect(200);
    const ops = res.body.Operations as OpResult[];
    expect(ops.map((o) => o.status)).to.deep.equal(['400', '400', '200']);
    expect(ops[0].response).to.include({ scimType: 'invalidValue' });
    expect(String(ops[0].response!.detail)).to.contain('value');
    expect(await memberRows(group)).to.deep.equal([user]);
  });

  it('stops after failOnErrors errors and reports only what ran', async () => {
    const ops = [
      { method: 'POST', path: '/Users', bulkId: 'x1', data: { schemas: [USER] } },
      { method: 'POST', path: '/Users', bulkId: 'x2', data: { schemas: [USER], userName: 'after-one@example.com' } },
      { method: 'POST', path: '/Users', bulkId: 'x3', data: { schemas: [USER] } },
      { method: 'POST', path: '/Users', bulkId: 'x4', data: { schemas: [USER], userName: 'after-two@example.com' } },
    ];
    const one = await bulk(ops, { failOnErrors: 1 }).expect(200);
    expect(one.body.Operations.map((o: OpResult) => o.status)).to.deep.equal(['400']);
    expect(await countUsers()).to.equal(0);
    const two = await bulk(ops, { failOnErrors: 2 }).expect(200);
    expect(two.body.Operations.map((o: OpResult) => o.status)).to.deep.equal(['400', '201', '400']);
    expect(await countUsers()).to.equal(1);
    expectScimError(await bulk(ops, { failOnErrors: 0 }), 400, 'invalidValue');
  });

  it('runs each operation in its own transaction: a failing PATCH changes nothing, earlier operations stay', async () => {
    const u = await t.scim.post('/Users', { schemas: [USER], userName: 'tx@example.com', title: 'before' }).expect(201);
    const res = await bulk([
      { method: 'PATCH', path: `/Users/${u.body.id}`, data: patchOp({ op: 'replace', path: 'nickName', value: 'ok' }) },
      { method: 'PATCH', path: `/Users/${u.body.id}`, data: patchOp({ op: 'replace', path: 'title', value: 'after' }, { op: 'replace', path: 'emails[type eq]', value: 1 }) },
    ]).expect(200);
    expect(res.body.Operations.map((o: OpResult) => o.status)).to.deep.equal(['200', '400']);
    const read = await t.scim.get(`/Users/${u.body.id}`).expect(200);
    expect(read.body).to.include({ nickName: 'ok', title: 'before' });
    expect(read.body.meta.version).to.equal('W/"2"');
  });

  it(`answers 413 for more than maxOperations (${MAX_BULK_OPERATIONS}) operations, before doing any`, async () => {
    const ops = Array.from({ length: MAX_BULK_OPERATIONS + 1 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { schemas: [USER], userName: `many${i}@example.com` } }));
    const res = await bulk(ops);
    expectScimError(res, 413);
    expect(res.body.detail).to.match(/maxOperations/);
    expect(await countUsers()).to.equal(0);
  });

  it(`answers 413 for a payload above maxPayloadSize (${MAX_BULK_PAYLOAD} bytes), before doing any work`, async () => {
    const pad = 'x'.repeat(60_000);
    const ops = Array.from({ length: 20 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `p${i}`, data: { schemas: [USER], userName: `pay${i}@example.com`, nickName: pad } }));
    const size = JSON.stringify({ schemas: [BULK_REQUEST], Operations: ops }).length;
    expect(size).to.be.within(MAX_BULK_PAYLOAD + 1, 2 * 1024 * 1024);
    const res = await bulk(ops);
    expectScimError(res, 413);
    expect(res.body.detail).to.match(/maxPayloadSize/);
    expect(await countUsers()).to.equal(0);
    // Far above it too, where the body parser refuses it first.
    const huge = await bulk([{ method: 'POST', path: '/Users', bulkId: 'h', data: { schemas: [USER], userName: 'huge@example.com', nickName: 'y'.repeat(3 * 1024 * 1024) } }]);
    expectScimError(huge, 413);
    expect(await countUsers()).to.equal(0);
  });

  it('refuses malformed bulk requests as a whole with 400', async () => {
    expectScimError(await t.scim.post('/Bulk', { Operations: [] }), 400, 'invalidSyntax');
    expectScimError(await bulk([{ method: 'POST', path: '/Users', data: { schemas: [USER], userName: 'nobulkid@example.com' } }]), 400, 'invalidValue');
    expectScimError(await bulk([{ method: 'GET', path: '/Users' }]), 400, 'invalidValue');
    expectScimError(
      await bulk([
        { method: 'POST', path: '/Users', bulkId: 'same', data: { schemas: [USER], userName: 'a@example.com' } },
        { method: 'POST', path: '/Users', bulkId: 'same', data: { schemas: [USER], userName: 'b@example.com' } },
      ]),
      400,
      'invalidValue',
    );
    expect(await countUsers()).to.equal(0);
    const odd = await bulk([{ method: 'POST', path: '/Widgets', bulkId: 'w', data: {} }]).expect(200);
    expect(odd.body.Operations[0]).to.include({ status: '400' });
    expect(odd.body.Operations[0].response.scimType).to.equal('invalidPath');
  });

  it('keeps bulk operations inside the tenant', async () => {
    const other = await scimTenant();
    const theirs = await other.scim.post('/Users', { schemas: [USER], userName: 'theirs@example.com' }).expect(201);
    const res = await bulk([
      { method: 'DELETE', path: `/Users/${theirs.body.id}` },
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'Mine', members: [{ value: theirs.body.id }] } },
    ]).expect(200);
    expect(res.body.Operations.map((o: OpResult) => o.status)).to.deep.equal(['404', '400']);
    await other.scim.get(`/Users/${theirs.body.id}`).expect(200);
    const mine = await t.scim.get(`/Groups${qs({ count: 0 })}`).expect(200);
    expect(mine.body.totalResults).to.equal(0);
  });

  it('stops running operations when the client goes away (those that ran stay)', async function () {
    this.timeout(120_000);
    if (testContext().db.client.config.client !== 'pg') {
      // eslint-disable-next-line no-console
      console.log('      skipped on the embedded database: watching the Bulk mid-way needs a second connection');
      this.skip();
    }
    // A chain of groups, each naming the next as a member: they run one after another, last first.
    const n = 300;
    const Operations = Array.from({ length: n }, (_, i) => ({
      method: 'POST',
      path: '/Groups',
      bulkId: `c${i}`,
      data: { schemas: [GROUP], displayName: `chain ${i}`, ...(i + 1 < n ? { members: [{ value: `bulkId:c${i + 1}` }] } : {}) },
    }));
    const body = JSON.stringify({ schemas: [BULK_REQUEST], Operations });
    const server = http.createServer(testContext().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const countGroups = async () => (await t.scim.get('/Groups?count=0').expect(200)).body.totalResults as number;
    try {
      const req = http.request({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        path: '/scim/v2/Bulk',
        method: 'POST',
        headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/scim+json', 'Content-Length': Buffer.byteLength(body) },
      });
      req.on('error', () => undefined);
      req.end(body);
      // Once a few operations ran, the client leaves.
      while ((await countGroups()) < 3) await new Promise((r) => setTimeout(r, 20));
      req.destroy();
      // The count stops growing, well short of the chain.
      let last = -1;
      for (let now = await countGroups(); now !== last; now = await countGroups()) {
        last = now;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(last).to.be.within(3, n - 1);
    } finally {
      server.close();
    }
  });
});
