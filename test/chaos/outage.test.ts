import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { harnessKnex, scratchCluster, scratchDatabase, sleep, startInstance, stopAll, type Instance, type ScratchCluster, type ScratchDb } from './helpers/cluster';
import { call, quantile, type Reply } from './helpers/http';

/**
 * Guarantee 3 (database outages): the test runs its own PostgreSQL cluster (initdb + pg_ctl on a
 * free port) and stops it for 10 s while two instances serve every dialect under load. Every
 * request gets an answer within a bound far below the request timeout: a 503 with an integer
 * Retry-After in the dialect's error shape (easydb's document makes database errors a 500
 * `error.server.database`); /readyz turns 503; when the database is back the same processes
 * answer 200 again by themselves; and writes acknowledged before, during and after the outage
 * are all there while refused ones are not.
 */

const OUTAGE_MS = 10_000;
/** The longest a request may take while the database is down (the server's request timeout is 30 s). */
const BOUND_MS = Number(process.env.CHAOS_OUTAGE_BOUND_MS ?? 8000);
const CLIENTS = 20;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Probe = { dialect: string; method: string; path: string; body?: unknown; contentType?: string; pair?: string; add?: boolean };

/** The dialect's way of saying "the database is unavailable". */
function expectUnavailable(p: Probe, r: Reply): void {
  const b = (r.json ?? {}) as Record<string, unknown>;
  const msg = `${p.method} ${p.path} → ${r.status} ${r.text.slice(0, 300)}`;
  if (p.dialect === 'easydb') {
    expect(r.status, msg).to.be.oneOf([500, 503]);
    expect(b.realm, msg).to.equal('server');
    return;
  }
  expect(r.status, msg).to.equal(503);
  // /readyz is for the router's health checks, which do not read Retry-After.
  if (p.dialect !== 'health') expect(r.headers['retry-after'], msg).to.match(/^[1-9]\d*$/);
  if (p.dialect === 'scim') expect(b, msg).to.include({ status: '503' });
  if (p.dialect === 'v2') expect(b, msg).to.include({ status: 503, code: 'service.unavailable' });
  if (p.dialect === 'v1') expect(b, msg).to.include({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  if (p.dialect === 'nuxeo') expect(b, msg).to.include({ 'entity-type': 'exception', status: 503 });
  if (p.dialect === 'health') expect(b, msg).to.include({ status: 'unavailable' });
}

describe('chaos: a database outage of 10 s under load', function () {
  this.timeout(600_000);
  let cluster: ScratchCluster;
  let scratch: ScratchDb;
  let instances: Instance[] = [];

  after(async () => {
    await stopAll(instances);
    cluster?.destroy();
  });

  it('answers 503 + Retry-After in every dialect within a bound, turns /readyz red, and recovers by itself; acknowledged writes are kept', async () => {
    cluster = await scratchCluster();
    scratch = await scratchDatabase(cluster.url);
    const { services, db } = scratch;
    const tenant = await services.tenants.createTenant('chaos-outage');
    const { token, record } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'chaos', rights: ['all'] });
    const admin = { tenantId: tenant.id, tokenId: record.id, rights: new Set(record.rights) };
    const groups = await Promise.all(Array.from({ length: 5 }, (_, i) => services.groups.createGroup(admin, { name: `outage-${i}` })));
    const users = await Promise.all(Array.from({ length: CLIENTS * 2 }, (_, i) => services.users.createUser(admin, { userName: `outage-u${i}@chaos.example.com` })));
    await db.destroy();

    instances = await Promise.all([0, 1].map((i) => startInstance(scratch.url, { PGPOOL_MAX: '4' }, `app${i}`)));
    const pids = instances.map((i) => i.proc.pid);

    const probes = (c: number): Probe[] => {
      const g = groups[c % groups.length];
      const u = users[c * 2 + randomInt(2)];
      const add = randomInt(2) === 1;
      return [
        { dialect: 'scim', method: 'GET', path: `/scim/v2/Groups/${g.id}?excludedAttributes=members` },
        { dialect: 'scim', method: 'PATCH', path: `/scim/v2/Groups/${g.id}?excludedAttributes=members`, contentType: 'application/scim+json', pair: `${g.id}|${u.id}`, add, body: { schemas: [PATCH_OP], Operations: add ? [{ op: 'add', path: 'members', value: [{ value: u.id }] }] : [{ op: 'remove', path: `members[value eq "${u.id}"]` }] } },
        { dialect: 'v2', method: 'GET', path: `/api/v2/groups/${g.id}` },
        { dialect: 'v1', method: 'GET', path: `/api/v1/groups/${g.seq}` },
        { dialect: 'nuxeo', method: 'GET', path: `/group/${g.id}` },
        { dialect: 'easydb', method: 'GET', path: `/api/v1/group/${g.seq}` },
      ];
    };

    type Sample = { at: number; probe: Probe; reply: Reply; instance: number };
    const samples: Sample[] = [];
    const member = new Map<string, boolean>();
    let stopping = false;
    const phases: { down?: number; downDone?: number; upStart?: number; up?: number } = {};

    const load = async (c: number) => {
      while (!stopping) {
        const probe = probes(c)[randomInt(6)];
        const i = randomInt(instances.length);
        const reply = await call(instances[i].base, probe.method, probe.path, { token, body: probe.body, contentType: probe.contentType, timeoutMs: 35_000 });
        samples.push({ at: Date.now(), probe, reply, instance: i });
        if (probe.pair && (reply.status === 200 || reply.status === 204)) member.set(probe.pair, probe.add!);
        await sleep(20);
      }
    };
    const readiness: { at: number; reply: Reply }[] = [];
    const ready = async () => {
      while (!stopping) {
        for (const i of instances) readiness.push({ at: Date.now(), reply: await call(i.base, 'GET', '/readyz', { timeoutMs: 35_000 }) });
        await sleep(200);
      }
    };

    const running = [...Array.from({ length: CLIENTS }, (_, c) => load(c)), ready()];
    await sleep(4000);
    phases.down = Date.now();
    cluster.stop();
    phases.downDone = Date.now();
    await sleep(OUTAGE_MS);
    phases.upStart = Date.now();
    cluster.start();
    phases.up = Date.now();
    // Recovery: every dialect answers 200 again on both instances, with no restart.
    let recoveredAt: number | undefined;
    for (let t = 0; t < 300 && !recoveredAt; t++) {
      await sleep(100);
      const recent = samples.filter((s) => s.at > Date.now() - 2000 && s.at > phases.up!);
      const ok = (d: string) => recent.some((s) => s.probe.dialect === d && s.reply.status === 200);
      if (['scim', 'v2', 'v1', 'nuxeo', 'easydb'].every(ok) && recent.length > 20 && recent.slice(-20).every((s) => s.reply.status < 500)) recoveredAt = Date.now();
    }
    await sleep(2000);
    stopping = true;
    await Promise.all(running);

    const during = samples.filter((s) => s.at > phases.downDone! + 1000 && s.at < phases.upStart!);
    const latencies = samples.map((s) => s.reply.ms);
    process.stdout.write(`      ${samples.length} requests; ${during.length} during the outage, p99 ${quantile(during.map((s) => s.reply.ms), 0.99)} ms; recovered ${recoveredAt ? recoveredAt - phases.up! : '—'} ms after the database came back; overall p99 ${quantile(latencies, 0.99)} ms\n`);

    if (process.env.CHAOS_DEBUG) require('node:fs').writeFileSync('/tmp/outage-logs.txt', instances.map((i) => i.output()).join('\n'));
    expect(instances.map((i) => i.proc.pid), 'an instance was restarted').to.deep.equal(pids);
    expect(instances.every((i) => i.proc.exitCode === null), 'an instance died').to.equal(true);
    // No request hangs, whatever the phase; no answer is an unexplained failure.
    for (const s of samples) {
      expect(s.reply.error, `${s.probe.method} ${s.probe.path} got no answer (${s.reply.error}) after ${s.reply.ms} ms`).to.equal(undefined);
      expect(s.reply.ms, `${s.probe.method} ${s.probe.path} took ${s.reply.ms} ms`).to.be.below(BOUND_MS);
      if (s.reply.status >= 500) expectUnavailable(s.probe, s.reply);
    }
    // While the database is down, the data requests are refused as unavailable.
    expect(during.length).to.be.greaterThan(10);
    for (const s of during) expectUnavailable(s.probe, s.reply);
    // /readyz turns red within a couple of seconds and green again afterwards.
    const red = readiness.filter((r) => r.at > phases.downDone! && r.at < phases.upStart!);
    expect(red.length).to.be.greaterThan(0);
    const firstRed = red.find((r) => r.reply.status === 503);
    expect(firstRed, '/readyz never answered 503 during the outage').to.not.equal(undefined);
    expect(firstRed!.at - phases.downDone!).to.be.below(3000);
    for (const r of red.filter((x) => x.at > phases.downDone! + 3000)) expectUnavailable({ dialect: 'health', method: 'GET', path: '/readyz' }, r.reply);
    expect(recoveredAt, 'the service did not recover within 30 s of the database coming back').to.not.equal(undefined);
    expect(readiness.filter((r) => r.at > recoveredAt!).every((r) => r.reply.status === 200)).to.equal(true);

    // Acknowledged writes are all there; refused ones are not.
    const check = harnessKnex(scratch.url);
    try {
      const rows = (await check('group_members').where({ tenant_id: tenant.id, member_kind: 'user' }).select('group_id', 'member_id')) as { group_id: string; member_id: string }[];
      const actual = new Set(rows.map((r) => `${r.group_id}|${r.member_id}`));
      for (const [pair, m] of member) expect(actual.has(pair), `pair ${pair}`).to.equal(m);
    } finally {
      await check.destroy();
    }
  });
});
