import { expect } from 'chai';
import { compileCriteria } from '../../src/db/criteria-sql';
import { MAX_CRITERIA_SUBQUERIES, type Criteria } from '../../src/domain/criteria';
import { InvalidInput } from '../../src/domain/errors';
import { wildcardsCriteria } from '../../src/domain/groups/wildcards';
import { ENTERPRISE_USER, userFields } from '../../src/domain/users/users.fields';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';

describe('criteria compiler (users)', () => {
  let t: TestTenant;
  const names = async (c: Criteria) => {
    const { sql, bindings } = compileCriteria(c, userFields);
    const rows = await testContext().db('users as u').select('u.user_name').where('u.tenant_id', t.id).whereRaw(sql, bindings as never[]).orderBy('u.user_name');
    return rows.map((r: { user_name: string }) => r.user_name);
  };

  before(async () => {
    t = await newTenant();
    await t.user({ userName: 'ada@acme.com', displayName: 'Ada', active: true, resource: { name: { familyName: 'Lovelace' }, emails: [{ value: 'ada@acme.com', type: 'work', primary: true }], [ENTERPRISE_USER]: { department: 'Sales EMEA' } } });
    await t.user({ userName: 'bob@other.org', displayName: 'Bob 50%', active: false, resource: { emails: [{ value: 'bob@acme.com', type: 'home' }] } });
    await t.user({ userName: 'cy_x@acme.com', active: true, resource: { title: 'Engineer' } });
  });

  it('compares case-insensitively, with and/or/not', async () => {
    expect(await names({ op: 'cmp', field: 'userName', cmp: 'eq', value: 'ADA@ACME.COM' })).to.deep.equal(['ada@acme.com']);
    expect(await names({ op: 'or', items: [{ op: 'cmp', field: 'userName', cmp: 'sw', value: 'bob' }, { op: 'cmp', field: 'active', cmp: 'eq', value: false }] })).to.deep.equal(['bob@other.org']);
    expect(await names({ op: 'not', item: { op: 'cmp', field: 'userName', cmp: 'ew', value: '@acme.com' } })).to.deep.equal(['bob@other.org']);
  });

  it('escapes LIKE wildcards in values', async () => {
    expect(await names({ op: 'cmp', field: 'displayName', cmp: 'co', value: '50%' })).to.deep.equal(['bob@other.org']);
    expect(await names({ op: 'cmp', field: 'userName', cmp: 'co', value: '_x' })).to.deep.equal(['cy_x@acme.com']);
  });

  it('matches multi-valued attributes with value filters and dotted paths', async () => {
    const work: Criteria = { op: 'any', field: 'emails', where: { op: 'and', items: [{ op: 'cmp', field: 'type', cmp: 'eq', value: 'work' }, { op: 'cmp', field: 'value', cmp: 'co', value: '@acme' }] } };
    expect(await names(work)).to.deep.equal(['ada@acme.com']);
    expect(await names({ op: 'cmp', field: 'emails.value', cmp: 'ew', value: '@ACME.com' })).to.deep.equal(['ada@acme.com', 'bob@other.org']);
    expect(await names({ op: 'pr', field: 'emails' })).to.deep.equal(['ada@acme.com', 'bob@other.org']);
    expect(await names({ op: 'cmp', field: 'emails.primary', cmp: 'eq', value: true })).to.deep.equal(['ada@acme.com']);
  });

  it('reads nested and extension attributes', async () => {
    expect(await names({ op: 'cmp', field: 'name.familyName', cmp: 'eq', value: 'lovelace' })).to.deep.equal(['ada@acme.com']);
    expect(await names({ op: 'cmp', field: `${ENTERPRISE_USER}:department`, cmp: 'sw', value: 'sales' })).to.deep.equal(['ada@acme.com']);
    expect(await names({ op: 'pr', field: 'title' })).to.deep.equal(['cy_x@acme.com']);
  });

  it('compiles wildcard rules', async () => {
    expect(await names(wildcardsCriteria(['*@acme.com']))).to.deep.equal(['ada@acme.com', 'cy_x@acme.com']);
    expect(await names(wildcardsCriteria(['email:bob@*', 'department:Sales*']))).to.deep.equal(['ada@acme.com', 'bob@other.org']);
    expect(await names(wildcardsCriteria([]))).to.deep.equal([]);
  });

  it('compares ids as uuids (their indexes apply), any case; text that is no uuid matches nothing (eq) or everything (ne)', async () => {
    const [ada] = await testContext().db('users').where({ tenant_id: t.id, user_name: 'ada@acme.com' }).pluck('id');
    const eq = compileCriteria({ op: 'cmp', field: 'id', cmp: 'eq', value: String(ada).toUpperCase() }, userFields);
    expect(eq.sql).to.match(/= \?::uuid$/).and.not.match(/::text/);
    expect(await names({ op: 'cmp', field: 'id', cmp: 'eq', value: String(ada).toUpperCase() })).to.deep.equal(['ada@acme.com']);
    expect(await names({ op: 'cmp', field: 'id', cmp: 'ne', value: ada })).to.deep.equal(['bob@other.org', 'cy_x@acme.com']);
    expect(await names({ op: 'cmp', field: 'id', cmp: 'eq', value: 'not-a-uuid' })).to.deep.equal([]);
    expect(await names({ op: 'cmp', field: 'id', cmp: 'ne', value: 'not-a-uuid' })).to.have.length(3);
    // Starts-with and the like still compare the text.
    expect(await names({ op: 'cmp', field: 'id', cmp: 'sw', value: String(ada).slice(0, 8) })).to.include('ada@acme.com');
  });

  it(`refuses more than ${MAX_CRITERIA_SUBQUERIES} terms on multi-valued attributes, counting a value filter once; stored rules are not limited`, async () => {
    const term = (i: number): Criteria => ({ op: 'cmp', field: 'emails', cmp: 'co', value: `zz${i}` });
    const many = (n: number): Criteria => ({ op: 'or', items: Array.from({ length: n }, (_, i) => term(i)) });
    expect(await names(many(MAX_CRITERIA_SUBQUERIES))).to.deep.equal([]);
    expect(() => compileCriteria(many(MAX_CRITERIA_SUBQUERIES + 1), userFields)).to.throw(InvalidInput, /multi-valued/);
    const inner: Criteria = { op: 'or', items: Array.from({ length: 200 }, (_, i) => ({ op: 'cmp', field: 'value', cmp: 'co', value: `zz${i}` }) as Criteria) };
    expect(await names({ op: 'any', field: 'emails', where: { op: 'or', items: [inner, { op: 'cmp', field: 'value', cmp: 'eq', value: 'ada@acme.com' }] } })).to.deep.equal(['ada@acme.com']);
    // A group's membership rules (up to 100, checked when written) compile without the limit.
    const rules = wildcardsCriteria(Array.from({ length: 40 }, (_, i) => `email:zz${i}*`).concat(['email:ada@*']));
    const compiled = compileCriteria(rules, userFields, { maxSubqueries: Infinity });
    const rows = await testContext().db('users as u').select('u.user_name').where('u.tenant_id', t.id).whereRaw(compiled.sql, compiled.bindings as never[]);
    expect(rows.map((r: { user_name: string }) => r.user_name)).to.deep.equal(['ada@acme.com']);
  });

  it('rejects unknown attributes, type mismatches and excessive depth', () => {
    expect(() => compileCriteria({ op: 'cmp', field: 'password', cmp: 'eq', value: 'x' }, userFields)).to.throw(InvalidInput);
    expect(() => compileCriteria({ op: 'cmp', field: 'active', cmp: 'gt', value: true }, userFields)).to.throw(InvalidInput);
    expect(() => compileCriteria({ op: 'cmp', field: 'meta.created', cmp: 'gt', value: 'yesterday' }, userFields)).to.throw(InvalidInput);
    let deep: Criteria = { op: 'true' };
    for (let i = 0; i < 200; i++) deep = { op: 'not', item: deep };
    expect(() => compileCriteria(deep, userFields)).to.throw(InvalidInput);
  });
});
