import { expect } from 'chai';
import { expectScimError, GROUP, LIST, scimTenant, SEARCH, USER, type ScimTenant } from './helpers';

/** RFC 7644 §3.4.3: POST /.search at the root (Users then Groups) and per resource type. */
describe('SCIM: POST /.search', () => {
  let t: ScimTenant;
  let users: string[];
  let groups: string[];

  before(async () => {
    t = await scimTenant();
    users = [];
    groups = [];
    for (const n of ['ann', 'ben', 'cat']) users.push((await t.scim.post('/Users', { schemas: [USER], userName: `${n}@example.com`, displayName: `Team ${n}` }).expect(201)).body.id);
    for (const n of ['Team red', 'Team blue']) groups.push((await t.scim.post('/Groups', { schemas: [GROUP], displayName: n, members: [{ value: users[0] }] }).expect(201)).body.id);
  });

  const search = (body: Record<string, unknown>) => t.scim.post('/.search', { schemas: [SEARCH], ...body });
  const ids = (res: { body: { Resources: { id: string }[] } }) => res.body.Resources.map((r) => r.id);

  it('returns users then groups with the combined totalResults', async () => {
    const res = await search({}).expect(200);
    expect(res.body.schemas).to.deep.equal([LIST]);
    expect(res.body).to.include({ totalResults: 5, itemsPerPage: 5, startIndex: 1 });
    expect(ids(res)).to.deep.equal([...users, ...groups]);
    expect(res.body.Resources.map((r: { meta: { resourceType: string } }) => r.meta.resourceType)).to.deep.equal(['User', 'User', 'User', 'Group', 'Group']);
  });

  it('pages across the boundary between users and groups', async () => {
    const pages: string[][] = [];
    for (let start = 1; start <= 5; start += 2) {
      const res = await search({ startIndex: start, count: 2 }).expect(200);
      expect(res.body.totalResults).to.equal(5);
      expect(res.body.startIndex).to.equal(start);
      pages.push(ids(res));
    }
    expect(pages).to.deep.equal([users.slice(0, 2), [users[2], groups[0]], [groups[1]]]);
    const totals = await search({ count: 0 }).expect(200);
    expect(totals.body).to.include({ totalResults: 5, itemsPerPage: 0 });
  });

  it('sorts each resource type that has the sortBy attribute; the other keeps its order, on every page', async () => {
    // userName: users descending, then the groups (which have none) in their default order.
    const pages: string[] = [];
    for (let start = 1; start <= 5; start += 2) pages.push(...ids(await search({ sortBy: 'userName', sortOrder: 'descending', startIndex: start, count: 2 }).expect(200)));
    expect(pages).to.deep.equal([...[...users].reverse(), ...groups]);
    // displayName: both have it, so both are sorted (Team blue before Team red).
    const both = await search({ sortBy: 'displayName', startIndex: 4, count: 2 }).expect(200);
    expect(ids(both)).to.deep.equal([groups[1], groups[0]]);
    expectScimError(await search({ sortBy: 'shoeSize' }), 400, 'invalidValue');
  });

  it('applies a filter to the resource types that know its attributes', async () => {
    const both = await search({ filter: 'displayName sw "team"' }).expect(200);
    expect(ids(both)).to.deep.equal([...users, ...groups]);
    const usersOnly = await search({ filter: 'userName eq "ben@example.com"' }).expect(200);
    expect(ids(usersOnly)).to.deep.equal([users[1]]);
    const groupsOnly = await search({ filter: `members[value eq "${users[0]}"]` }).expect(200);
    expect(ids(groupsOnly)).to.deep.equal(groups);
    const mixed = await search({ filter: 'displayName eq "team blue" or displayName eq "team cat"' }).expect(200);
    expect(ids(mixed)).to.deep.equal([users[2], groups[1]]);
  });

  it('answers 400 invalidFilter when no resource type knows the attribute, or the syntax is bad', async () => {
    expectScimError(await search({ filter: 'shoeSize gt 40' }), 400, 'invalidFilter');
    expectScimError(await search({ filter: 'displayName eq' }), 400, 'invalidFilter');
  });

  it('projects the resources and refuses cursors at the root', async () => {
    const res = await search({ attributes: ['displayName'], count: 10 }).expect(200);
    for (const r of res.body.Resources) expect(Object.keys(r).sort()).to.deep.equal(['displayName', 'id', 'schemas']);
    expectScimError(await search({ cursor: '' }), 400);
  });

  it('searches one resource type at /Users/.search and /Groups/.search, with sorting and paging', async () => {
    const u = await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: 'displayName co "team"', sortBy: 'userName', sortOrder: 'descending', startIndex: 2, count: 1 }).expect(200);
    expect(u.body).to.include({ totalResults: 3, itemsPerPage: 1, startIndex: 2 });
    expect(ids(u)).to.deep.equal([users[1]]);
    const g = await t.scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName eq "TEAM RED"', excludedAttributes: ['members'] }).expect(200);
    expect(ids(g)).to.deep.equal([groups[0]]);
    expect(g.body.Resources[0]).to.not.have.property('members');
    expectScimError(await t.scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'userName pr' }), 400, 'invalidFilter');
  });

  it('requires a SearchRequest body: "schemas" an array of strings naming the SearchRequest schema', async () => {
    for (const path of ['/.search', '/Users/.search', '/Groups/.search']) {
      for (const schemas of [undefined, SEARCH, [], [USER], [SEARCH, 7], [SEARCH, null], [{ urn: SEARCH }], null]) {
        const body = schemas === undefined ? { filter: 'displayName co "team"' } : { schemas, filter: 'displayName co "team"' };
        const res = await t.scim.post(path, body);
        expectScimError(res, 400, 'invalidSyntax');
        expect(res.body.detail).to.include('"schemas"');
      }
      // The URN is matched without regard to case, like attribute names; the key too.
      const ok = await t.scim.post(path, { SCHEMAS: [SEARCH.toUpperCase()], filter: 'displayName co "team"' }).expect(200);
      expect(ok.body.totalResults).to.equal(path === '/.search' ? 5 : path === '/Users/.search' ? 3 : 2);
    }
  });
});
