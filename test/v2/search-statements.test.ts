import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { queriesOf, type SentQuery } from '../helpers/statements';

/** Issue 7: a Groups v2 search by name is one statement kept prepared; other searches stay unnamed. */
describe('Groups v2: search statements', () => {
  let t: TestTenant;
  let token: string;

  beforeEach(async () => {
    t = await newTenant();
    token = await t.token([]);
    await t.group({ name: 'Engineering', description: 'Builders', type: 'official' });
    await t.group({ name: 'Engineering Managers', description: 'Lead builders', type: 'official' });
    await t.group({ name: 'Sales', type: 'social' });
  });

  /** The search statements a request sends (the page with its total), and its answer. */
  async function searched(body: Record<string, unknown>): Promise<{ sent: SentQuery[]; total: number; names: string[] }> {
    let res: { body: { total: number; results: { name: string }[] } } | undefined;
    const sent = await queriesOf(
      async () => {
        res = await api().post('/api/v2/groups/search').set(bearer(token)).send(body).expect(200);
      },
      (q) => /\bwith "page" as\b/i.test(q.sql),
    );
    return { sent, total: res!.body.total, names: res!.body.results.map((g) => g.name) };
  }

  const exact = (field: string, value: string) => ({ type: 'EXACT', fields: [field], value });

  it('keeps a search by name prepared, alone or with other criteria, and answers as before', async () => {
    for (const [query, names] of [
      [[exact('name', 'engineering')], ['Engineering']],
      [[exact('name', 'SALES'), exact('type', 'social')], ['Sales']],
      [[exact('name', 'Sales'), exact('type', 'official')], []],
      [[exact('name', 'nobody')], []],
    ] as const) {
      const { sent, total, names: got } = await searched({ query, pageSize: 10, pageNumber: 1 });
      expect(sent.map((s) => s.prepared), JSON.stringify(query)).to.deep.equal([true]);
      expect(got, JSON.stringify(query)).to.deep.equal(names);
      expect(total, JSON.stringify(query)).to.equal(names.length);
    }
    // A later page of the same search: the total stays, the page is empty.
    const later = await searched({ query: [exact('name', 'Engineering')], pageSize: 10, pageNumber: 2 });
    expect(later.sent.map((s) => s.prepared)).to.deep.equal([true]);
    expect(later).to.deep.include({ total: 1, names: [] });
  });

  it('leaves searches whose plan depends on their values unnamed', async () => {
    for (const query of [
      [{ type: 'CONTAINS', fields: ['name'], value: 'engineering' }],
      [{ type: 'STARTS_WITH', fields: ['name'], value: 'Eng' }],
      [exact('description', 'Builders')],
      [{ type: 'TERMS', fields: ['name'], values: ['Sales', 'Engineering'] }],
      [{ type: 'EXACT', fields: ['name', 'description'], value: 'Builders' }],
    ]) {
      const { sent, total } = await searched({ query, pageSize: 10, pageNumber: 1 });
      expect(sent.map((s) => s.prepared), JSON.stringify(query)).to.deep.equal([false]);
      expect(total, JSON.stringify(query)).to.be.above(0);
    }
  });

  it('plans a search by name on the unique name index whatever the name (generic plan)', async function () {
    const { db } = testContext();
    if (db.client.config.client !== 'pg') {
      // eslint-disable-next-line no-console
      console.log('      skipped on the embedded database: the plan choice is checked on PostgreSQL (PGlite keeps one connection)');
      this.skip();
    }
    const { sent } = await searched({ query: [exact('name', 'Engineering')], pageSize: 10, pageNumber: 1 });
    expect(sent).to.have.length(1);
    let n = 0;
    const sql = sent[0].sql.replace(/\?/g, () => `$${++n}`);
    // A tenant with enough groups, and statistics that say so, for an index to be worth choosing.
    await db.raw(`INSERT INTO groups (tenant_id, name) SELECT ?, 'filler ' || i FROM generate_series(1, 5000) i`, [t.id]);
    await db.raw('ANALYZE groups');
    await db.transaction(async (trx) => {
      await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
      await trx.raw(`PREPARE group_search_probe AS ${sql}`);
      const literal = (v: unknown) => (typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
      const plan = (await trx.raw(`EXPLAIN EXECUTE group_search_probe(${sent[0].bindings.map(literal).join(', ')})`)).rows
        .map((r: Record<string, string>) => r['QUERY PLAN'])
        .join('\n');
      // Both the page and its total find the name through the unique index, never by a scan of the tenant.
      expect(plan.match(/Index (Only )?Scan using groups_name_unique/g), plan).to.have.length(2);
      expect(plan, plan).to.not.match(/Sort Key: lower\(g_\d\.name\)|Seq Scan on groups/);
    });
  });
});
