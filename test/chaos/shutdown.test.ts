import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { scratchDatabase, sleep, startInstance, stopAll, type Instance, type ScratchDb } from './helpers/cluster';
import { call, type Reply } from './helpers/http';

/**
 * Guarantee 4 (graceful shutdown): SIGTERM while 20 clients write and a long SCIM Bulk is being
 * processed. The in-flight requests finish (the Bulk answers 200 with every operation done), new
 * connections are refused by the closed listener, the process exits with 0 within the grace
 * period, and every write that was acknowledged is in the database.
 */

const GRACE_MS = 15_000;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

describe('chaos: graceful shutdown under load', function () {
  this.timeout(300_000);
  let scratch: ScratchDb;
  let instance: Instance | undefined;

  after(async () => {
    if (instance) await stopAll([instance]);
    await scratch?.drop();
  });

  it('finishes in-flight requests, refuses new connections, exits within the grace period and keeps every acknowledged write', async () => {
    scratch = await scratchDatabase();
    const { services, db } = scratch;
    const tenant = await services.tenants.createTenant('chaos-shutdown');
    const { token } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'chaos', rights: ['all'] });
    instance = await startInstance(scratch.url, { SHUTDOWN_GRACE_MS: String(GRACE_MS) }, 'victim');
    const run = randomBytes(3).toString('hex');

    type Outcome = { userName: string; started: number; reply: Reply };
    const outcomes: Outcome[] = [];
    let stop = false;
    const writer = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const userName = `sd-${run}-c${c}-${n}@chaos.example.com`;
        const started = Date.now();
        const reply = await call(instance!.base, 'POST', '/scim/v2/Users', { token, body: { schemas: [USER], userName }, contentType: 'application/scim+json', timeoutMs: 30_000 });
        outcomes.push({ userName, started, reply });
        if (reply.error === 'ECONNREFUSED') await sleep(50);
      }
    };
    const writers = Array.from({ length: 20 }, (_, c) => writer(c));
    await sleep(2000);

    // A long request, in flight when the signal comes.
    const bulkOps = Array.from({ length: 200 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { schemas: [USER], userName: `sd-${run}-bulk-${i}@chaos.example.com` } }));
    const bulk = call(instance.base, 'POST', '/scim/v2/Bulk', { token, body: { schemas: [BULK], Operations: bulkOps }, contentType: 'application/scim+json', timeoutMs: 60_000, agent: false });
    const before = Number((await db('users').where({ tenant_id: tenant.id }).count({ n: '*' }))[0].n);
    for (let t = 0; t < 200; t++) {
      const now = Number((await db('users').where({ tenant_id: tenant.id }).where('user_name', 'like', `sd-${run}-bulk-%`).count({ n: '*' }))[0].n);
      if (now >= 20) break;
      await sleep(25);
    }
    void before;
    const sigterm = Date.now();
    instance.kill('SIGTERM');
    // New connections are refused once the listener is closed.
    await sleep(300);
    const fresh = await call(instance.base, 'GET', '/healthz', { agent: false, timeoutMs: 5000 });
    const bulkReply = await bulk;
    const exit = await Promise.race([instance.exited, sleep(GRACE_MS + 5000).then(() => undefined)]);
    stop = true;
    await Promise.all(writers);

    if (process.env.CHAOS_DEBUG) process.stdout.write(`sigterm→bulk end ${Date.now() - sigterm} bulk ms ${bulkReply.ms} exit ${exit ? exit.at - sigterm : '-'}\n${instance.output().slice(-3000)}\n`);
    expect(fresh.error, `a new connection after SIGTERM got ${fresh.status || fresh.error}`).to.equal('ECONNREFUSED');
    expect(bulkReply.status, `the in-flight Bulk: ${bulkReply.status || bulkReply.error} ${bulkReply.text.slice(0, 200)}`).to.equal(200);
    const bulkStatuses = (bulkReply.json as { Operations: { status: string }[] }).Operations.map((o) => o.status);
    expect(bulkStatuses.length).to.equal(200);
    expect(bulkStatuses.every((s) => s === '201'), `bulk statuses: ${[...new Set(bulkStatuses)]}`).to.equal(true);
    expect(exit, `the process did not exit within ${GRACE_MS + 5000} ms of SIGTERM:\n${instance.output().slice(-2000)}`).to.not.equal(undefined);
    expect(exit!.code, instance.output().slice(-2000)).to.equal(0);
    expect(exit!.at - sigterm).to.be.below(GRACE_MS + 2000);

    // Requests well under way before the signal were answered, not cut.
    const underWay = outcomes.filter((o) => o.started < sigterm - 500 && o.started + o.reply.ms > sigterm);
    for (const o of underWay) expect(o.reply.status, `${o.userName}: ${o.reply.error}`).to.equal(201);
    // Every acknowledged write is there (the Bulk's 200 included).
    const acknowledged = [...outcomes.filter((o) => o.reply.status === 201).map((o) => o.userName), ...bulkOps.map((o) => o.data.userName)];
    const stored = new Set((await db('users').where({ tenant_id: tenant.id }).where('user_name', 'like', `sd-${run}-%`).pluck('user_name')) as string[]);
    const missing = acknowledged.filter((u) => !stored.has(u));
    expect(missing, `acknowledged but missing: ${missing.slice(0, 5)}`).to.deep.equal([]);
    const errors = outcomes.filter((o) => o.reply.status === 0 && o.started < sigterm);
    process.stdout.write(`      ${outcomes.length} single writes, ${acknowledged.length - bulkOps.length} of them acknowledged, plus the Bulk's ${bulkOps.length}; exit ${exit!.at - sigterm} ms after SIGTERM; ${errors.length} requests sent just before the signal were cut (${[...new Set(errors.map((e) => e.reply.error))]})\n`);
    instance = undefined;
  });

  it('exits a little after the grace period even while a statement waits on a lock, and the waiting write does not land', async () => {
    const { services, db } = scratch;
    const tenant = await services.tenants.createTenant('chaos-shutdown-stuck');
    const { token } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'chaos', rights: ['all'] });
    const group = await services.groups.createGroup({ tenantId: tenant.id, tokenId: '00000000-0000-0000-0000-000000000000', rights: new Set(['admin']) }, { name: 'stuck' });
    const stuck = await startInstance(scratch.url, { SHUTDOWN_GRACE_MS: '1000' }, 'stuck');
    instance = stuck;
    // Another session holds the group's row: the PATCH's statement waits for it.
    const holder = await db.client.acquireConnection();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM groups WHERE id = $1 FOR UPDATE', [group.id]);
      const patch = call(stuck.base, 'PATCH', `/scim/v2/Groups/${group.id}`, {
        token,
        body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'renamed' }] },
        contentType: 'application/scim+json',
        timeoutMs: 60_000,
      });
      await sleep(500);
      const sigterm = Date.now();
      stuck.kill('SIGTERM');
      const exit = await Promise.race([stuck.exited, sleep(20_000).then(() => undefined)]);
      const reply = await patch;
      expect(exit, `still running 20 s after SIGTERM:\n${stuck.output().slice(-2000)}`).to.not.equal(undefined);
      expect(exit!.at - sigterm, 'grace 1 s + 5 s to close the database').to.be.within(1000, 8000);
      expect(exit!.code).to.equal(1);
      expect(stuck.output()).to.match(/database work still running after the grace period/);
      expect(reply.status, 'the client was cut, not answered').to.equal(0);
    } finally {
      await holder.query('ROLLBACK');
      await db.client.releaseConnection(holder);
    }
    // The process is gone, so its transaction is rolled back: the rename did not land.
    await sleep(500);
    expect((await db('groups').where({ id: group.id }).first('name')).name).to.equal('stuck');
    instance = undefined;
  });
});
