import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { sealQ64 } from '../../src/domain/groups/q64';
import { findSigningSecret } from '../../src/domain/groups/signing-secrets.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

type Body = Record<string, unknown>;
const names = (body: { results: { name: string }[] }) => body.results.map((g) => g.name);
const q64Of = (link: string) => new URL(link, 'http://x').searchParams.get('q64')!;

describe('Groups v2: search (POST/GET /api/v2/groups/search)', () => {
  let t: TestTenant;
  let token: string;

  const search = (body: Body, expected = 200) => api().post('/api/v2/groups/search').set(bearer(token)).send(body).expect(expected);
  const found = async (query: unknown, extra: Body = {}) => names((await search({ query, ...extra })).body).sort();

  beforeEach(async () => {
    t = await newTenant();
    token = await t.token([]);
  });

  describe('criteria', () => {
    let ownerId: string;

    beforeEach(async () => {
      const owner = await t.user();
      await t.group({ name: 'Engineering', description: 'Builders', type: 'official', visibility: 'public' });
      await t.group({ name: 'Engineering Managers', description: 'Lead builders', type: 'official', visibility: 'members', ownerIds: [owner.id] });
      await t.group({ name: 'Sales', type: 'social', visibility: 'public', rulesVisible: true });
      await t.group({ name: 'Support' });
      ownerId = owner.id;
    });

    it('EXACT, TERM and TERMS match whole values, case-insensitively, over any of the fields', async () => {
      expect(await found([{ type: 'EXACT', fields: ['name'], value: 'engineering' }])).to.deep.equal(['Engineering']);
      expect(await found([{ type: 'TERM', fields: ['type'], value: 'social' }])).to.deep.equal(['Sales']);
      expect(await found([{ type: 'TERMS', fields: ['name', 'description'], values: ['Sales', 'Builders'] }])).to.deep.equal(['Engineering', 'Sales']);
    });

    it('CONTAINS and STARTS_WITH', async () => {
      expect(await found([{ type: 'CONTAINS', fields: ['name'], value: 'manag' }])).to.deep.equal(['Engineering Managers']);
      expect(await found([{ type: 'STARTS_WITH', fields: ['name'], values: ['S'] }])).to.deep.equal(['Sales', 'Support']);
      expect(await found([{ type: 'CONTAINS', fields: ['name'], value: '%' }])).to.deep.equal([]);
    });

    it('REQUIRED_FIELDS, MATCH_ALL, booleans and numbers', async () => {
      expect(await found([{ type: 'REQUIRED_FIELDS', fields: ['description'] }])).to.deep.equal(['Engineering', 'Engineering Managers']);
      expect(await found([{ type: 'MATCH_ALL' }])).to.have.length(4);
      expect(await found([{ type: 'EXACT', fields: ['rulesVisible'], value: 'true' }])).to.deep.equal(['Sales']);
      expect(await found([{ type: 'GREATER_THAN', fields: ['memberCount'], value: '-1' }])).to.have.length(4);
      expect(await found([{ type: 'LESS_THAN', fields: ['memberCount'], value: '0' }])).to.deep.equal([]);
      expect(await found([{ type: 'RANGE', fields: ['name'], startValue: 'f', endValue: 't' }])).to.deep.equal(['Sales', 'Support']);
    });

    it('DATE_RANGE over dateModified', async () => {
      const past = new Date(Date.now() - 3600_000).toISOString();
      const future = new Date(Date.now() + 3600_000).toISOString();
      expect(await found([{ type: 'DATE_RANGE', fields: ['dateModified'], startValue: past, endValue: future }])).to.have.length(4);
      expect(await found([{ type: 'DATE_RANGE', fields: ['dateModified'], startValue: future }])).to.deep.equal([]);
    });

    it('owners by id', async () => {
      expect(await found([{ type: 'EXACT', fields: ['ownerIds'], value: ownerId }])).to.deep.equal(['Engineering Managers']);
    });

    it('operators: AND items all, NOT items none, OR items at least one', async () => {
      expect(
        await found([
          { type: 'STARTS_WITH', fields: ['name'], value: 'e' },
          { type: 'CONTAINS', fields: ['name'], value: 'managers', operator: 'NOT' },
        ]),
      ).to.deep.equal(['Engineering']);
      expect(
        await found([
          { type: 'EXACT', fields: ['name'], value: 'Sales', operator: 'OR' },
          { type: 'EXACT', fields: ['name'], value: 'Support', operator: 'OR' },
        ]),
      ).to.deep.equal(['Sales', 'Support']);
      expect(
        await found([
          { type: 'EXACT', fields: ['visibility'], value: 'public' },
          { type: 'EXACT', fields: ['name'], value: 'Sales', operator: 'OR' },
          { type: 'EXACT', fields: ['name'], value: 'Support', operator: 'OR' },
        ]),
      ).to.deep.equal(['Sales', 'Support']);
    });

    it('nested groups, as arrays (the SDK) or as single objects (the document)', async () => {
      const asArrays = [
        { type: 'EXACT', fields: ['type'], value: 'official' },
        {
          operator: 'AND',
          group: [
            { type: 'CONTAINS', fields: ['name'], value: 'managers', operator: 'OR' },
            { type: 'EXACT', fields: ['name'], value: 'support', operator: 'OR' },
          ],
        },
      ];
      expect(await found(asArrays)).to.deep.equal(['Engineering Managers', 'Support']);
      const asObjects = { type: 'MATCH_ALL', group: { operator: 'NOT', type: 'STARTS_WITH', fields: ['name'], value: 'eng', group: { type: 'EXACT', fields: ['type'], value: 'official' } } };
      expect(await found(asObjects)).to.deep.equal(['Sales', 'Support']);
    });

    it('QUERY_STRING: words, phrases, wildcards, field:term, +, - and AND', async () => {
      expect(await found([{ type: 'QUERY_STRING', value: 'sales support' }])).to.deep.equal(['Sales', 'Support']);
      expect(await found([{ type: 'QUERY_STRING', value: 'eng* -managers' }])).to.deep.equal(['Engineering']);
      expect(await found([{ type: 'QUERY_STRING', value: '"lead builders"' }])).to.deep.equal(['Engineering Managers']);
      expect(await found([{ type: 'QUERY_STRING', value: 'builders AND name:managers' }])).to.deep.equal(['Engineering Managers']);
      expect(await found([{ type: 'QUERY_STRING', fields: ['name'], value: '+s* NOT support' }])).to.deep.equal(['Sales']);
    });

    it('refuses bad criteria with 400 in the v2 shape', async () => {
      const deep = (n: number): Body => (n === 0 ? { type: 'MATCH_ALL' } : { group: [deep(n - 1)] });
      const bad: unknown[] = [
        [{ type: 'EXACT', fields: ['salary'], value: '1' }],
        [{ type: 'EXACT', fields: ['name'] }],
        [{ type: 'CONTAINS', value: 'x' }],
        [{ type: 'FUZZY', fields: ['name'], value: 'x' }],
        [{ type: 'GREATER_THAN', fields: ['memberCount'], value: 'many' }],
        [{ type: 'EXACT', fields: ['rulesVisible'], value: 'maybe' }],
        [{ type: 'CONTAINS', fields: ['memberCount'], value: '1' }],
        [{ type: 'DATE_RANGE', fields: ['name'], startValue: '2020-01-01' }],
        [{ type: 'DATE_RANGE', fields: ['dateModified'], startValue: 'yesterday' }],
        [{ type: 'RANGE', fields: ['name'] }],
        [{ type: 'EXACT', fields: ['name'], value: 'x', operator: 'XOR' }],
        [{ operator: 'AND' }],
        [{ type: 'QUERY_STRING', value: '(a OR b)' }],
        [{ type: 'QUERY_STRING', value: '   ' }],
        [deep(11)],
        Array.from({ length: 50 }, () => ({ group: Array.from({ length: 5 }, () => ({ type: 'MATCH_ALL' })) })),
      ];
      for (const query of bad) {
        const res = await search({ query }, 400);
        expect(res.body, JSON.stringify(query).slice(0, 100)).to.include({ status: 400, code: 'bad.request' });
      }
      await search({ query: [deep(10)] }, 200);
      for (const body of [{ sortBy: 'ownerIds' }, { sortBy: 'salary' }, { sort: [{ sortBy: 'name', sortOrder: 'UP' }] }, { pageSize: 101 }, { pageNumber: 0 }]) {
        await search(body, 400);
      }
    });

    it('never lets a hostile nesting reach a 500', async () => {
      const raw = `{"query":${'{"group":'.repeat(20_000)}{"type":"MATCH_ALL"}${'}'.repeat(20_000)}}`;
      const res = await api().post('/api/v2/groups/search').set(bearer(token)).set('Content-Type', 'application/json').send(raw).expect(400);
      // Refused before it is parsed into criteria: the body itself nests deeper than any request may.
      expect(res.body.message).to.match(/nests arrays and objects deeper than 64 levels/);
    });

    it('sorts by sortBy/sortOrder, by a sort list or a sort object, default name ascending', async () => {
      expect(names((await search({ query: [{ type: 'MATCH_ALL' }] })).body)).to.deep.equal(['Engineering', 'Engineering Managers', 'Sales', 'Support']);
      expect(names((await search({ sortOrder: 'DESC' })).body)).to.deep.equal(['Support', 'Sales', 'Engineering Managers', 'Engineering']);
      expect(names((await search({ sortBy: 'name', sortOrder: 'descending' })).body)[0]).to.equal('Support');
      const byTypeThenName = await search({ sort: [{ sortBy: 'type', sortOrder: 'DESC' }, { sortBy: 'name', sortOrder: 'ASC' }] });
      expect(names(byTypeThenName.body)).to.deep.equal(['Sales', 'Engineering', 'Engineering Managers', 'Support']);
      expect(names((await search({ sort: { sortBy: 'description', sortOrder: 'ASC' } })).body).slice(0, 2)).to.deep.equal(['Engineering', 'Engineering Managers']);
      expect(names((await search({ sortOrder: 'SCORE' })).body)[0]).to.equal('Engineering');
    });
  });

  describe('pages and q64', () => {
    beforeEach(async () => {
      for (const name of ['g1', 'g2', 'g3', 'g4', 'g5']) await t.group({ name });
    });

    it('answers the GroupsSearchResponse with signed page links that GET returns', async () => {
      const p1 = await search({ pageSize: 2, query: [{ type: 'STARTS_WITH', fields: ['name'], value: 'g' }] });
      expect(p1.body).to.include({ total: 5, pageCount: 3, pageSize: 2, pageNumber: 1 });
      expect(p1.body.types).to.deep.equal(['groups']);
      expect(names(p1.body)).to.deep.equal(['g1', 'g2']);
      expect(p1.body).to.not.have.property('previousPage');
      expect(p1.body.currentPage).to.match(/^\/api\/v2\/groups\/search\?q64=(?:p\.)?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

      const p2 = await api().get(p1.body.nextPage).set(bearer(token)).expect(200);
      expect(p2.body).to.include({ pageNumber: 2, total: 5 });
      expect(names(p2.body)).to.deep.equal(['g3', 'g4']);
      const p3 = await api().get(p2.body.nextPage).set(bearer(token)).expect(200);
      expect(names(p3.body)).to.deep.equal(['g5']);
      expect(p3.body).to.not.have.property('nextPage');
      const back = await api().get(p3.body.previousPage).set(bearer(token)).expect(200);
      expect(names(back.body)).to.deep.equal(['g3', 'g4']);
      const again = await api().get(`/api/v2/groups/search?q64=${q64Of(p1.body.currentPage)}&expand=x`).set(bearer(token)).expect(200);
      expect(names(again.body)).to.deep.equal(['g1', 'g2']);
    });

    it('a page link reflects the data when it is followed', async () => {
      const p1 = await search({ pageSize: 2 });
      await t.group({ name: 'a0' });
      const p2 = await api().get(p1.body.nextPage).set(bearer(token)).expect(200);
      expect(p2.body.total).to.equal(6);
      expect(names(p2.body)).to.deep.equal(['g2', 'g3']);
    });

    it('refuses an altered, a foreign-tenant, an expired or a malformed q64 with 400', async () => {
      const p1 = await search({ pageSize: 2 });
      const q64 = q64Of(p1.body.nextPage);
      const cut = q64.lastIndexOf('.');
      const [body, sig] = [q64.slice(0, cut), q64.slice(cut + 1)];
      const flip = (s: string) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
      const other = await newTenant();
      const foreignToken = await other.token([]);
      const secret = (await findSigningSecret(testContext().db, 'groups_v2_q64'))!;
      const expired = sealQ64(secret, t.id, { pageSize: 2, pageNumber: 2 }, { now: Math.floor(Date.now() / 1000) - 7200 });
      const cases: [string, string][] = [
        [token, `${flip(body)}.${sig}`],
        [token, `${body}.${flip(sig)}`],
        [token, 'not-a-q64'],
        [token, `${body}`],
        [token, sealQ64(Buffer.from('another secret'), t.id, { pageNumber: 1 })],
        [foreignToken, q64],
        [token, expired],
      ];
      for (const [who, value] of cases) {
        const res = await api().get(`/api/v2/groups/search?q64=${encodeURIComponent(value)}`).set(bearer(who)).expect(400);
        expect(res.body).to.include({ status: 400, code: 'bad.request' });
        expect(res.body.message).to.match(/q64/);
      }
      expect((await api().get(`/api/v2/groups/search?q64=${expired}`).set(bearer(token))).body.message).to.match(/expired/);
      await api().get(`/api/v2/groups/search?q64=${q64}`).expect(401);
    });

    it('seals a small search as it is and a large one compressed; the links of both page', async () => {
      const small = q64Of((await search({ pageSize: 2 })).body.nextPage);
      expect(small.split('.')).to.have.length(3);
      expect(small.startsWith('p.')).to.equal(true);
      // Forty names of 30 characters: ~1,500 bytes of envelope, past the size from which it is compressed.
      const values = ['g1', 'g2', 'g3', ...Array.from({ length: 40 }, (_v, i) => `absent-group-${String(i).padStart(17, '0')}`)];
      const first = await search({ pageSize: 2, query: [{ type: 'TERMS', fields: ['name'], values }] });
      const large = q64Of(first.body.nextPage);
      expect(large.split('.')).to.have.length(2);
      expect(large.length).to.be.lessThan(JSON.stringify(values).length);
      const second = await api().get(`/api/v2/groups/search?q64=${large}`).set(bearer(token)).expect(200);
      expect(second.body).to.include({ total: 3, pageNumber: 2 });
      expect(names(second.body)).to.deep.equal(['g3']);
      const plainNext = await api().get(`/api/v2/groups/search?q64=${small}`).set(bearer(token)).expect(200);
      expect(plainNext.body.pageNumber).to.equal(2);
      // Each form is signed as what it is: a plain token read as a compressed one is refused.
      await api().get(`/api/v2/groups/search?q64=${small.slice(2)}`).set(bearer(token)).expect(400);
    });

    it('a q64 made with a still-valid secret and tenant works from any instance (no server state)', async () => {
      const secret = (await findSigningSecret(testContext().db, 'groups_v2_q64'))!;
      const q64 = sealQ64(secret, t.id, { pageSize: 3, pageNumber: 2, sortOrder: 'DESC' });
      const res = await api().get(`/api/v2/groups/search?q64=${q64}`).set(bearer(token)).expect(200);
      expect(names(res.body)).to.deep.equal(['g2', 'g1']);
    });

    it('refuses a search too large to carry in a page link', async () => {
      const values = Array.from({ length: 100 }, () => randomBytes(300).toString('base64'));
      const res = await search({ query: [{ type: 'TERMS', fields: ['name'], values }] }, 400);
      expect(res.body.message).to.match(/too large/);
    });
  });
});
