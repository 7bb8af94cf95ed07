import { expect } from 'chai';
import request from 'supertest';
import { memberRangeCount } from '../../src/domain/memberships/group-directory.service';
import { idRangeEnds, memberIdSpan, MEMBERS_PER_PART } from '../../src/domain/memberships/member-reads.repository';
import { tokenRuntimeOf } from '../../src/domain/tokens/token-runtime';
import { encodeCursor } from '../../src/http/scim/params';
import { scimMemberTemplates } from '../../src/http/scim/stream';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';
import { appWith } from '../ops/helpers';

/**
 * Background statements of any app on the shared test database (rate-limit reconciliation,
 * last-use writes): not caused by the request under test, whose token is warm and whose app
 * reconciles once a minute.
 */
/** A display name JSON must escape: quotes, a backslash, control characters, non-ASCII. */
const ODD_NAME = 'Zoë "Q" \\ O\'Brien\n\t\u0001\u007f \u2028 😀';

const BACKGROUND = /rate_limit_buckets|SET last_used_at/;

/** The statements the app sends while one request runs (Knex's query event; `prepared` from readRows). */
async function queriesOf(send: () => Promise<unknown>): Promise<{ sql: string; prepared?: boolean; bindings?: unknown[] }[]> {
  const { db } = testContext();
  const seen: { sql: string; prepared?: boolean; bindings?: unknown[] }[] = [];
  const onQuery = (q: { sql: string; prepared?: boolean; bindings?: unknown[] }) => {
    if (!BACKGROUND.test(q.sql)) seen.push(q);
  };
  db.on('query', onQuery);
  try {
    await send();
  } finally {
    db.removeListener('query', onQuery);
  }
  return seen;
}

/** A binding written as an SQL literal (for EXPLAIN EXECUTE). */
const literal = (v: unknown) =>
  v === null
    ? 'NULL'
    : Array.isArray(v) ? `'{${v.join(',')}}'` : typeof v === 'number' || typeof v === 'boolean' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;

/** The SQL the app sends while one request runs. */
const statementsOf = async (send: () => Promise<unknown>): Promise<string[]> => (await queriesOf(send)).map((q) => q.sql);

describe('SCIM: reads cost one statement where they can', () => {
  let t: TestTenant;
  let token: string;
  let app: ReturnType<typeof appWith>['app'];
  const users: { id: string; userName: string }[] = [];
  before(async function () {
    this.timeout(120_000);
    ({ app } = appWith({ rateLimitSyncMs: 60_000 }));
    t = await newTenant();
    token = await t.token(['scim_provisioning']);
    for (let i = 0; i < 7; i++) users.push(await t.user({ userName: `perf-${String(i).padStart(2, '0')}@example.com`, displayName: i === 3 ? ODD_NAME : null }));
    for (let i = 0; i < 50 && !tokenRuntimeOf(testContext().db).cache.enabled; i++) await new Promise((r) => setTimeout(r, 20));
    // Warm the token (and let its last-use write land).
    await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200);
    await new Promise((r) => setTimeout(r, 300));
  });

  it('GETs a group with excludedAttributes=members in one statement, reading no member', async () => {
    const g = await t.group({ name: 'perf big' });
    await testContext().deps.services.groupDirectory.mutateGroup(t.admin, g.id, { addMembers: users.map((u) => ({ id: u.id })) });
    let res: request.Response | undefined;
    const sql = await statementsOf(async () => {
      res = await request(app).get(`/scim/v2/Groups/${g.id}?excludedAttributes=members`).set(bearer(token)).expect(200);
    });
    expect(res?.body).to.include({ id: g.id, displayName: 'perf big' });
    expect(res?.body).to.not.have.property('members');
    expect(sql, sql.join('\n')).to.have.length(1);
    expect(sql[0]).to.not.match(/group_members/);
  });

  it('answers userName eq with the user and its groups in one statement, without counting', async () => {
    const g1 = await t.group({ name: 'perf zeta' });
    const g2 = await t.group({ name: 'perf alpha' });
    for (const g of [g1, g2]) await testContext().deps.services.groupDirectory.mutateGroup(t.admin, g.id, { addMembers: [{ id: users[2].id }] });
    let res: request.Response | undefined;
    const sql = await statementsOf(async () => {
      res = await request(app).get('/scim/v2/Users').query({ filter: `userName eq "${users[2].userName.toUpperCase()}"` }).set(bearer(token)).expect(200);
    });
    expect(res?.body).to.include({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect(res?.body.Resources[0].id).to.equal(users[2].id);
    expect(sql.filter((s) => /count\(/i.test(s)), sql.join('\n')).to.deep.equal([]);
    expect(sql.length, sql.join('\n')).to.equal(1);
    // Its direct groups, in name order, read by the same statement.
    const big = (await testContext().db('groups').where({ tenant_id: t.id, name: 'perf big' }).first('id')) as { id: string };
    expect(res?.body.Resources[0].groups.map((r: { value: string; display: string }) => [r.value, r.display])).to.deep.equal([
      [g2.id, 'perf alpha'],
      [big.id, 'perf big'],
      [g1.id, 'perf zeta'],
    ]);
    expect(res?.body.Resources[0].groups[0]).to.include({ type: 'direct' });
  });

  it('tells totalResults of short pages without a count, and of full or past-the-end pages from the counters', async () => {
    const page = (q: Record<string, unknown>) => statementsOf(() => request(app).get('/scim/v2/Users').query(q).set(bearer(token)).expect(200).then((r) => (last = r)));
    let last: request.Response | undefined;
    // 7 users (+ none other in this tenant): a last, short page.
    let sql = await page({ startIndex: 5, count: 10 });
    expect(last?.body).to.include({ totalResults: 7, itemsPerPage: 3, startIndex: 5 });
    expect(sql.filter((s) => /count\(/i.test(s))).to.deep.equal([]);
    // The page's positions and rows in one statement (indexPageRows).
    expect(sql, sql.join('\n')).to.have.length(1);
    expect(sql[0]).to.include('roster_user_positions(');
    // A full page: the total comes from the tenant's counters, not count(*) over users, and
    // rides in the page's own statement.
    sql = await page({ startIndex: 2, count: 3 });
    expect(last?.body).to.include({ totalResults: 7, itemsPerPage: 3 });
    expect(last?.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal(users.slice(1, 4).map((u) => u.id));
    expect(sql.some((s) => s.includes('tenant_counters'))).to.equal(true);
    expect(sql, sql.join('\n')).to.have.length(1);
    expect(sql.filter((s) => /count\(/i.test(s))).to.deep.equal([]);
    // Past the end.
    await page({ startIndex: 50, count: 10 });
    expect(last?.body).to.include({ totalResults: 7, itemsPerPage: 0 });
    // A filtered, full page still counts its matches.
    await page({ filter: 'userName sw "perf-0"', count: 2 });
    expect(last?.body).to.include({ totalResults: 7, itemsPerPage: 2 });
  });

  it('streams members across batch boundaries in order, each exactly once, with names escaped', async () => {
    const { services } = testContext().deps;
    const g = await t.group({ name: 'perf streamed' });
    const nested = [await t.group({ name: 'perf child a' }), await t.group({ name: 'perf child b' })];
    await services.groupDirectory.mutateGroup(t.admin, g.id, { addMembers: [...users.map((u) => ({ id: u.id })), ...nested.map((n) => ({ id: n.id }))] });
    // Batches come as SCIM member objects written by the database: parse each to check it.
    const templates = scimMemberTemplates('https://roster.test/scim/v2');
    type Member = { value: string; $ref: string; display?: string; type: string };
    const read = async (opts: { batchSize: number; firstBatch: number; expected?: number; perPart?: number; usersInRange?: boolean }) => {
      const batches: Member[][] = [];
      for await (const b of services.groupDirectory.memberBatches(t.admin, g.id, templates, opts)) {
        // Each part is a row of its own, of at most perPart members.
        const parts = b.parts.map((part) => JSON.parse(`[${part}]`) as Member[]);
        expect(parts.map((part) => part.length).every((n) => n >= 1 && n <= (opts.perPart ?? MEMBERS_PER_PART)), JSON.stringify(parts)).to.equal(true);
        const members = parts.flat();
        expect(b.count).to.equal(members.length);
        const lastOne = members[members.length - 1];
        expect(b.last).to.deep.equal({ kind: lastOne.type === 'User' ? 'user' : 'group', id: lastOne.value });
        batches.push(members);
      }
      return batches;
    };
    // A first batch of 4 (both kinds), then keyset batches of 2: the 2 groups and 2 users, then 5 users.
    const batches = await read({ batchSize: 2, firstBatch: 4 });
    expect(batches.map((b) => b.length)).to.deep.equal([4, 2, 2, 1]);
    const groupFirst = await read({ batchSize: 2, firstBatch: 1 });
    expect(groupFirst.map((b) => b.length)).to.deep.equal([1, 1, 2, 2, 2, 1]);
    expect(groupFirst.flat()).to.deep.equal(batches.flat());
    // Read as id ranges (a member count of 7 in batches of 2: 4 ranges), the order and the
    // members are the same, whichever range each user's random id falls in.
    const ranged = await read({ batchSize: 2, firstBatch: 1, expected: 7 });
    expect(ranged.flat()).to.deep.equal(batches.flat());
    expect(Math.max(...ranged.map((b) => b.length))).to.be.at.most(2);
    // Each range's users joined in one go, or probed member by member: the same text. The join
    // never runs as a nested loop (which could scan the range's users once per member).
    for (const usersInRange of [true, false]) {
      let got: Member[][] = [];
      const sql = await statementsOf(async () => (got = await read({ batchSize: 2, firstBatch: 1, expected: 7, usersInRange })));
      expect(got.flat()).to.deep.equal(batches.flat());
      const joins = sql.filter((q) => /LEFT JOIN users/.test(q)).length;
      const nestloopOff = sql.filter((q) => q.includes("set_config('enable_nestloop', 'off', true)")).length;
      expect([joins > 0, nestloopOff]).to.deep.equal(usersInRange ? [true, joins] : [false, 0]);
    }
    // Parts of one member each (rows small enough for pg to parse in place): the same members.
    const inParts = await read({ batchSize: 3, firstBatch: 4, perPart: 1 });
    expect(inParts.flat()).to.deep.equal(batches.flat());
    const flat = batches.flat();
    expect(flat.map((m) => m.type)).to.deep.equal([...nested.map(() => 'Group'), ...users.map(() => 'User')]);
    expect(flat.filter((m) => m.type === 'User').map((m) => m.value)).to.deep.equal(users.map((u) => u.id).sort());
    expect(flat[0]).to.deep.equal({ value: flat[0].value, $ref: `https://roster.test/scim/v2/Groups/${flat[0].value}`, display: flat[0].display, type: 'Group' });
    const res = await request(app).get(`/scim/v2/Groups/${g.id}`).set(bearer(token)).expect(200);
    const members = res.body.members as { value: string; $ref: string; display?: string; type: string }[];
    expect(members.map((m) => m.value)).to.deep.equal(flat.map((m) => m.value));
    const odd = members.find((m) => m.value === users[3].id);
    expect(odd).to.deep.equal({ value: users[3].id, $ref: `${res.request.url.split('/scim/v2')[0]}/scim/v2/Users/${users[3].id}`, display: ODD_NAME, type: 'User' });
    // The request's host goes into every $ref: escaped as JSON whatever it holds.
    const host = 'ro"ster\\test:1';
    const weird = await request(app).get(`/scim/v2/Groups/${g.id}`).set(bearer(token)).set('Host', host).expect(200);
    expect(weird.body.members.map((m: { $ref: string }) => m.$ref)).to.deep.equal(flat.map((m) => `http://${host}/scim/v2/${m.type}s/${m.value}`));
    expect(members.find((m) => m.value === nested[0].id)).to.include({ type: 'Group', display: 'perf child a' });
  });

  it('keeps the fixed-shape hot statements prepared, never a pattern filter or the positions of a sorted page at an offset', async () => {
    const g = await t.group({ name: 'perf prepared' });
    /** Whether each statement of one request ran as a named (prepared) statement. */
    const preparedOf = async (send: () => Promise<unknown>) => (await queriesOf(send)).map((q) => q.prepared === true);
    const scim = (method: 'get' | 'post' | 'patch', path: string, body?: object) => () =>
      request(app)[method](path).set(bearer(token)).set('content-type', 'application/scim+json').send(body).expect((r) => expect(r.status).to.be.oneOf([200, 201, 204]));
    expect(await preparedOf(scim('get', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${users[1].userName}"`)}`))).to.deep.equal([true]);
    expect(await preparedOf(scim('get', `/scim/v2/Groups/${g.id}?excludedAttributes=members`))).to.deep.equal([true]);
    const add = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: users[1].id }] }] };
    expect(await preparedOf(scim('patch', `/scim/v2/Groups/${g.id}`, add))).to.deep.equal([true]);
    const created = await preparedOf(scim('post', '/scim/v2/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `perf-prepared-${Date.now()}` }));
    expect(created).to.deep.equal([true]);
    // Pages in creation order at an offset, whole or projected: one statement, prepared, its
    // positions planned with their values inside it (roster_user_positions; see the next test).
    expect(await preparedOf(scim('get', '/scim/v2/Users?startIndex=2&count=2'))).to.deep.equal([true]);
    expect(await preparedOf(scim('get', '/scim/v2/Users?startIndex=2&count=2&attributes=userName'))).to.deep.equal([true]);
    // From a position (a cursor page, the first page): one statement, prepared, the same text for
    // every tenant (a new tenant's pages take no text of their own).
    const other = await newTenant();
    const otherToken = await other.token(['scim_provisioning']);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(otherToken)).expect(200);
    await new Promise((r) => setTimeout(r, 300));
    for (const path of ['/scim/v2/Users?count=2&cursor=&attributes=userName', '/scim/v2/Users?count=3']) {
      const texts: string[] = [];
      for (const tk of [otherToken, token]) {
        const qs = await queriesOf(() => request(app).get(path).set(bearer(tk)).expect(200));
        expect(qs.map((q) => q.prepared === true)).to.deep.equal([true]);
        texts.push(qs[0].sql);
      }
      expect(texts[0]).to.equal(texts[1]);
    }
    // Plans that depend on the values stay unnamed: a prefix filter, a sorted page at an offset
    // (its positions; then, as above, its rows with their groups by position, prepared).
    expect(await preparedOf(scim('get', `/scim/v2/Users?filter=${encodeURIComponent('userName sw "perf-0"')}`))).to.not.include(true);
    expect(await preparedOf(scim('get', '/scim/v2/Users?startIndex=2&count=2&sortBy=userName'))).to.deep.equal([false, true]);
  });

  it('reads the rows of a page in creation order by position, with one plan whatever the positions', async function () {
    const { db } = testContext();
    if (db.client.config.client !== 'pg') {
      // eslint-disable-next-line no-console
      console.log('      skipped on the embedded database: the plan choice is checked on PostgreSQL (PGlite keeps one connection)');
      this.skip();
    }
    const pages: { sql: string; bindings: unknown[] }[] = [];
    const onQuery = (q: { sql: string; bindings: unknown[] }) => {
      if (/seq = ANY/.test(q.sql)) pages.push(q);
    };
    db.on('query', onQuery);
    try {
      for (const path of ['/scim/v2/Users?startIndex=3&count=2', '/scim/v2/Users?startIndex=3&count=2&attributes=userName']) {
        await request(app).get(path).set(bearer(token)).expect(200);
      }
    } finally {
      db.removeListener('query', onQuery);
    }
    expect(pages).to.have.length(2);
    expect(pages.map((q) => /group_members/.test(q.sql))).to.deep.equal([true, false]);
        // A plan made without the values, over tables too small for an index to pay (seq scans off):
    // the one index it can use is the positions' one, never the tenant's.
    const crowded = await t.group({ name: 'perf plan statistics' });
    // Rolled back at the end: nothing of it (rows or statistics) outlives the test.
    const trx = await db.transaction();
    try {
      // Statistics that say a tenant has many memberships, as in production. On the test
      // database's tiny tables, whose statistics say each tenant has about one, the two indexes
      // of group_members cost the same and the planner keeps the first it weighed (the primary
      // key, which has the group before the member): that choice is the planner's tie, not the
      // statement's.
      await trx.raw(`INSERT INTO group_members (tenant_id, group_id, member_kind, member_id) SELECT ?, ?, 'user', gen_random_uuid() FROM generate_series(1, 5000)`, [t.id, crowded.id]);
      await trx.raw('ANALYZE group_members');
      await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
      await trx.raw('SET LOCAL enable_seqscan = off');
      for (const [i, q] of pages.entries()) {
        await trx.raw(`PREPARE user_rows_probe_${i} AS ${q.sql}`);
        const plan = (await trx.raw(`EXPLAIN EXECUTE user_rows_probe_${i}(${q.bindings.map(literal).join(', ')})`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        expect(plan, plan).to.not.match(/Seq Scan on users|users_pkey|users_tenant_seq_idx|Seq Scan on group_members|group_members_pkey/);
        expect(plan, plan).to.match(/(Index Scan using users_seq_unique on users|Bitmap Index Scan on users_seq_unique)[^\n]*\n\s+Index Cond: \(seq = ANY/);
        // The page's groups: their memberships found by the page's user ids, not the tenant's every one.
        if (!/group_members/.test(q.sql)) continue;
        // As one range of the member index between the page's lowest and highest user id, and
        // where that range holds too many, one probe per user.
        // (Index-only where the table's pages are all visible; a bitmap of the same index where
        // recent writes are not yet vacuumed, as after the tests before this one.)
        const memberIndex = (alias: string) => `(?:Index Only Scan using group_members_member_idx on group_members ${alias}|Bitmap Index Scan on group_members_member_idx)`;
        expect(plan, plan).to.match(new RegExp(`${memberIndex('gm')}[^\\n]*\\n\\s+Index Cond: \\(\\(tenant_id = \\$\\d+\\) AND \\(member_kind = 'user'::text\\) AND \\(member_id >= \\$\\d+\\) AND \\(member_id <= \\$\\d+\\)\\)`));
        expect(plan, plan).to.match(new RegExp(`${memberIndex('gm_\\d+')}[^\\n]*\\n\\s+Index Cond: \\(\\(tenant_id = pu\\.tenant_id\\) AND \\(member_kind = 'user'::text\\) AND \\(member_id = pu\\.id\\)\\)`));
        // Each distinct group read once, by key, and nowhere else.
        expect(plan.match(/ on groups /g), plan).to.have.length(1);
        expect(plan, plan).to.match(/Index (Only )?Scan using groups_\w+ on groups g[^\n]*\n\s+Index Cond: \(\(tenant_id = \$\d+\) AND \(id = \w+\.group_id\)\)/);
      }
    } finally {
      await trx.rollback();
    }
  });

  it("reads a page from a position in one statement, from the position, whatever its tenant's share of the users", async () => {
    const { db } = testContext();
    // Cursor pages forward and back, whole (with groups) or projected.
    const path = (q: string) => `/scim/v2/Users?count=2&${q}`;
    const first = await request(app).get(path('cursor=')).set(bearer(token)).expect(200);
    let last: request.Response | undefined;
    const sql = await statementsOf(async () => {
      last = await request(app).get(path(`cursor=${first.body.nextCursor}`)).set(bearer(token)).expect(200);
    });
    expect(last?.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal(users.slice(2, 4).map((u) => u.id));
    expect(sql, sql.join('\n')).to.have.length(1);
    const back = await request(app).get(path(`cursor=${last!.body.previousCursor}&attributes=userName`)).set(bearer(token)).expect(200);
    expect(back.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal(users.slice(0, 2).map((u) => u.id));
    // The statements of pages of 100 (a first page by cursor and by index, after and before a
    // position), for their plans.
    const pages: { sql: string; bindings: unknown[] }[] = [];
    const onQuery = (q: { sql: string; bindings: unknown[] }) => {
      if (q.sql.includes('roster_user_range(')) pages.push(q);
    };
    const seqs = (await db('users').where({ tenant_id: t.id }).orderBy('seq').select('seq')).map((r: { seq: string | number }) => Number(r.seq));
    db.on('query', onQuery);
    try {
      for (const q of ['cursor=', `cursor=${encodeCursor({ a: seqs[1] })}`, `cursor=${encodeCursor({ b: seqs[5] })}&attributes=userName`, 'startIndex=1']) {
        await request(app).get(`/scim/v2/Users?count=100&${q}`).set(bearer(token)).expect(200);
      }
    } finally {
      db.removeListener('query', onQuery);
    }
    // roster_user_range(tenant, after, before, limit): its values, as strings (a cursor page asks
    // for one more position than it holds, which tells whether another page follows).
    const ranges = pages.map((q) => q.bindings.slice(0, 4).map((b) => (b === null ? null : String(b))));
    expect(ranges).to.deep.equal([
      [t.id, null, null, '101'],
      [t.id, String(seqs[1]), null, '101'],
      [t.id, null, String(seqs[5]), '101'],
      [t.id, null, null, '100'],
    ]);
    expect(pages.map((q) => /group_members/.test(q.sql))).to.deep.equal([true, true, false, true]);
    if (db.client.config.client !== 'pg') {
      // eslint-disable-next-line no-console
      console.log('      plan part skipped on the embedded database: the plan choice is checked on PostgreSQL (PGlite keeps one connection)');
      return;
    }
    // The plans PostgreSQL runs, on statistics of many small tenants beside this one, grown big
    // (with display names, whose index could give the tenant's rows in order by an incremental
    // sort) and then holding most users, its new rows not yet all visible: the statement's plan
    // made without the values, and the function's own (auto_explain, nested statements, sent back
    // to this connection as notices). The positions come from (tenant_id, seq) from the position,
    // stopped by the page size, never by another index or a sort of the tenant's users; the users
    // at them by position.
    const conn = (await db.client.acquireConnection()) as import('pg').Client;
    const notices: string[] = [];
    const onNotice = (n: { message?: string }) => notices.push(n.message ?? '');
    conn.on('notice', onNotice);
    try {
      await conn.query('BEGIN');
      await conn.query("LOAD 'auto_explain'");
      for (const setting of ['auto_explain.log_nested_statements = on', 'auto_explain.log_level = notice']) await conn.query(`SET LOCAL ${setting}`);
      await conn.query(`INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'perf small ' || i || ' ' || $1 FROM generate_series(1, 20000) i`, [t.id]);
      // CASE: this connection may keep a plan of the users' foreign-key check made while tenants
      // was a page or two (a sequential scan); run for each of the rows below over 20,000 more
      // tenants, that took the test past its timeout. New statistics make PostgreSQL plan it again.
      await conn.query('ANALYZE tenants');
      await conn.query(`INSERT INTO users (tenant_id, user_name, display_name) SELECT tn.id, 'small', 'Small ' || tn.name FROM tenants tn WHERE tn.name LIKE 'perf small %' || $1`, [t.id]);
      for (const count of [3000, 40000]) {
        await conn.query(`INSERT INTO users (tenant_id, user_name, display_name) SELECT $1, 'perf-bulk-' || $2 || '-' || i, 'Bulk ' || (i * 7919 % 100003) FROM generate_series(1, $2::integer) i`, [t.id, count]);
        await conn.query('ANALYZE users');
        const { rows: [{ share }] } = await conn.query('SELECT round(100.0 * count(*) FILTER (WHERE tenant_id = $1) / count(*)) AS share FROM users', [t.id]);
        await conn.query('SET LOCAL plan_cache_mode = force_generic_plan');
        for (const [i, q] of pages.entries()) {
          const name = `user_range_probe_${count}_${i}`;
          await conn.query(`PREPARE ${name} AS ${q.sql}`);
          const values = q.bindings.map(literal).join(', ');
          const plan = (await conn.query(`EXPLAIN EXECUTE ${name}(${values})`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
          // Plans are logged only around this (every row the inserts above check against its
          // tenant is a nested statement too).
          await conn.query('SET LOCAL auto_explain.log_min_duration = 0');
          notices.length = 0;
          await conn.query(`EXECUTE ${name}(${values})`);
          await conn.query('SET LOCAL auto_explain.log_min_duration = -1');
          const inner = notices.filter((n) => /Query Text: ARRAY\(SELECT seq FROM users/.test(n));
          const why = `the tenant holds ${share}% of the users\n${plan}\n${notices.join('\n')}`;
          // The positions: (tenant_id, seq) from the position, forward or back, stopped by the page size.
          expect(inner, why).to.have.length(1);
          const back = ranges[i][2] !== null;
          expect(inner[0], why).to.match(new RegExp(`Limit[^\\n]*\\n\\s+->  Index Only Scan ${back ? 'Backward ' : ''}using users_tenant_seq_idx on users[^\\n]*\\n\\s+Index Cond: \\(\\(ROW\\(tenant_id, seq\\) ${back ? '<' : '>'} ROW\\(`));
          expect(inner[0], why).to.not.match(/Sort|users_seq_unique|users_pkey|users_display_name_idx|users_user_name_unique|users_external_id_idx|Seq Scan/);
          // Then the users at those positions, by position.
          expect(plan, why).to.match(/Index Scan using users_seq_unique on users[^\n]*\n\s+Index Cond: \(seq = ANY \(roster_user_range\(/);
          expect(plan, why).to.not.match(/users_pkey|users_tenant_seq_idx|Seq Scan on users|Sort Key: users\.seq|Sort Key: seq/);
        }
      }
    } finally {
      conn.removeListener('notice', onNotice);
      await conn.query('ROLLBACK').catch(() => undefined);
      await db.client.releaseConnection(conn);
    }
  });
});

describe('member id ranges (idRangeEnds, memberRangeCount)', () => {
  it('splits the UUID space into equal ranges ending at the largest id, keeping those past a start', () => {
    expect(idRangeEnds(4)).to.deep.equal(['3fffffff-ffff-ffff-ffff-ffffffffffff', '7fffffff-ffff-ffff-ffff-ffffffffffff', 'bfffffff-ffff-ffff-ffff-ffffffffffff', 'ffffffff-ffff-ffff-ffff-ffffffffffff']);
    expect(idRangeEnds(4, '80000000-0000-4000-8000-000000000000')).to.deep.equal(['bfffffff-ffff-ffff-ffff-ffffffffffff', 'ffffffff-ffff-ffff-ffff-ffffffffffff']);
    expect(idRangeEnds(3)[0]).to.equal('55555555-5555-5554-ffff-ffffffffffff');
    expect(idRangeEnds(1)).to.deep.equal([undefined]);
    expect(idRangeEnds(0)).to.deep.equal([undefined]);
    expect(idRangeEnds(1e9)).to.have.length(1024);
  });

  it('splits the span the ids occupy when given it: time-ordered ids sit in a sliver of the space', () => {
    // Ids of members created over 0x400 ms (a version 7 id starts with its time): four ranges of
    // 0x100 ms each, the last open-ended (members added meanwhile are read too).
    const span = { first: '01a24765-0000-0000-0000-000000000000', last: '01a24765-03ff-ffff-ffff-ffffffffffff' };
    expect(idRangeEnds(4, undefined, span)).to.deep.equal([
      '01a24765-00ff-ffff-ffff-ffffffffffff',
      '01a24765-01ff-ffff-ffff-ffffffffffff',
      '01a24765-02ff-ffff-ffff-ffffffffffff',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ]);
    // Past a start (the first batch's last member), as without a span.
    expect(idRangeEnds(4, '01a24765-0180-7000-8000-000000000000', span)).to.deep.equal([
      '01a24765-01ff-ffff-ffff-ffffffffffff',
      '01a24765-02ff-ffff-ffff-ffffffffffff',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ]);
    // Read as parts of the whole space, every one of these ids falls in the first range.
    expect(String(idRangeEnds(4)[0]) > span.last).to.equal(true);
    // A span narrower than the count: no range twice.
    const narrow = { first: '01a24765-0000-7000-8000-000000000000', last: '01a24765-0000-7001-8000-000000000000' };
    const ends = idRangeEnds(8, undefined, narrow);
    expect(new Set(ends).size).to.equal(ends.length);
    expect(ends[ends.length - 1]).to.equal('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(idRangeEnds(1, undefined, span)).to.deep.equal([undefined]);
    // A span at the very start of the space, narrower than the count: only ends that are ids.
    const start = { first: '00000000-0000-0000-8000-000000000000', last: '00000000-0000-0000-bfff-ffffffffffff' };
    const atStart = idRangeEnds(4, undefined, start);
    expect(atStart.every((e) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(String(e))), atStart.join()).to.equal(true);
    expect(atStart[atStart.length - 1]).to.equal('ffffffff-ffff-ffff-ffff-ffffffffffff');
  });

  it('cuts ranges smaller than a batch, so a range seldom overflows into a batch of a few members', () => {
    // 100,000 members in batches of 10,000: 11 ranges of ~9,100 (10 would overflow half of them).
    expect(memberRangeCount(100_000, 10_000)).to.equal(11);
    expect(memberRangeCount(1_000_000, 10_000)).to.equal(110);
    expect(memberRangeCount(0, 10_000)).to.equal(0);
  });
});

describe('member id span (memberIdSpan)', () => {
  it("reads a group's smallest and largest member id from the ends of its key, sorting nothing", async () => {
    const { db, services } = testContext().deps;
    const t = await newTenant();
    const g = await t.group({ name: 'span' });
    const users = await Promise.all(Array.from({ length: 5 }, (_v, i) => t.user({ userName: `span-${i}@example.com` })));
    await services.groupDirectory.mutateGroup(t.admin, g.id, { addMembers: users.map((u) => ({ id: u.id })) });
    const ids = users.map((u) => u.id).sort();
    let span: Awaited<ReturnType<typeof memberIdSpan>>;
    const seen = await queriesOf(async () => (span = await memberIdSpan(db, t.id, g.id, 'user')));
    expect(span!).to.deep.equal({ first: ids[0], last: ids[ids.length - 1] });
    expect(await memberIdSpan(db, t.id, g.id, 'group')).to.equal(undefined);
    const statement = seen.find((q) => q.sql.includes('group_members'));
    expect(statement, 'the span statement').to.not.equal(undefined);
    // With sequential scans off (these tables are small), an order an index gives needs no sort;
    // the order of the ids' text (once the statement's) can only come from a sort of them all.
    const plan = await db.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off');
      const rows = (await trx.raw(`EXPLAIN ${statement!.sql.replace(/\$\d+/g, '?')}`, (statement!.bindings ?? []) as never[])).rows as Record<string, string>[];
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan, plan).to.match(/Index Only Scan Backward using group_members_/);
    expect(plan).to.not.match(/Sort/);
  });
});

describe('users primary key', () => {
  it('keeps the columns of a member display name in the users primary key (index-only probes)', async () => {
    const { rows } = await testContext().deps.db.raw(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indexrelid = 'users_pkey'::regclass ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    );
    expect(rows.map((r: { attname: string }) => r.attname)).to.deep.equal(['tenant_id', 'id', 'display_name', 'user_name']);
  });
});

describe('groups id-name index', () => {
  it("keeps each group name beside its key, so a user page names its users' groups index-only", async () => {
    const { rows } = await testContext().deps.db.raw(
      `SELECT a.attname, a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS key
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indexrelid = 'groups_id_name_idx'::regclass ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    );
    expect(rows).to.deep.equal([
      { attname: 'tenant_id', key: true },
      { attname: 'id', key: true },
      { attname: 'name', key: false },
    ]);
  });
});
