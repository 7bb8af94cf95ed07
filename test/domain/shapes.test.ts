import { expect } from 'chai';
import { knex, type Knex } from 'knex';
import request from 'supertest';
import { checkShapes, shapedStatement } from '../../src/db/shapes';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';

/** Knex's pg dialect compiles without a connection. */
const db = knex({ client: 'pg' });

type V = { tenantId: string; name: string; limit: number };

/** A builder that counts its calls. */
function counted(build: (v: V) => Knex.QueryBuilder | Knex.Raw) {
  const calls: V[] = [];
  return { calls, build: (v: V) => (calls.push(v), build(v)) };
}

const lookup = (v: V) => db('groups as g').select('g.id').where('g.tenant_id', v.tenantId).whereRaw('lower(g.name) = lower(?)', [v.name]).where('g.kind', 'official').limit(v.limit);

let keys = 0;
const freshKey = () => `test.shape.${++keys}`;

describe('statements built once per shape (src/db/shapes.ts)', () => {
  afterEach(() => checkShapes(true));

  it('builds a shape once, then puts each request’s values where the first build found them', () => {
    checkShapes(false);
    const key = freshKey();
    const b = counted(lookup);
    const values: V[] = [
      { tenantId: 't-1', name: 'Engineering', limit: 25 },
      { tenantId: 't-2', name: "O'Brien \\ \"q\" 😀", limit: 1 },
      { tenantId: 't-3', name: '', limit: 0 },
    ];
    const out = values.map((v) => shapedStatement(key, v, b.build));
    for (const [i, v] of values.entries()) {
      const { from, ...statement } = out[i];
      expect(statement).to.deep.equal(lookup(v).toSQL().toNative());
      // Which value each binding holds ('official' is the builder's own constant).
      expect(from).to.deep.equal(['tenantId', 'name', undefined, 'limit']);
    }
    // One build only, with markers, never with a request's values.
    expect(b.calls).to.have.length(1);
    expect(values).to.not.deep.include(b.calls[0]);
    // The constant the builder wrote itself stays where it was.
    expect(out[0].bindings).to.deep.equal(['t-1', 'Engineering', 'official', 25]);
  });

  it('builds every time a statement whose text holds a value, or that changes a value, or branches on one', () => {
    // Each of these is a shape of its own but for the one thing it does with a value.
    checkShapes(false);
    const cases: ((v: V) => Knex.QueryBuilder | Knex.Raw)[] = [
      // the value written into the text
      (v) => db.raw(`SELECT 1 FROM groups WHERE tenant_id = ? AND name = '${v.name.replace(/'/g, "''")}' LIMIT ?`, [v.tenantId, v.limit]),
      // the value changed on its way in
      (v) => db('groups').where('tenant_id', v.tenantId).where('name', 'like', `${v.name}%`).limit(v.limit),
      (v) => db('groups').where('tenant_id', v.tenantId).where('name', v.name.toLowerCase()).limit(v.limit),
      // a number computed with
      (v) => db('groups').where('tenant_id', v.tenantId).where('name', v.name).limit(v.limit + 1),
      // the value decides the text (a uuid that is no uuid matches nothing) and leaves no binding
      (v) => (/^[0-9a-f-]{36}$/.test(v.name) ? db('groups').where('id', v.name) : db('groups').whereRaw('FALSE')).where('tenant_id', v.tenantId).limit(v.limit),
    ];
    for (const build of cases) {
      const key = freshKey();
      const b = counted(build);
      const values: V[] = [
        { tenantId: 't', name: 'Sales', limit: 10 },
        { tenantId: 't', name: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', limit: 3 },
      ];
      for (const v of values) expect(shapedStatement(key, v, b.build)).to.deep.equal(build(v).toSQL().toNative());
      // The marker build, then one build per use with its values.
      expect(b.calls).to.have.length(1 + values.length);
    }
  });

  it('refuses a kept shape that differs from a fresh build while checking, so a key naming too little fails the tests', () => {
    checkShapes(true);
    const key = freshKey();
    // The text depends on the limit being 0 or not, which the key does not say.
    const build = (v: V) => {
      const q = db('groups').where('tenant_id', v.tenantId).where('name', v.name);
      return v.limit > 0 ? q.limit(v.limit) : q.whereRaw('FALSE').whereRaw('? > 0', [v.limit]);
    };
    expect(shapedStatement(key, { tenantId: 't', name: 'a', limit: 5 }, build).sql).to.match(/limit/);
    expect(() => shapedStatement(key, { tenantId: 't', name: 'b', limit: 0 }, build)).to.throw(/differs from a fresh build/);
  });

  it('answers userName eq and a Groups v2 search by name alike for every value through one kept shape each', async () => {
    // Checking is on: each request below is also built afresh and compared with its kept shape.
    const { app } = testContext();
    const t = await newTenant();
    const token = await t.token(['all']);
    const names = ['shape-a', "shape-o'brien", 'SHAPE-Mixed "q"'];
    for (const userName of names) await t.user({ userName });
    for (const name of names) await t.group({ name });
    // With and without the users' groups: two shapes.
    for (const extra of ['', '&excludedAttributes=groups']) {
      for (const userName of [...names, 'shape-nobody']) {
        const filter = encodeURIComponent(`userName eq ${JSON.stringify(userName.toUpperCase())}`);
        const res = await request(app).get(`/scim/v2/Users?filter=${filter}${extra}`).set(bearer(token)).expect(200);
        expect(res.body.Resources.map((u: { userName: string }) => u.userName)).to.deep.equal(names.includes(userName) ? [userName] : []);
      }
    }
    for (const name of [...names, 'shape-none']) {
      const res = await request(app)
        .post('/api/v2/groups/search')
        .set(bearer(token))
        .send({ pageSize: 25, pageNumber: 1, query: [{ type: 'EXACT', fields: ['name'], value: name }] })
        .expect(200);
      expect(res.body.results.map((g: { name: string }) => g.name)).to.deep.equal(names.includes(name) ? [name] : []);
      expect(res.body.total).to.equal(names.includes(name) ? 1 : 0);
    }
  });
});
