import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { chaosSeconds, scratchDatabase, startInstance, stopAll, type Instance, type ScratchDb } from './helpers/cluster';
import { call, quantile, type Reply } from './helpers/http';

/**
 * Guarantee 1 (nothing lost under concurrency): 4 app instances (separate processes) on one
 * PostgreSQL, 200 concurrent clients for CHAOS_DURATION_S seconds (default 60) mixing SCIM PATCH
 * member adds/removes, Groups v2 member adds (with version retries) and removes, v1 permission
 * replacements and group renames. Every client owns its (group, user) pairs, and each group's
 * name and permissions have one owner client, so the expected final state follows from the
 * acknowledged answers alone: replaying them gives a model the database must equal, the audit
 * log must hold exactly one event per acknowledged change, and no request may get a 5xx.
 */

const CLIENTS = Number(process.env.CHAOS_CLIENTS ?? 200);
const INSTANCES = 4;
const GROUPS = 20;
const USERS_PER_CLIENT = 3;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PERMISSIONS = ['READ', 'WRITE', 'CREATE', 'DELETE', 'MAP_TO_MODELS', 'MAP_TO_DESTINATION'];

interface Group {
  id: string;
  seq: number;
  name: string;
}

describe('chaos: nothing lost under concurrency (4 instances, 200 clients)', function () {
  const seconds = chaosSeconds(60);
  this.timeout((seconds + 300) * 1000);
  let scratch: ScratchDb;
  let instances: Instance[] = [];

  after(async () => {
    await stopAll(instances);
    await scratch?.drop();
  });

  it(`keeps every acknowledged change and only those, with one audit event each and no 5xx, over ${seconds} s`, async () => {
    scratch = await scratchDatabase();
    const { services, db } = scratch;
    const tenant = await services.tenants.createTenant('chaos-concurrency');
    const { token, record: tokenRecord } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'chaos', rights: ['all'] });
    const admin = { tenantId: tenant.id, tokenId: tokenRecord.id, rights: new Set(tokenRecord.rights) };
    const groups: Group[] = [];
    for (let g = 0; g < GROUPS; g++) {
      const created = await services.groups.createGroup(admin, { name: `chaos-group-${g}` });
      groups.push({ id: created.id, seq: created.seq, name: created.name });
    }
    const users: string[][] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const mine: string[] = [];
      for (let u = 0; u < USERS_PER_CLIENT; u++) mine.push((await services.users.createUser(admin, { userName: `c${c}-u${u}@chaos.example.com` })).id);
      users.push(mine);
    }
    const baseline = Number((await db('audit_events').where({ tenant_id: tenant.id }).max({ m: 'id' }))[0].m ?? 0);

    instances = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startInstance(scratch.url, {}, `app${i}`)));

    // The model, replayed from acknowledged answers only.
    const member = new Map<string, boolean>(); // `${group}|${user}` → member?
    const names = new Map<string, string>(groups.map((g) => [g.id, g.name]));
    const permissions = new Map<string, string>();
    const events: Record<string, number> = {};
    const count = (action: string) => (events[action] = (events[action] ?? 0) + 1);
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    const latencies: number[] = [];
    let requests = 0;

    const record = (what: string, r: Reply) => {
      requests++;
      latencies.push(r.ms);
      const key = `${what} ${r.status || r.error}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (r.status === 0 || r.status >= 500) failures.push(`${what}: ${r.status || r.error} ${r.text.slice(0, 200)}`);
      return r;
    };
    const pick = <T>(xs: T[]) => xs[randomInt(xs.length)];
    const base = () => pick(instances).base;
    const deadline = Date.now() + seconds * 1000;

    async function versionOf(g: Group): Promise<number | undefined> {
      const r = record('v2 get', await call(base(), 'GET', `/api/v2/groups/${g.id}`, { token }));
      return r.status === 200 ? (r.json as { version: number }).version : undefined;
    }

    async function client(c: number): Promise<void> {
      const owned = groups.filter((_, g) => g % CLIENTS === c);
      let renames = 0;
      while (Date.now() < deadline) {
        const roll = randomInt(100);
        if (owned.length && roll < 10) {
          // Rename one of my groups (Groups v2 PUT with version, retried on 409).
          const g = pick(owned);
          const name = `chaos-group-${g.seq}-r${++renames}-c${c}`;
          for (let attempt = 0; attempt < 20 && Date.now() < deadline; attempt++) {
            const version = await versionOf(g);
            if (version === undefined) break;
            const r = record('v2 rename', await call(base(), 'PUT', `/api/v2/groups/${g.id}`, { token, body: { name, version } }));
            if (r.status === 200) {
              names.set(g.id, name);
              count('group.updated');
              break;
            }
            if (r.status !== 409) break;
          }
          continue;
        }
        if (owned.length && roll < 20) {
          // Replace one of my groups' object permissions (v1).
          const g = pick(owned);
          const perms = PERMISSIONS.filter(() => randomInt(2) === 1);
          const entries = perms.length ? [{ objectType: 'SEGMENT', objectId: randomInt(1, 1_000_000), permissions: perms }] : [];
          const r = record('v1 permissions', await call(base(), 'PUT', `/api/v1/groups/${g.seq}/permissions`, { token, body: entries }));
          if (r.status === 200) {
            permissions.set(g.id, JSON.stringify(entries.map((e) => ({ objectType: e.objectType, objectId: String(e.objectId), permissions: e.permissions }))));
            count('group.permissions_replaced');
          }
          continue;
        }
        const g = pick(groups);
        const u = pick(users[c]);
        const key = `${g.id}|${u}`;
        const was = member.get(key) ?? false;
        const add = randomInt(2) === 1;
        if (roll < 60) {
          // SCIM PATCH add or remove one member.
          const ops = add ? [{ op: 'add', path: 'members', value: [{ value: u }] }] : [{ op: 'remove', path: `members[value eq "${u}"]` }];
          const r = record(`scim patch ${add ? 'add' : 'remove'}`, await call(base(), 'PATCH', `/scim/v2/Groups/${g.id}?excludedAttributes=members`, { token, body: { schemas: [PATCH_OP], Operations: ops }, contentType: 'application/scim+json' }));
          if (r.status === 200 || r.status === 204) {
            member.set(key, add);
            if (was !== add) count(add ? 'membership.added' : 'membership.removed');
          }
        } else if (add) {
          // Groups v2 add with the current version, retried on 409.
          for (let attempt = 0; attempt < 20 && Date.now() < deadline; attempt++) {
            const version = await versionOf(g);
            if (version === undefined) break;
            const r = record('v2 add', await call(base(), 'POST', `/api/v2/groups/${g.id}/members`, { token, body: { memberIds: [u], version } }));
            if (r.status === 202 || r.status === 200) {
              member.set(key, true);
              if (!was) count('membership.added');
              break;
            }
            if (r.status !== 409) break;
          }
        } else {
          const r = record('v2 remove', await call(base(), 'DELETE', `/api/v2/groups/${g.id}/members?ids=${u}`, { token }));
          if (r.status === 202 || r.status === 200) {
            member.set(key, false);
            if (was) count('membership.removed');
          }
        }
      }
    }

    const started = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const elapsed = (Date.now() - started) / 1000;
    const summary = `${requests} requests in ${elapsed.toFixed(0)} s (${(requests / elapsed).toFixed(0)}/s), p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms; ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`;
    process.stdout.write(`      ${summary}\n`);

    expect(failures, `5xx or transport failures: ${failures.slice(0, 10).join('\n')}\n${instances.map((i) => i.output().slice(-2000)).join('\n')}`).to.deep.equal([]);
    expect(requests, summary).to.be.greaterThan(CLIENTS * 5);

    // The database equals the model.
    const rows = (await db('group_members').where({ tenant_id: tenant.id, member_kind: 'user' }).select('group_id', 'member_id')) as { group_id: string; member_id: string }[];
    const actual = new Set(rows.map((r) => `${r.group_id}|${r.member_id}`));
    const expected = new Set([...member].filter(([, m]) => m).map(([k]) => k));
    const missing = [...expected].filter((k) => !actual.has(k));
    const extra = [...actual].filter((k) => !expected.has(k));
    expect({ missing: missing.length, extra: extra.length }, `lost: ${missing.slice(0, 5)}; unacknowledged: ${extra.slice(0, 5)}`).to.deep.equal({ missing: 0, extra: 0 });

    const stored = (await db('groups').where({ tenant_id: tenant.id }).select('id', 'name', 'member_count')) as { id: string; name: string; member_count: number }[];
    for (const g of stored) {
      expect(g.name, `name of ${g.id}`).to.equal(names.get(g.id));
      expect(g.member_count, `member_count of ${g.name}`).to.equal(rows.filter((r) => r.group_id === g.id).length);
    }
    for (const [groupId, want] of permissions) {
      const got = (await db('group_object_permissions').where({ tenant_id: tenant.id, group_id: groupId }).select('object_type', 'object_id', 'permissions')) as { object_type: string; object_id: string; permissions: string[] }[];
      expect(JSON.stringify(got.map((p) => ({ objectType: p.object_type, objectId: String(p.object_id), permissions: PERMISSIONS.filter((x) => p.permissions.includes(x)) }))), `permissions of ${groupId}`).to.equal(want);
    }

    // Exactly one audit event per acknowledged change.
    const logged = (await db('audit_events').where({ tenant_id: tenant.id }).where('id', '>', baseline).groupBy('action').select('action').count({ n: '*' })) as { action: string; n: string }[];
    expect(Object.fromEntries(logged.map((l) => [l.action, Number(l.n)]))).to.deep.equal(events);
  });
});
