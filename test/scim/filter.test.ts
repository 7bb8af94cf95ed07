import { expect } from 'chai';
import { MAX_FILTER_DEPTH } from '../../src/http/scim/filter';
import { api } from '../helpers/http';
import { ENTERPRISE, expectScimError, filterIds, GROUP, patchOp, qs, scimTenant, SEARCH, USER, type ScimTenant } from './helpers';

/** RFC 7644 §3.4.2.2 filters over HTTP: operators, precedence, value paths, types, errors. */
describe('SCIM: filters', () => {
  let t: ScimTenant;
  let alice: string;
  let bob: string;
  let carol: string;
  let dave: string;
  const sorted = (...ids: string[]) => [...ids].sort();
  const users = (filter: string) => filterIds(t.scim, 'Users', filter).then((ids) => ids.sort());

  before(async () => {
    t = await scimTenant();
    const post = async (body: Record<string, unknown>) => (await t.scim.post('/Users', { schemas: [USER, ENTERPRISE], ...body }).expect(201)).body.id as string;
    alice = await post({
      userName: 'alice@example.com',
      displayName: 'Alice Liddell',
      externalId: 'EXT-A',
      title: 'Engineer',
      name: { givenName: 'Alice', familyName: 'Liddell' },
      emails: [
        { value: 'alice@work.example', type: 'work', primary: true },
        { value: 'alice@home.example', type: 'home' },
      ],
      [ENTERPRISE]: { department: 'R&D', employeeNumber: '100' },
    });
    bob = await post({
      userName: 'bob@example.com',
      displayName: 'Bob "the builder" Smith',
      externalId: 'ext-b',
      active: false,
      title: 'Manager',
      name: { givenName: 'Bob', familyName: 'Smith' },
      emails: [{ value: 'bob@work.example', type: 'work' }],
      [ENTERPRISE]: { department: 'Sales', manager: { value: alice } },
    });
    carol = await post({ userName: 'carol@example.org', displayName: 'Carol \\ Backslash', externalId: 'EXT-C' });
    dave = await post({ userName: 'dave+test@example.com', displayName: "dave o'brien", title: 'engineer' });
  });

  it('compares userName without regard to case, and externalId exactly', async () => {
    expect(await users('userName eq "ALICE@EXAMPLE.COM"')).to.deep.equal([alice]);
    expect(await users('externalId eq "ext-a"')).to.deep.equal([]);
    expect(await users('externalId eq "EXT-A"')).to.deep.equal([alice]);
    expect(await users('externalId eq "ext-b"')).to.deep.equal([bob]);
  });

  it('supports eq, ne, co, sw, ew and pr', async () => {
    expect(await users('title eq "ENGINEER"')).to.deep.equal(sorted(alice, dave));
    expect(await users('title ne "Engineer"')).to.deep.equal(sorted(bob, carol));
    expect(await users('userName co "example.com"')).to.deep.equal(sorted(alice, bob, dave));
    expect(await users('userName sw "CA"')).to.deep.equal([carol]);
    expect(await users('userName ew ".org"')).to.deep.equal([carol]);
    expect(await users('title pr')).to.deep.equal(sorted(alice, bob, dave));
    expect(await users('emails pr')).to.deep.equal(sorted(alice, bob));
    expect(await users('externalId pr')).to.deep.equal(sorted(alice, bob, carol));
  });

  it('treats LIKE wildcards in co/sw/ew values literally', async () => {
    expect(await users('userName co "+test"')).to.deep.equal([dave]);
    expect(await users('userName co "%"')).to.deep.equal([]);
    expect(await users('userName sw "_"')).to.deep.equal([]);
  });

  it('orders strings with gt, ge, lt and le', async () => {
    expect(await users('userName gt "bob@example.com"')).to.deep.equal(sorted(carol, dave));
    expect(await users('userName ge "bob@example.com"')).to.deep.equal(sorted(bob, carol, dave));
    expect(await users('userName lt "bob@example.com"')).to.deep.equal([alice]);
    expect(await users('userName le "BOB@example.com"')).to.deep.equal(sorted(alice, bob));
  });

  it('compares booleans', async () => {
    expect(await users('active eq false')).to.deep.equal([bob]);
    expect(await users('active eq true')).to.deep.equal(sorted(alice, carol, dave));
    expect(await users('active ne true')).to.deep.equal([bob]);
  });

  it('compares dates (meta.created, meta.lastModified)', async () => {
    expect(await users('meta.created lt "2000-01-01T00:00:00Z"')).to.deep.equal([]);
    expect(await users('meta.created gt "2000-01-01T00:00:00Z"')).to.deep.equal(sorted(alice, bob, carol, dave));
    // Times come from the database's clock (read back), never the test's.
    const all = await t.scim.get('/Users?attributes=meta.lastModified').expect(200);
    const mark = all.body.Resources.map((r: { meta: { lastModified: string } }) => r.meta.lastModified).sort().pop() as string;
    await new Promise((r) => setTimeout(r, 20));
    await t.scim.patch(`/Users/${carol}`, patchOp({ op: 'replace', path: 'nickName', value: 'Caz' })).expect(200);
    expect(await users(`meta.lastModified gt "${mark}"`)).to.deep.equal([carol]);
    expect(await users(`meta.lastModified gt "${mark}" and meta.lastModified lt "2999-01-01T00:00:00Z"`)).to.deep.equal([carol]);
    expect(await users(`meta.lastModified le "${mark}"`)).to.deep.equal(sorted(alice, bob, dave));
    expect(await users(`meta.lastModified ge "${mark}"`)).to.include(carol);
    expect(await users(`meta.created le "${mark}"`)).to.deep.equal(sorted(alice, bob, carol, dave));
  });

  it('compares a date read from a response equal to itself (millisecond precision)', async () => {
    const read = await t.scim.get(`/Users/${dave}`).expect(200);
    const at = read.body.meta.lastModified as string;
    expect(at).to.match(/\.\d{3}Z$/);
    expect(await users(`meta.lastModified eq "${at}"`)).to.deep.equal([dave]);
    expect(await users(`meta.lastModified le "${at}" and meta.lastModified ge "${at}"`)).to.deep.equal([dave]);
    expect(await users(`meta.lastModified gt "${at}"`)).to.not.include(dave);
    expect(await users(`meta.lastModified lt "${at}"`)).to.not.include(dave);
    expect(await users(`meta.lastModified ne "${at}"`)).to.not.include(dave);
    expect(await users(`meta.created eq "${read.body.meta.created}"`)).to.deep.equal([dave]);
    expectScimError(await t.scim.get(`/Users${qs({ filter: 'meta.created gt "+275760-09-13T00:00:00.000Z"' })}`), 400, 'invalidFilter');
  });

  it('binds "and" tighter than "or"', async () => {
    // c OR (a AND title pr) → carol, alice; (c OR a) AND title pr would be alice only.
    expect(await users('userName sw "c" or userName sw "a" and title pr')).to.deep.equal(sorted(alice, carol));
    expect(await users('userName sw "a" and title pr or userName sw "c"')).to.deep.equal(sorted(alice, carol));
    expect(await users('(userName sw "c" or userName sw "a") and title pr')).to.deep.equal([alice]);
  });

  it('negates with not (…) and nests parentheses', async () => {
    expect(await users('not (userName sw "a")')).to.deep.equal(sorted(bob, carol, dave));
    expect(await users('not (title pr)')).to.deep.equal([carol]);
    expect(await users('not (not (userName sw "a"))')).to.deep.equal([alice]);
    expect(await users('((((userName sw "d"))))')).to.deep.equal([dave]);
    expect(await users('not (title eq "engineer" or active eq false)')).to.deep.equal([carol]);
  });

  it('filters on value paths, sub-attributes and bare multi-valued attributes', async () => {
    expect(await users('emails[type eq "work" and value co "@work"]')).to.deep.equal(sorted(alice, bob));
    expect(await users('emails[type eq "home"]')).to.deep.equal([alice]);
    expect(await users('emails[type eq "work" and primary eq true]')).to.deep.equal([alice]);
    expect(await users('emails[not (type eq "work")]')).to.deep.equal([alice]);
    expect(await users('emails[type eq "home" or value sw "bob"]')).to.deep.equal(sorted(alice, bob));
    expect(await users('name.familyName eq "smith"')).to.deep.equal([bob]);
    expect(await users('emails.value ew "home.example"')).to.deep.equal([alice]);
    expect(await users('emails eq "BOB@work.example"')).to.deep.equal([bob]);
    expect(await users('emails[type eq "work"].value eq "bob@work.example"')).to.deep.equal([bob]);
  });

  it('filters on enterprise extension attributes by URN and on URN-qualified core attributes', async () => {
    expect(await users(`${ENTERPRISE}:department eq "r&d"`)).to.deep.equal([alice]);
    expect(await users(`${ENTERPRISE}:manager.value eq "${alice}"`)).to.deep.equal([bob]);
    // Entra ID's "query users by manager" names the complex attribute: its value.
    expect(await users(`${ENTERPRISE}:manager eq "${alice}"`)).to.deep.equal([bob]);
    expect(await users(`${ENTERPRISE}:employeeNumber pr`)).to.deep.equal([alice]);
    expect(await users(`${USER}:userName eq "carol@example.org"`)).to.deep.equal([carol]);
  });

  it('reads escaped quotes and backslashes in string values', async () => {
    expect(await users('displayName eq "Bob \\"the builder\\" Smith"')).to.deep.equal([bob]);
    expect(await users('displayName co "\\\\"')).to.deep.equal([carol]);
    expect(await users('displayName eq "dave o\'brien"')).to.deep.equal([dave]);
  });

  it('accepts attribute names, operators and logical words in any case', async () => {
    expect(await users('USERNAME EQ "carol@example.org"')).to.deep.equal([carol]);
    expect(await users('UserName Sw "a" AND Title Pr OR userName SW "c"')).to.deep.equal(sorted(alice, carol));
    expect(await users('NOT (EMAILS[TYPE EQ "work"])')).to.deep.equal(sorted(carol, dave));
    expect(await users('Meta.Created GT "2000-01-01T00:00:00Z" and ACTIVE eq FALSE')).to.deep.equal([bob]);
  });

  it("accepts Entra ID's unquoted values", async () => {
    expect(await users('externalId eq EXT-C')).to.deep.equal([carol]);
    expect(await users(`id eq ${dave}`)).to.deep.equal([dave]);
  });

  it('filters on id and answers an empty list for an unknown or malformed id', async () => {
    expect(await users(`id eq "${bob}"`)).to.deep.equal([bob]);
    expect(await users('id eq "00000000-0000-4000-8000-000000000000"')).to.deep.equal([]);
    expect(await users('id eq "not-a-uuid"')).to.deep.equal([]);
  });

  it('decodes "+" in the query string as a space', async () => {
    const res = await t.scim.get('/Users?filter=userName+eq+%22carol%40example.org%22').expect(200);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([carol]);
    const words = await t.scim.get('/Users?filter=displayName+eq+%22Alice+Liddell%22').expect(200);
    expect(words.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([alice]);
  });

  it('answers 200 with an empty ListResponse when nothing matches', async () => {
    const res = await t.scim.get(`/Users${qs({ filter: 'userName eq "nobody@example.com"' })}`).expect(200);
    expect(res.body).to.deep.equal({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });
  });

  it('answers 400 invalidFilter for unknown attributes, never the whole list', async () => {
    for (const filter of ['favouriteColour eq "x"', 'emails.colour eq "x"', 'name eq "x"', 'urn:example:ext:1.0:User:thing eq "x"', `${ENTERPRISE}:shoeSize gt 4`, 'userName eq "a" or nope pr']) {
      expectScimError(await t.scim.get(`/Users${qs({ filter })}`), 400, 'invalidFilter');
    }
  });

  it('answers 400 invalidFilter for bad syntax', async () => {
    for (const filter of [
      'userName eq',
      'userName zz "x"',
      '(userName eq "x"',
      'userName eq "x")',
      '"x" eq userName',
      'userName eq "unterminated',
      'userName eq "x" and',
      'not userName eq "x"',
      'userName eq "x" userName eq "y"',
      'emails[type eq "work"',
      'emails[emails[type eq "x"]]',
      'userName eq "bad \\q escape"',
      '[]',
      'and',
    ]) {
      expectScimError(await t.scim.get(`/Users${qs({ filter })}`), 400, 'invalidFilter');
    }
  });

  it('answers 400 invalidFilter when a value does not fit the attribute type', async () => {
    for (const filter of ['active eq "yes"', 'active gt true', 'meta.created gt "not a date"', 'meta.lastModified co "2020"', 'meta.created eq 5']) {
      expectScimError(await t.scim.get(`/Users${qs({ filter })}`), 400, 'invalidFilter');
    }
  });

  it(`answers 400 invalidFilter for filters nested deeper than ${MAX_FILTER_DEPTH} levels`, async () => {
    const ok = `${'('.repeat(MAX_FILTER_DEPTH - 1)}userName eq "carol@example.org"${')'.repeat(MAX_FILTER_DEPTH - 1)}`;
    expect(await users(ok)).to.deep.equal([carol]);
    const deep = `${'('.repeat(MAX_FILTER_DEPTH + 1)}userName eq "x"${')'.repeat(MAX_FILTER_DEPTH + 1)}`;
    expectScimError(await t.scim.get(`/Users${qs({ filter: deep })}`), 400, 'invalidFilter');
    const notDeep = `${'not ('.repeat(MAX_FILTER_DEPTH + 1)}userName eq "x"${')'.repeat(MAX_FILTER_DEPTH + 1)}`;
    expectScimError(await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: notDeep }), 400, 'invalidFilter');
  });

  it('refuses over-long filters with a SCIM 400, before any work', async () => {
    const long = Array.from({ length: 1200 }, (_, i) => `userName eq "u${i}@example.com"`).join(' or ');
    const res = await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: long });
    expectScimError(res, 400, 'invalidFilter');
    // Short enough, but more terms than the compiler takes.
    const many = Array.from({ length: 1500 }, () => 'id pr').join(' or ');
    expect(many.length).to.be.below(16_384);
    expectScimError(await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: many }), 400, 'invalidFilter');
  });

  it('filters groups by displayName (case-insensitive), externalId (exact) and members', async () => {
    const g1 = (await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Engineers', externalId: 'G-1', members: [{ value: alice }, { value: dave }] }).expect(201)).body.id;
    const g2 = (await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'Managers', externalId: 'g-2', members: [{ value: bob }] }).expect(201)).body.id;
    const groups = (filter: string) => filterIds(t.scim, 'Groups', filter).then((ids) => ids.sort());
    expect(await groups('displayName eq "engineers"')).to.deep.equal([g1]);
    expect(await groups('displayName sw "MAN"')).to.deep.equal([g2]);
    expect(await groups('externalId eq "g-1"')).to.deep.equal([]);
    expect(await groups('externalId eq "G-1"')).to.deep.equal([g1]);
    expect(await groups(`members[value eq "${bob}"]`)).to.deep.equal([g2]);
    expect(await groups(`members.value eq "${dave}"`)).to.deep.equal([g1]);
    expect(await groups(`members eq "${alice}"`)).to.deep.equal([g1]);
    expect(await groups('members[type eq "Group"]')).to.deep.equal([]);
    expect(await groups(`id eq "${g1}" and members[value eq "${alice}"]`)).to.deep.equal([g1]);
    expect(await groups(`${GROUP}:displayName eq "Managers"`)).to.deep.equal([g2]);
    expectScimError(await t.scim.get(`/Groups${qs({ filter: 'userName eq "x"' })}`), 400, 'invalidFilter');
    // Users see their groups through the readOnly "groups" attribute.
    expect(await users(`groups[value eq "${g1}"]`)).to.deep.equal(sorted(alice, dave));
    expect(await users(`groups.value eq "${g2}"`)).to.deep.equal([bob]);
  });

  it('filters in POST /.search bodies the same way', async () => {
    const res = await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName sw "c" or userName sw "a" and title pr', startIndex: 1, count: 10 }).expect(200);
    expect(res.body.Resources.map((r: { id: string }) => r.id).sort()).to.deep.equal(sorted(alice, carol));
    expectScimError(await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName eq' }), 400, 'invalidFilter');
  });

  it('sends filters through the SCIM media type with application/json too', async () => {
    const res = await api()
      .post('/scim/v2/Users/.search')
      .set('Authorization', `Bearer ${t.token}`)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ schemas: [SEARCH], filter: 'externalId eq "EXT-C"' }))
      .expect(200);
    expect(res.headers['content-type']).to.equal('application/scim+json');
    expect(res.body.Resources.map((r: { id: string }) => r.id)).to.deep.equal([carol]);
  });
});
