import { expect } from 'chai';
import { findPeoplePage, findPeoplePageOfPlainGroup, type PeopleScope } from '../../src/domain/groups/group-members.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { statementsOf } from '../helpers/statements';

/** Issue 7: a Groups v2 member page is one statement for a group without rules. */
describe('Groups v2: member pages in one statement', () => {
  let t: TestTenant;
  beforeEach(async () => {
    t = await newTenant();
  });

  /** 6 individuals, 3 owners (one of them also an individual), a nested group. */
  async function mixedGroup() {
    const { services } = testContext().deps;
    const users = [];
    for (let i = 0; i < 8; i++) users.push(await t.user());
    const nested = await t.group();
    const g = await t.group({ ownerIds: [users[5].id, users[6].id, users[7].id] });
    await services.memberships.addMembers(t.admin, g.id, [...users.slice(0, 6).map((u) => ({ kind: 'user' as const, id: u.id })), { kind: 'group', id: nested.id }]);
    return services.groups.getGroup(t.admin, g.id);
  }

  it('cuts every page, ascending and descending, exactly as the general path does', async () => {
    const { db } = testContext();
    const g = await mixedGroup();
    for (const scope of ['all', 'direct'] as PeopleScope[]) {
      for (const sortOrder of ['asc', 'desc'] as const) {
        for (const limit of [1, 2, 4, 25]) {
          for (let offset = 0; offset <= 10; offset += limit) {
            const q = { offset, limit, sortOrder };
            const general = await findPeoplePage(db, t.id, g, scope, q);
            const plain = await findPeoplePageOfPlainGroup(db, t.id, g.id, scope, q, false);
            const label = `${scope} ${sortOrder} offset ${offset} limit ${limit}`;
            expect(plain, label).to.not.equal(undefined);
            expect(plain!.total, label).to.equal(general.total);
            expect(plain!.items.map((u) => u.id), label).to.deep.equal(general.items.map((u) => u.id));
          }
        }
      }
    }
    expect((await findPeoplePage(db, t.id, g, 'all', { offset: 0, limit: 25, sortOrder: 'asc' })).total).to.equal(8);
  });

  it('leaves groups with rules, and hidden ones, to the general path', async () => {
    const { db } = testContext();
    const ruled = await t.group({ wildcards: ['userName:*@acme.com'] });
    expect(await findPeoplePageOfPlainGroup(db, t.id, ruled.id, 'all', { offset: 0, limit: 5, sortOrder: 'asc' }, false)).to.equal(undefined);
    expect(await findPeoplePageOfPlainGroup(db, t.id, ruled.id, 'direct', { offset: 0, limit: 5, sortOrder: 'asc' }, false)).to.deep.equal({ items: [], total: 0 });
    const hidden = await t.group({ visibility: 'members' });
    expect(await findPeoplePageOfPlainGroup(db, t.id, hidden.id, 'all', { offset: 0, limit: 5, sortOrder: 'asc' }, true)).to.equal(undefined);
    expect(await findPeoplePageOfPlainGroup(db, t.id, hidden.id, 'all', { offset: 0, limit: 5, sortOrder: 'asc' }, false)).to.deep.equal({ items: [], total: 0 });
  });

  it('answers GET …/members with one statement (besides authentication)', async () => {
    const g = await mixedGroup();
    const token = await t.token(['group_administration']);
    let body: { total: number; entities: unknown[] } = { total: 0, entities: [] };
    const { count, sql } = await statementsOf(async () => {
      body = (await api().get(`/api/v2/groups/${g.id}/members?pageSize=3&pageNumber=2`).set(bearer(token)).expect(200)).body;
    });
    expect(count, sql.join('\n')).to.equal(1);
    expect(body.total).to.equal(8);
    expect(body.entities).to.have.length(3);
  });

  it('keeps the member page prepared, with a plan that is the same whatever the group and page, so it is planned once', async function () {
    this.timeout(60_000);
    const { db } = testContext();
    // Statistics where one group stands out: another tenant's 20,000-member group. A plan made
    // for a given tenant and group (a custom plan) could cost a small group's page far below the
    // generic plan's average group, and PostgreSQL would then plan every page (bench/HISTORY.md,
    // thirtieth part).
    const other = await newTenant();
    const crowd = await other.group();
    await db.raw(`INSERT INTO users (tenant_id, user_name) SELECT ?::uuid, 'crowd-' || n FROM generate_series(1, 20000) AS n`, [other.id]);
    await db.raw(`INSERT INTO group_members (tenant_id, group_id, member_kind, member_id) SELECT tenant_id, ?::uuid, 'user', id FROM users WHERE tenant_id = ?::uuid`, [crowd.id, other.id]);
    // The stored count Roster keeps beside the rows it writes itself.
    await db.raw('UPDATE groups SET member_count = 20000 WHERE tenant_id = ?::uuid AND id = ?::uuid', [other.id, crowd.id]);
    await db.raw('ANALYZE users, groups, group_members');
    const g = await mixedGroup();
    const token = await t.token(['group_administration']);
    const pages: { sql: string; bindings: unknown[]; prepared?: boolean }[] = [];
    const onQuery = (q: { sql: string; bindings: unknown[]; prepared?: boolean }) => {
      if (/\bpage AS\b/.test(q.sql)) pages.push(q);
    };
    db.on('query', onQuery);
    try {
      await api().get(`/api/v2/groups/${g.id}/members?pageSize=1&pageNumber=1`).set(bearer(token)).expect(200);
      await api().get(`/api/v2/groups/${g.id}/members?pageSize=5&pageNumber=2`).set(bearer(token)).expect(200);
    } finally {
      db.removeListener('query', onQuery);
    }
    expect(pages.map((q) => q.prepared)).to.deep.equal([true, true]);
    expect(pages[1].sql).to.equal(pages[0].sql);
    // Prepared by hand on one connection: a plan made for the values (a custom plan) costs the
    // same for both pages, and the same for the crowd's group, as the generic plan: no value
    // reaches the planner. So PostgreSQL keeps the generic plan after its first five custom ones
    // instead of planning every page; and that generic plan reads the page's users one by one.
    const literal = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
    const execute = (bindings: unknown[]) => `EXECUTE member_page_probe(${bindings.map(literal).join(', ')})`;
    const crowdPage = pages[0].bindings.map((b) => (b === t.id ? other.id : b === g.id ? crowd.id : b));
    await db.transaction(async (trx) => {
      await trx.raw(`PREPARE member_page_probe AS ${pages[0].sql}`);
      const cost = async (bindings: unknown[]) => (await trx.raw(`EXPLAIN (FORMAT JSON) ${execute(bindings)}`)).rows[0]['QUERY PLAN'][0].Plan['Total Cost'];
      await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
      const generic = await cost(pages[0].bindings);
      const plan = (await trx.raw(`EXPLAIN ${execute(pages[0].bindings)}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(plan, plan).to.not.match(/Hash Join|Seq Scan on users/);
      await trx.raw('SET LOCAL plan_cache_mode = force_custom_plan');
      expect([await cost(pages[0].bindings), await cost(pages[1].bindings), await cost(crowdPage)]).to.deep.equal([generic, generic, generic]);
      await trx.raw('DEALLOCATE member_page_probe');
      // Left to choose, as on Roster's connections, for the small group's pages: five custom
      // plans, then the generic one.
      await trx.raw('SET LOCAL plan_cache_mode = auto');
      await trx.raw(`PREPARE member_page_probe AS ${pages[0].sql}`);
      for (let i = 0; i < 8; i++) await trx.raw(execute(pages[i % 2].bindings));
      const [chosen] = (await trx.raw(`SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = 'member_page_probe'`)).rows;
      expect(chosen).to.deep.equal({ generic: 3, custom: 5 });
      await trx.raw('DEALLOCATE member_page_probe');
    });
  });

  it('answers a search and a listing with one statement each (besides authentication), totals included', async () => {
    for (const name of ['Alpha', 'Beta', 'Gamma', 'alpha two']) await t.group({ name });
    const token = await t.token(['group_administration']);
    let body: { total: number; pageCount: number; results: { name: string }[] } = { total: 0, pageCount: 0, results: [] };
    const search = await statementsOf(async () => {
      body = (await api().post('/api/v2/groups/search').set(bearer(token)).send({ query: [{ type: 'EXACT', fields: ['name'], value: 'alpha' }] }).expect(200)).body;
    });
    expect(search.count, search.sql.join('\n')).to.equal(1);
    expect(body.total).to.equal(1);
    expect(body.results.map((g) => g.name)).to.deep.equal(['Alpha']);
    let listing: { total: number; entities: { name: string }[] } = { total: 0, entities: [] };
    const list = await statementsOf(async () => {
      listing = (await api().get('/api/v2/groups?pageSize=2&pageNumber=2').set(bearer(token)).expect(200)).body;
    });
    expect(list.count, list.sql.join('\n')).to.equal(1);
    expect(listing.total).to.equal(4);
    expect(listing.entities.map((g) => g.name)).to.deep.equal(['Beta', 'Gamma']);
    // Past the last page: no rows, and the total still counts.
    const past = (await api().get('/api/v2/groups?pageSize=2&pageNumber=5').set(bearer(token)).expect(200)).body;
    expect(past.total).to.equal(4);
    expect(past.entities).to.deep.equal([]);
  });
});
