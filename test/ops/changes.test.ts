import { expect } from 'chai';
import { insertAuditEvent } from '../../src/domain/audit/audit.repository';
import pino from 'pino';
import { changesService } from '../../src/domain/audit/changes.service';
import { createOps } from '../../src/ops/ops';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

interface Change {
  id: string;
  cursor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  before: unknown;
  after: unknown;
}

/** Reads the whole feed from `after` on, page by page; returns the events and the final cursor. */
async function drain(token: string, after?: string, limit = 7): Promise<{ events: Change[]; cursor?: string }> {
  const events: Change[] = [];
  let cursor = after;
  for (let guard = 0; guard < 10_000; guard++) {
    const res = await api()
      .get('/api/v2/changes')
      .query({ limit, ...(cursor ? { after: cursor } : {}) })
      .set(bearer(token))
      .expect(200);
    events.push(...(res.body.entities as Change[]));
    cursor = res.body.cursor ?? cursor;
    if (res.body.entities.length < limit) break;
  }
  return { events, cursor };
}

const auditIds = async (tenantId: string): Promise<string[]> =>
  (await testContext().db('audit_events').where({ tenant_id: tenantId }).orderBy('id').select('id')).map((r: { id: string | number }) => String(r.id));

describe('ops: change feed GET /api/v2/changes', () => {
  let t: TestTenant;
  let reader: string;
  beforeEach(async () => {
    t = await newTenant();
    reader = await t.token(['audit_read']);
  });

  it('lists who changed what, with before and after, in commit order, and resumes after a cursor', async () => {
    const g = await t.group({ name: 'Feed' });
    const u = await t.user();
    await testContext().deps.services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: u.id }]);
    const first = await api().get('/api/v2/changes').set(bearer(reader)).expect(200);
    expect(first.body.entities.map((e: Change) => e.action)).to.deep.equal(['group.created', 'user.created', 'membership.added']);
    const created = first.body.entities[0];
    expect(created).to.include({ resourceType: 'group', resourceId: g.id, before: null });
    expect(created.after).to.include({ name: 'Feed' });
    expect(created.actor).to.deep.equal({ tokenId: t.admin.tokenId, userId: null });
    expect(first.body.cursor).to.equal(first.body.entities[2].cursor);

    const admin = await t.token(['group_administration']);
    const { body: current } = await api().get(`/api/v2/groups/${g.id}`).set(bearer(admin)).expect(200);
    await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ name: 'Feed 2', version: current.version }).expect(200);
    const next = await api().get(first.body.nextUri).set(bearer(reader)).expect(200);
    expect(next.body.entities.map((e: Change) => e.action)).to.deep.equal(['group.updated']);
    expect(next.body.entities[0].before).to.include({ name: 'Feed' });
    expect(next.body.entities[0].after).to.include({ name: 'Feed 2' });
    // Nothing newer: an empty page that keeps the cursor.
    const idle = await api().get(next.body.nextUri).set(bearer(reader)).expect(200);
    expect(idle.body.entities).to.deep.equal([]);
    expect(idle.body.cursor).to.equal(next.body.cursor);
  });

  it('filters by resource type and id', async () => {
    const a = await t.group();
    const b = await t.group();
    await t.user();
    const groups = await api().get('/api/v2/changes').query({ resourceType: 'group' }).set(bearer(reader)).expect(200);
    expect(groups.body.entities.map((e: Change) => e.resourceId)).to.deep.equal([a.id, b.id]);
    const one = await api().get('/api/v2/changes').query({ resourceId: b.id }).set(bearer(reader)).expect(200);
    expect(one.body.entities.map((e: Change) => e.resourceId)).to.deep.equal([b.id]);
    expect(one.body.nextUri).to.include(`resourceId=${b.id}`);
  });

  it('records member changes made over SCIM as membership events naming the members, as the other dialects do', async () => {
    const scim = await t.token(['scim_provisioning']);
    const users = await Promise.all([t.user(), t.user(), t.user()]);
    const [a, b, c] = users.map((u) => u.id);
    const send = (method: 'post' | 'patch' | 'put', path: string, body: unknown) =>
      api()[method](`/scim/v2${path}`).set(bearer(scim)).set('Content-Type', 'application/scim+json').send(body as object);
    const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
    const patch = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });
    const created = await send('post', '/Groups', { schemas: [GROUP], displayName: 'SCIM feed', members: [{ value: a }] }).expect(201);
    const g = created.body.id as string;
    const since = (await api().get('/api/v2/changes').query({ resourceId: g }).set(bearer(reader)).expect(200)).body;
    expect(since.entities.map((e: Change) => [e.action, e.resourceType])).to.deep.equal([
      ['group.created', 'group'],
      ['membership.added', 'membership'],
    ]);
    expect(since.entities[1].after).to.deep.equal({ added: [{ kind: 'user', id: a }] });

    await send('patch', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value: b }] })).expect(204); // one statement
    await send('patch', `/Groups/${g}`, patch({ op: 'remove', path: `members[value eq "${a}"]` })).expect(204); // one statement
    await send('patch', `/Groups/${g}`, patch({ op: 'replace', path: 'displayName', value: 'SCIM feed 2' }, { op: 'add', path: 'members', value: [{ value: c }] })).expect(204);
    await send('put', `/Groups/${g}`, { schemas: [GROUP], displayName: 'SCIM feed 2', members: [{ value: a }] }).expect(200);
    await send('patch', `/Groups/${g}`, patch({ op: 'add', path: 'members', value: [{ value: a }] })).expect(204); // already in: no event

    const next = (await api().get(since.nextUri).set(bearer(reader)).expect(200)).body.entities as Change[];
    expect(next.map((e) => e.action)).to.deep.equal(['membership.added', 'membership.removed', 'group.updated', 'membership.added', 'membership.removed', 'membership.added']);
    expect(next.map((e) => [e.before, e.after])).to.deep.include.members([
      [null, { added: [{ kind: 'user', id: b }] }],
      [{ removed: [{ kind: 'user', id: a }] }, null],
      [null, { added: [{ kind: 'user', id: c }] }],
      [null, { added: [{ kind: 'user', id: a }] }],
    ]);
    expect(next[2].after).to.include({ name: 'SCIM feed 2' });
    expect((next[4].before as { removed: { id: string }[] }).removed.map((r) => r.id).sort()).to.deep.equal([b, c].sort());
    expect(next.every((e) => e.resourceId === g)).to.equal(true);
  });

  it('names at most 1,000 members a SCIM change added or removed, and counts them all', async function () {
    this.timeout(120_000);
    const scim = await t.token(['scim_provisioning']);
    const ids = (await testContext().db.raw(
      `INSERT INTO users (tenant_id, user_name) SELECT ?, 'feed-' || i || '@example.com' FROM generate_series(1, 1200) i RETURNING id`,
      [t.id],
    )).rows.map((r: { id: string }) => r.id) as string[];
    const g = await t.group();
    const patch = (op: unknown) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [op] });
    const send = (body: unknown) => api().patch(`/scim/v2/Groups/${g.id}`).set(bearer(scim)).set('Content-Type', 'application/scim+json').send(body as object).expect(204);
    await send(patch({ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }));
    await send(patch({ op: 'replace', path: 'members', value: [] }));
    const events = (await api().get('/api/v2/changes').query({ resourceType: 'membership', resourceId: g.id }).set(bearer(reader)).expect(200)).body.entities as Change[];
    expect(events.map((e) => e.action)).to.deep.equal(['membership.added', 'membership.removed']);
    const added = events[0].after as { added: unknown[]; addedCount: number };
    expect(added.added).to.have.length(1000);
    expect(added.addedCount).to.equal(1200);
    const removed = events[1].before as { removed: unknown[]; removedCount: number };
    expect(removed.removed).to.have.length(1000);
    expect(removed.removedCount).to.equal(1200);
  });

  it('shows only the caller\'s tenant', async () => {
    const other = await newTenant();
    await other.group();
    await t.group();
    const res = await api().get('/api/v2/changes').set(bearer(reader)).expect(200);
    expect(res.body.entities).to.have.length(1);
  });

  it('needs audit_read (or admin) and refuses a malformed cursor in the v2 error shape', async () => {
    await api().get('/api/v2/changes').set(bearer(await t.token(['group_administration']))).expect(403);
    await api().get('/api/v2/changes').set(bearer(await t.token(['admin']))).expect(200);
    for (const after of ['abc', '1', '1.2.3', '99999999999999999999.1', '-1.2']) {
      const res = await api().get('/api/v2/changes').query({ after }).set(bearer(reader)).expect(400);
      expect(res.body).to.include({ status: 400, code: 'bad.request' });
    }
    await api().get('/api/v2/changes').query({ limit: 1001 }).set(bearer(reader)).expect(400);
  });

  it('sees every event exactly once while 20 writers commit concurrently and out of order', async function () {
    this.timeout(120_000);
    const { db } = testContext();
    const token = await t.token(['group_administration']);
    let writing = true;
    const seen: Change[] = [];
    let cursor: string | undefined;
    const readerLoop = (async () => {
      for (;;) {
        const stop = !writing;
        const page = await drain(reader, cursor, 5);
        seen.push(...page.events);
        cursor = page.cursor;
        if (stop) return;
      }
    })();
    // Half of the writers go through HTTP; the other half hold their transaction open for a
    // random while after writing, so later ids often commit first.
    const writers = Array.from({ length: 20 }, async (_, w) => {
      for (let i = 0; i < 5; i++) {
        if (w % 2 === 0) {
          await api().post('/api/v2/groups').set(bearer(token)).send({ name: `w${w}-${i}` }).expect(200);
        } else {
          await db.transaction(async (trx) => {
            await insertAuditEvent(trx, { tenantId: t.id, actorTokenId: null, actorUserId: null, action: 'test.write', resourceType: 'group', resourceId: `w${w}-${i}` });
            await trx.raw('SELECT pg_sleep(?)', [Math.random() * 0.03]);
          });
        }
      }
    });
    await Promise.all(writers);
    writing = false;
    await readerLoop;
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size, 'no event twice').to.equal(ids.length);
    expect([...ids].sort(), 'every event').to.deep.equal((await auditIds(t.id)).sort());
    expect(ids).to.have.length(100);
  });

  it('does not skip an event whose transaction started first but committed last', async function () {
    const { config, db } = testContext();
    if (config.db.kind !== 'postgres') {
      // eslint-disable-next-line no-console
      console.log('      skipped on the embedded database: one connection cannot hold two open transactions');
      this.skip();
    }
    const slow = await db.transaction();
    try {
      await insertAuditEvent(slow, { tenantId: t.id, actorTokenId: null, actorUserId: null, action: 'test.slow', resourceType: 'group', resourceId: 'slow' });
      await insertAuditEvent(db, { tenantId: t.id, actorTokenId: null, actorUserId: null, action: 'test.fast', resourceType: 'group', resourceId: 'fast' });
      const before = await drain(reader);
      expect(before.events.map((e) => e.action)).to.deep.equal(['test.fast']);
      await slow.commit();
    } catch (err) {
      await slow.rollback();
      throw err;
    }
    const all = await drain(reader);
    expect(all.events.map((e) => e.action), 'commit order').to.deep.equal(['test.fast', 'test.slow']);
    const resumed = await drain(reader, all.events[0].cursor);
    expect(resumed.events.map((e) => e.action)).to.deep.equal(['test.slow']);
  });

  it('prunes events older than the retention, in batches, and the feed reads on', async () => {
    const { db } = testContext();
    await t.group();
    await t.group();
    await t.group();
    const start = await drain(reader);
    await db('audit_events').where({ tenant_id: t.id }).update({ created_at: db.raw("now() - interval '40 days'") });
    await db('audit_commits').where({ tenant_id: t.id }).update({ created_at: db.raw("now() - interval '40 days'") });
    await t.group({ name: 'fresh' });
    const pruned = await changesService(db).pruneAuditEvents(30, 2);
    expect(pruned).to.be.at.least(3);
    expect(await auditIds(t.id)).to.have.length(1);
    const after = await drain(reader, start.cursor);
    expect(after.events.map((e) => e.action)).to.deep.equal(['group.created']);
    expect(await changesService(db).pruneAuditEvents(0)).to.equal(0);
  });

  it('prunes from the background housekeeping, which stops cleanly', async () => {
    const { db, deps } = testContext();
    await t.group();
    await db('audit_events').where({ tenant_id: t.id }).update({ created_at: db.raw("now() - interval '400 days'") });
    const ops = createOps({ ...deps, config: { ...deps.config, ops: { ...deps.config.ops, auditRetentionDays: 365 } } });
    const housekeeping = ops.startHousekeeping(pino({ level: 'silent' }), { firstRunMs: 3_600_000 });
    const result = await housekeeping.runOnce();
    expect(result.auditEvents).to.be.at.least(1);
    expect(await auditIds(t.id)).to.deep.equal([]);
    await ops.close();
  });
});
