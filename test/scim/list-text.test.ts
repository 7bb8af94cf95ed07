import { expect } from 'chai';
import pino from 'pino';
import supertest from 'supertest';
import { buildApp } from '../../src/app';
import { testContext } from '../helpers/context';
import { expectSpecResponse } from '../helpers/spec-response';
import { createGroup, createUser, ENTERPRISE, LIST, patchOp, qs, scimTenant, SEARCH, type ScimTenant } from './helpers';

type Doc = { id: string } & Record<string, unknown>;

/**
 * User lists whose documents are whole are written as text (presentUserText): every document must
 * be the one a GET of the user answers, whatever its profile holds.
 */
describe('SCIM: user lists written as text', () => {
  let t: ScimTenant;
  let ids: string[];

  before(async () => {
    t = await scimTenant();
    const made = [
      await createUser(t.scim, 'plain@example.com'),
      await createUser(t.scim, 'full@example.com', {
        externalId: 'ext "1" \\ ü',
        displayName: 'Ünïcödé "quoted" \\ back\tslash\u0001 😀',
        active: false,
        name: { givenName: 'Zoë', familyName: 'O\'Brien "Jr"', formatted: 'line\nbreak' },
        emails: [
          { value: 'full@example.com', type: 'work', primary: true },
          { value: 'other@example.com', type: 'home' },
        ],
        phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
        [ENTERPRISE]: { employeeNumber: '42', department: 'R&D </script>', manager: { value: 'boss-id' } },
      }),
      await createUser(t.scim, 'enterprise-only@example.com', { [ENTERPRISE]: { costCenter: 'cc' } }),
      await createUser(t.scim, 'grouped@example.com', { displayName: 'Grouped' }),
    ];
    ids = made.map((u) => u.id);
    // Groups whose names need escaping, and more than one (name order).
    await createGroup(t.scim, 'Zeta "quoted" \\ group', [ids[1], ids[3]]);
    await createGroup(t.scim, 'alpha ü', [ids[3]]);
    await createGroup(t.scim, 'Beta', [ids[3]]);
    // A changed user: lastModified and version differ from created and 1.
    await t.scim.patch(`/Users/${ids[3]}`, patchOp({ op: 'replace', path: 'title', value: 'Boss' })).expect(200);
  });

  const byId = (docs: Doc[]) => new Map(docs.map((d) => [d.id, d]));
  // One Host for every request: locations and $refs are built from it.
  const HOST = 'roster.test:8443';
  const get = (path: string) => t.scim.get(path).set('Host', HOST);

  it('writes each user of a page as a GET of it answers, groups (in name order) and meta included', async () => {
    const list = await get('/Users?count=10').expect(200);
    expect(list.headers['content-type']).to.equal('application/scim+json');
    expect(list.body).to.include({ totalResults: 4, itemsPerPage: 4, startIndex: 1 });
    expect(list.body.schemas).to.deep.equal([LIST]);
    expect(list.body.Resources.map((d: Doc) => d.id)).to.deep.equal(ids);
    for (const doc of list.body.Resources as Doc[]) {
      const one = await get(`/Users/${doc.id}`).expect(200);
      expect(doc).to.deep.equal(one.body);
    }
    const grouped = (list.body.Resources as Doc[])[3] as Doc & { groups: { display: string }[]; meta: { version: string } };
    expect(grouped.groups.map((g) => g.display)).to.deep.equal(['Beta', 'Zeta "quoted" \\ group', 'alpha ü']);
    expect(grouped.meta.version).to.equal('W/"2"');
    expect((list.body.Resources as Doc[])[0]).to.not.have.property('groups');
    expect((list.body.Resources as Doc[])[2].schemas).to.deep.equal(['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE]);
  });

  it('writes created and lastModified with milliseconds whatever the stored fraction, as a GET does', async () => {
    // PostgreSQL writes a timestamp's fraction with as many digits as it needs (none when zero).
    const db = testContext().deps.db;
    const set = (id: string, created: string, updated: string) => db('users').where({ tenant_id: t.id, id }).update({ created_at: created, updated_at: updated });
    await set(ids[0], '2026-01-02 03:04:05+00', '2026-01-02 03:04:05.1+00');
    await set(ids[2], '2026-01-02 03:04:05.123456+00', '1999-12-31 23:59:59.98+00');
    const list = await get('/Users?count=10').expect(200);
    const docs = byId(list.body.Resources) as Map<string, Doc & { meta: { created: string; lastModified: string } }>;
    expect(docs.get(ids[0])!.meta).to.include({ created: '2026-01-02T03:04:05.000Z', lastModified: '2026-01-02T03:04:05.100Z' });
    expect(docs.get(ids[2])!.meta).to.include({ created: '2026-01-02T03:04:05.123Z', lastModified: '1999-12-31T23:59:59.980Z' });
    for (const id of [ids[0], ids[2]]) expect(docs.get(id)).to.deep.equal((await get(`/Users/${id}`).expect(200)).body);
    const found = await get(`/Users${qs({ filter: 'userName eq "plain@example.com"' })}`).expect(200);
    expect(found.body.Resources[0].meta).to.include({ created: '2026-01-02T03:04:05.000Z', lastModified: '2026-01-02T03:04:05.100Z' });
  });

  it('leaves groups out with excludedAttributes=groups, as a GET with it does', async () => {
    const list = await get('/Users?excludedAttributes=groups').expect(200);
    for (const doc of list.body.Resources as Doc[]) {
      const one = await get(`/Users/${doc.id}?excludedAttributes=groups`).expect(200);
      expect(doc).to.deep.equal(one.body);
      expect(doc).to.not.have.property('groups');
    }
  });

  it('writes filtered, sorted, cursor and POST .search pages the same way', async () => {
    const all = byId((await get('/Users').expect(200)).body.Resources);
    const filtered = await get(`/Users${qs({ filter: 'userName eq "full@example.com"' })}`).expect(200);
    expect(filtered.body.Resources).to.deep.equal([all.get(ids[1])]);
    const sorted = await get(`/Users${qs({ sortBy: 'userName', sortOrder: 'descending' })}`).expect(200);
    expect(sorted.body.Resources.map((d: Doc) => d.id)).to.deep.equal([ids[0], ids[3], ids[1], ids[2]]);
    expect(sorted.body.Resources).to.deep.equal(sorted.body.Resources.map((d: Doc) => all.get(d.id)));
    // At an offset, the page's groups are read for its rows only (positions first), in the page's order.
    const deep = await get(`/Users${qs({ sortBy: 'userName', sortOrder: 'descending', startIndex: 2, count: 2 })}`).expect(200);
    expect(deep.body.Resources).to.deep.equal([all.get(ids[3]), all.get(ids[1])]);
    const objects = await get(`/Users${qs({ sortBy: 'userName', sortOrder: 'descending', startIndex: 2, count: 2, attributes: 'userName,groups' })}`).expect(200);
    expect(objects.body.Resources.map((d: Doc) => d.id)).to.deep.equal([ids[3], ids[1]]);
    expect((objects.body.Resources[0] as { groups: unknown[] }).groups).to.deep.equal((all.get(ids[3]) as unknown as { groups: unknown[] }).groups);
    const first = await get('/Users?count=2&cursor=').expect(200);
    expect(first.body.Resources).to.deep.equal([all.get(ids[0]), all.get(ids[1])]);
    const second = await get(`/Users${qs({ count: 2, cursor: first.body.nextCursor })}`).expect(200);
    expect(second.body.Resources).to.deep.equal([all.get(ids[2]), all.get(ids[3])]);
    expect(second.body.previousCursor).to.be.a('string');
    const back = await get(`/Users${qs({ count: 2, cursor: second.body.previousCursor })}`).expect(200);
    expect(back.body.Resources).to.deep.equal(first.body.Resources);
    const searched = await t.scim.post('/Users/.search', { schemas: [SEARCH], filter: 'displayName pr', startIndex: 2, count: 1 }).set('Host', HOST).expect(200);
    expect(searched.body).to.include({ totalResults: 2, itemsPerPage: 1, startIndex: 2 });
    expect(searched.body.Resources).to.deep.equal([all.get(ids[3])]);
    const empty = await get('/Users?startIndex=50').expect(200);
    expect(empty.body).to.deep.equal({ schemas: [LIST], totalResults: 4, itemsPerPage: 0, startIndex: 50, Resources: [] });
  });

  describe('where responses are not checked against the spec (production)', () => {
    let app: ReturnType<typeof buildApp>;

    before(() => {
      const { deps } = testContext();
      app = buildApp({ ...deps, config: { ...deps.config, validateResponses: false } }, pino({ level: 'silent' }));
    });

    it('sends the text itself: the same documents, the SCIM media type, valid against the spec', async () => {
      const raw = (path: string) =>
        supertest(app).get(`/scim/v2${path}`).set('Host', HOST).set('Authorization', `Bearer ${t.token}`).set('Accept', 'application/scim+json').buffer(true).parse((res, done) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done(null, text));
        });
      const res = await raw('/Users?count=10').expect(200);
      expect(res.headers['content-type']).to.equal('application/scim+json');
      const text = res.body as string;
      expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(text));
      // The profile is copied as PostgreSQL wrote it (its spacing), not serialised again.
      expect(text).to.match(/"name": \{"\w+": /);
      expect(text).to.contain('"location":"http://roster.test:8443/scim/v2/Users/');
      const parsed = JSON.parse(text);
      const checked = (await get('/Users?count=10').expect(200)).body;
      expect(parsed).to.deep.equal(checked);
      await expectSpecResponse('get', '/scim/v2/Users', 200, parsed);
    });
  });
});
