import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { scratchDatabase, sleep, startInstance, stopAll, type Instance, type ScratchDb } from './helpers/cluster';
import { call } from './helpers/http';

/**
 * Guarantee 2 (atomic under crashes): an instance is killed with SIGKILL in the middle of a
 * 1,000-operation SCIM Bulk, of a 1,000-group easydb batch PUT and of a 1,000-group v1 bulk
 * delete. Afterwards each Bulk operation is either fully applied or not at all, and each batch
 * request is either fully applied or not at all — never a part of one.
 */

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** Rows inserted in one statement (fixtures; the crash concerns the requests, not the setup). */
async function insertUsers(db: Knex, tenantId: string, prefix: string, n: number): Promise<{ id: string; seq: number }[]> {
  return db.raw(`INSERT INTO users (tenant_id, user_name) SELECT ?, ? || g || '@chaos.example.com' FROM generate_series(1, ?) g RETURNING id, seq`, [tenantId, prefix, n]).then((r: { rows: { id: string; seq: string }[] }) => r.rows.map((x) => ({ id: x.id, seq: Number(x.seq) })));
}

async function insertGroups(db: Knex, tenantId: string, prefix: string, n: number): Promise<{ id: string; seq: number; name: string }[]> {
  return db.raw(`INSERT INTO groups (tenant_id, name) SELECT ?, ? || g FROM generate_series(1, ?) g RETURNING id, seq, name`, [tenantId, prefix, n]).then((r: { rows: { id: string; seq: string; name: string }[] }) => r.rows.map((x) => ({ ...x, seq: Number(x.seq) })));
}

/** Open transactions of the app's connections right now (the harness connects as roster-chaos). */
async function openAppTransactions(db: Knex): Promise<number> {
  const r = await db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'roster' AND xact_start IS NOT NULL`);
  return (r as { rows: { n: number }[] }).rows[0].n;
}

describe('chaos: atomic under SIGKILL', function () {
  this.timeout(900_000);
  let scratch: ScratchDb;
  let instances: Instance[] = [];
  let token: string;
  let tenantId: string;

  before(async () => {
    scratch = await scratchDatabase();
    const tenant = await scratch.services.tenants.createTenant('chaos-crash');
    tenantId = tenant.id;
    token = (await scratch.services.tokens.issueToken({ tenantId, name: 'chaos', rights: ['all'] })).token;
  });

  after(async () => {
    await stopAll(instances);
    await scratch?.drop();
  });

  async function fresh(name: string): Promise<Instance> {
    const i = await startInstance(scratch.url, {}, name);
    instances.push(i);
    return i;
  }

  /** SIGKILL, and wait for the process to be gone (and PostgreSQL to roll its transactions back). */
  async function crash(i: Instance): Promise<void> {
    i.kill('SIGKILL');
    await i.exited;
    for (let t = 0; t < 100 && (await openAppTransactions(scratch.db)) > 0; t++) await sleep(100);
  }

  it('SIGKILL mid-way through a 1,000-operation SCIM Bulk leaves every operation fully applied or not at all', async () => {
    const { db } = scratch;
    const run = randomBytes(3).toString('hex');
    const groups = await insertGroups(db, tenantId, `bulk-${run}-g`, 500);
    const users = await insertUsers(db, tenantId, `bulk-${run}-m`, 1500);
    // Even operations create a user with all its attributes; odd ones add three members to a
    // group and set its externalId, in one PATCH (several statements in one transaction).
    const operations = Array.from({ length: 1000 }, (_, i) => {
      if (i % 2 === 0) {
        return { method: 'POST', path: '/Users', bulkId: `u${i}`, data: { schemas: [USER], userName: `bulk-${run}-new${i}@chaos.example.com`, displayName: `New ${i}`, externalId: `ext-${run}-${i}`, name: { givenName: 'New', familyName: String(i) }, emails: [{ value: `new${i}@chaos.example.com`, type: 'work', primary: true }] } };
      }
      const k = (i - 1) / 2;
      return {
        method: 'PATCH',
        path: `/Groups/${groups[k].id}`,
        data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: users.slice(k * 3, k * 3 + 3).map((u) => ({ value: u.id })) }, { op: 'replace', path: 'externalId', value: `op-${i}` }] },
      };
    });
    const victim = await fresh('bulk-victim');
    const before = Number((await db('audit_events').where({ tenant_id: tenantId }).count({ n: '*' }))[0].n);
    const pending = call(victim.base, 'POST', '/scim/v2/Bulk', { token, body: { schemas: [BULK], Operations: operations }, contentType: 'application/scim+json', timeoutMs: 600_000 });
    // Kill once a fifth of the operations are done.
    for (let t = 0; t < 6000; t++) {
      const done = Number((await db('audit_events').where({ tenant_id: tenantId }).count({ n: '*' }))[0].n) - before;
      if (done >= 200) break;
      await sleep(50);
    }
    await crash(victim);
    const reply = await pending;
    expect(reply.status, 'the Bulk request must not have completed before the kill').to.equal(0);

    const created = (await db('users').where({ tenant_id: tenantId }).where('user_name', 'like', `bulk-${run}-new%`).select('user_name', 'display_name', 'external_id', 'resource')) as { user_name: string; display_name: string; external_id: string; resource: Record<string, unknown> }[];
    for (const u of created) {
      const i = Number(/new(\d+)@/.exec(u.user_name)![1]);
      expect({ displayName: u.display_name, externalId: u.external_id }).to.deep.equal({ displayName: `New ${i}`, externalId: `ext-${run}-${i}` });
      expect(JSON.stringify(u.resource)).to.include(`new${i}@chaos.example.com`);
    }
    let applied = created.length;
    for (let k = 0; k < 500; k++) {
      const g = groups[k];
      const row = await db('groups').where({ tenant_id: tenantId, id: g.id }).first('external_id', 'member_count');
      const members = (await db('group_members').where({ tenant_id: tenantId, group_id: g.id }).pluck('member_id')) as string[];
      const events = Number((await db('audit_events').where({ tenant_id: tenantId, resource_id: g.id }).count({ n: '*' }))[0].n);
      const mine = users.slice(k * 3, k * 3 + 3).map((u) => u.id);
      const state = { externalId: row.external_id, memberCount: row.member_count, members: members.sort(), events };
      // Its events: group.updated (the externalId) and membership.added (the three members).
      const all = { externalId: `op-${2 * k + 1}`, memberCount: 3, members: [...mine].sort(), events: 2 };
      const none = { externalId: null, memberCount: 0, members: [], events: 0 };
      expect(state, `operation ${2 * k + 1} (group ${g.name}) was torn`).to.deep.oneOf([all, none]);
      if (state.events) applied++;
    }
    process.stdout.write(`      ${applied} of 1000 operations were applied before the kill\n`);
    expect(applied).to.be.within(1, 999);
  });

  it('SIGKILL during a 1,000-group easydb batch PUT leaves all of the batch or none of it, each time', async () => {
    const { db } = scratch;
    const [owner] = await insertUsers(db, tenantId, `acl-${randomBytes(3).toString('hex')}-`, 1);
    const batch = (run: string) =>
      Array.from({ length: 1000 }, (_, i) => ({
        _basetype: 'group',
        group: { _version: 1, name: `batch-${run}-${i}`, displayname: { 'en-US': `Batch ${i}` } },
        _acl: [{ who: { _basetype: 'user', user: { _id: owner.seq } }, rights: { bag_read: {}, bag_write: {} } }],
      }));
    const outcome = async (run: string) => {
      const ids = (await db('groups').where({ tenant_id: tenantId }).where('name', 'like', `batch-${run}-%`).pluck('id')) as string[];
      const acl = ids.length ? Number((await db('group_acl').where({ tenant_id: tenantId }).whereIn('group_id', ids).count({ n: '*' }))[0].n) : 0;
      return { groups: ids.length, acl };
    };
    // How long one batch takes here, unkilled.
    let victim = await fresh('batch-timer');
    const t0 = Date.now();
    const timed = await call(victim.base, 'PUT', '/api/v1/group', { token, body: batch(`timer-${randomBytes(3).toString('hex')}`), timeoutMs: 600_000 });
    expect(timed.status, timed.text.slice(0, 300)).to.equal(200);
    const duration = Date.now() - t0;
    let midTransaction = 0;
    for (const fraction of [0.3, 0.6, 0.9]) {
      const run = randomBytes(3).toString('hex');
      const pending = call(victim.base, 'PUT', '/api/v1/group', { token, body: batch(run), timeoutMs: 600_000 });
      await sleep(duration * fraction);
      if ((await openAppTransactions(db)) > 0) midTransaction++;
      await crash(victim);
      const reply = await pending;
      const o = await outcome(run);
      expect(o, `batch killed at ${fraction * 100}% (${reply.status || reply.error})`).to.deep.oneOf([{ groups: 0, acl: 0 }, { groups: 1000, acl: 1000 }]);
      if (reply.status === 200) expect(o.groups).to.equal(1000);
      victim = await fresh(`batch-${fraction}`);
    }
    process.stdout.write(`      ${midTransaction} of 3 kills hit an open transaction (single batch takes ${duration} ms)\n`);
    expect(midTransaction, 'no kill landed inside the transaction: the test proved nothing').to.be.greaterThan(0);
  });

  it('SIGKILL during a 1,000-group v1 bulk delete deletes all of them or none, each time', async () => {
    const { db } = scratch;
    const victimMembers = await insertUsers(db, tenantId, `bd-${randomBytes(3).toString('hex')}-m`, 20);
    const prepare = async (run: string) => {
      const gs = await insertGroups(db, tenantId, `bd-${run}-`, 1000);
      // Every group gets members, so each delete has rows to cascade.
      await db.raw(
        `INSERT INTO group_members (tenant_id, group_id, member_kind, member_id) SELECT ?, g.id, 'user', u.id FROM groups g CROSS JOIN (SELECT id FROM users WHERE id = ANY(?::uuid[])) u WHERE g.tenant_id = ? AND g.name LIKE ?`,
        [tenantId, victimMembers.map((u) => u.id), tenantId, `bd-${run}-%`],
      );
      await db('groups').where({ tenant_id: tenantId }).where('name', 'like', `bd-${run}-%`).update({ member_count: victimMembers.length });
      return gs;
    };
    const remaining = async (run: string) => Number((await db('groups').where({ tenant_id: tenantId }).where('name', 'like', `bd-${run}-%`).count({ n: '*' }))[0].n);
    let victim = await fresh('delete-timer');
    const timerRun = randomBytes(3).toString('hex');
    const timerGroups = await prepare(timerRun);
    const t0 = Date.now();
    const timed = await call(victim.base, 'DELETE', '/api/v1/groups/bulk-delete', { token, body: timerGroups.map((g) => g.seq), timeoutMs: 600_000 });
    expect(timed.status, timed.text.slice(0, 300)).to.equal(204);
    expect(await remaining(timerRun)).to.equal(0);
    const duration = Date.now() - t0;
    let midTransaction = 0;
    for (const fraction of [0.3, 0.6, 0.9]) {
      const run = randomBytes(3).toString('hex');
      const gs = await prepare(run);
      const pending = call(victim.base, 'DELETE', '/api/v1/groups/bulk-delete', { token, body: gs.map((g) => g.seq), timeoutMs: 600_000 });
      await sleep(duration * fraction);
      if ((await openAppTransactions(db)) > 0) midTransaction++;
      await crash(victim);
      const reply = await pending;
      const left = await remaining(run);
      expect(left, `bulk delete killed at ${fraction * 100}% (${reply.status || reply.error})`).to.be.oneOf([0, 1000]);
      if (left === 1000) {
        const members = Number((await db('group_members').where({ tenant_id: tenantId }).whereIn('group_id', gs.map((g) => g.id)).count({ n: '*' }))[0].n);
        expect(members).to.equal(1000 * victimMembers.length);
      }
      victim = await fresh(`delete-${fraction}`);
    }
    process.stdout.write(`      ${midTransaction} of 3 kills hit an open transaction (single bulk delete takes ${duration} ms)\n`);
    expect(midTransaction, 'no kill landed inside the transaction: the test proved nothing').to.be.greaterThan(0);
  });
});
