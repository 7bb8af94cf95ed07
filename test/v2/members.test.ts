import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ENTERPRISE_USER } from '../../src/domain/users/users.fields';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

const ids = (body: { entities: { id: string }[] }) => body.entities.map((e) => e.id);
const byId = (list: string[]) => [...list].sort();

describe('Groups v2: group people (…/members and …/individuals)', () => {
  let t: TestTenant;
  let admin: string;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
  });

  async function addMembers(groupId: string, userIds: string[]) {
    const { services } = testContext().deps;
    await services.memberships.addMembers(t.admin, groupId, userIds.map((id) => ({ kind: 'user' as const, id })));
  }

  describe('GET /api/v2/groups/{groupId}/members', () => {
    it('lists individuals, owners and rule members, each once, as Genesys users', async () => {
      const direct = await t.user({
        userName: 'ada@acme.com',
        displayName: 'Ada Lovelace',
        resource: { emails: [{ value: 'ada@acme.com', primary: true }], title: 'Engineer', [ENTERPRISE_USER]: { department: 'R&D' } },
      });
      const owner = await t.user({ userName: 'owner@other.org' });
      const both = await t.user({ userName: 'both@other.org' });
      const ruled = await t.user({ userName: 'grace@acme.com' });
      await t.user({ userName: 'nobody@other.org' });
      const g = await t.group({ ownerIds: [owner.id, both.id], wildcards: ['*@acme.com'] });
      await addMembers(g.id, [direct.id, both.id]);

      const res = await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).expect(200);
      expect(byId(ids(res.body))).to.deep.equal(byId([direct.id, owner.id, both.id, ruled.id]));
      expect(res.body).to.include({ total: 4, pageSize: 25, pageNumber: 1, pageCount: 1 });
      const ada = res.body.entities.find((e: { id: string }) => e.id === direct.id);
      expect(ada).to.deep.equal({
        id: direct.id,
        name: 'Ada Lovelace',
        username: 'ada@acme.com',
        email: 'ada@acme.com',
        state: 'active',
        title: 'Engineer',
        department: 'R&D',
        version: 1,
        selfUri: `/scim/v2/Users/${direct.id}`,
      });
    });

    it('shows the primary email, title and department as each profile holds them, on every path', async () => {
      const cases: [Record<string, unknown>, string | null, Record<string, string>][] = [
        [{ emails: [{ value: 'first@x.org' }, { value: 'second@x.org', primary: true }], title: '' }, 'Second', { email: 'second@x.org' }],
        [{ emails: [{ value: 'only@x.org', primary: false }], title: 'CTO', [ENTERPRISE_USER]: { department: '' } }, null, { email: 'only@x.org', title: 'CTO' }],
        [{ emails: [{ primary: true, value: 7 }, { value: 'b@x.org' }], [ENTERPRISE_USER]: { department: 'Ops' } }, 'Seven', { department: 'Ops' }],
        [{ emails: 'not-a-list', title: 5, [ENTERPRISE_USER]: 'not-an-object' }, 'Odd', {}],
        [{ emails: [null, { value: 'late@x.org' }] }, 'Null first', {}],
        [{ emails: [] }, '', {}],
        [{ emails: [{ value: 'quo"te\\é\n@x.org', primary: true }], title: 'Ünï "cøde"' }, 'Esc', { email: 'quo"te\\é\n@x.org', title: 'Ünï "cøde"' }],
      ];
      const users = [];
      for (const [resource, displayName] of cases) users.push(await t.user({ displayName, resource }));
      const expected = new Map(
        users.map((u, i) => [
          u.id,
          { id: u.id, name: cases[i][1] ?? u.userName, username: u.userName, email: cases[i][2].email, state: 'active', title: cases[i][2].title, department: cases[i][2].department, version: u.version, selfUri: `/scim/v2/Users/${u.id}` },
        ]),
      );
      const plain = await t.group();
      // A rule no user matches: its members page takes the general path (rules), its individuals the plain one.
      const ruled = await t.group({ wildcards: ['nobody@nowhere.example'] });
      for (const g of [plain, ruled]) await addMembers(g.id, users.map((u) => u.id));
      for (const path of [`/api/v2/groups/${plain.id}/members`, `/api/v2/groups/${ruled.id}/members`, `/api/v2/groups/${ruled.id}/individuals`]) {
        const res = await api().get(path).set(bearer(admin)).expect(200);
        expect(res.body.total, path).to.equal(users.length);
        for (const e of res.body.entities as { id: string }[]) {
          // Same fields in the same order, absent ones left out (JSON.stringify drops the undefined ones).
          expect(JSON.stringify(e), path).to.equal(JSON.stringify(expected.get(e.id)));
        }
      }
    });

    it('pages in user-id order, ascending or descending, with links', async () => {
      const users = await Promise.all(Array.from({ length: 7 }, () => t.user()));
      const g = await t.group();
      await addMembers(g.id, users.map((u) => u.id));
      const sorted = byId(users.map((u) => u.id));
      const seen: string[] = [];
      for (let n = 1; n <= 3; n++) {
        const res = await api().get(`/api/v2/groups/${g.id}/members?pageSize=3&pageNumber=${n}`).set(bearer(admin)).expect(200);
        expect(res.body).to.include({ total: 7, pageCount: 3, pageNumber: n });
        seen.push(...ids(res.body));
      }
      expect(seen).to.deep.equal(sorted);
      const p1 = await api().get(`/api/v2/groups/${g.id}/members?pageSize=3&sortOrder=descending`).set(bearer(admin)).expect(200);
      expect(ids(p1.body)).to.deep.equal([...sorted].reverse().slice(0, 3));
      expect(p1.body.nextUri).to.equal(`/api/v2/groups/${g.id}/members?pageSize=3&pageNumber=2&sortOrder=descending`);
    });

    it('accepts expand, repeated or comma-joined, and refuses unknown values', async () => {
      const g = await t.group();
      await api().get(`/api/v2/groups/${g.id}/members?expand=presence,routingStatus&expand=groups`).set(bearer(admin)).expect(200);
      const res = await api().get(`/api/v2/groups/${g.id}/members?expand=salary`).set(bearer(admin)).expect(400);
      expect(res.body).to.include({ status: 400, code: 'bad.request' });
    });

    it('follows rule changes at once: rule members are computed, not stored', async () => {
      const u = await t.user({ userName: 'sam@sales.example' });
      const g = await t.group();
      expect((await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(admin))).body.total).to.equal(0);
      await api().put(`/api/v2/groups/${g.id}`).set(bearer(admin)).send({ wildcards: ['*@sales.example'], version: 1 }).expect(200);
      const res = await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).expect(200);
      expect(ids(res.body)).to.deep.equal([u.id]);
      const [{ count }] = await testContext().db('group_members').where({ tenant_id: t.id, group_id: g.id }).count({ count: '*' });
      expect(Number(count)).to.equal(0);
    });

    it('matches rules on other attributes (department)', async () => {
      const sales = await t.user({ resource: { [ENTERPRISE_USER]: { department: 'Sales EMEA' } } });
      await t.user({ resource: { [ENTERPRISE_USER]: { department: 'Support' } } });
      const g = await t.group({ wildcards: ['department:sales*'] });
      const res = await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).expect(200);
      expect(ids(res.body)).to.deep.equal([sales.id]);
    });

    it('answers 404 for an unknown, a malformed or another tenant\'s group', async () => {
      const other = await newTenant();
      const foreign = await other.group();
      for (const id of [randomUUID(), 'nope', foreign.id]) {
        const res = await api().get(`/api/v2/groups/${id}/members`).set(bearer(admin)).expect(404);
        expect(res.body).to.include({ status: 404, code: 'not.found' });
      }
    });

    it('answers 401 without a token, and needs no right', async () => {
      const g = await t.group();
      await api().get(`/api/v2/groups/${g.id}/members`).expect(401);
      await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(await t.token([]))).expect(200);
    });

    it('accepts Content-Type: application/json on bodiless GET and DELETE, as the SDK sends it', async () => {
      const g = await t.group();
      const u = await t.user();
      await addMembers(g.id, [u.id]);
      await api().get(`/api/v2/groups/${g.id}/members`).set(bearer(admin)).set('Content-Type', 'application/json').expect(200);
      await api().delete(`/api/v2/groups/${g.id}/members?ids=${u.id}`).set(bearer(admin)).set('Content-Type', 'application/json').expect(202);
      await api().delete(`/api/v2/groups/${g.id}`).set(bearer(admin)).set('Content-Type', 'application/json').expect(204);
    });

    it('refuses bad paging with 400', async () => {
      const g = await t.group();
      for (const qs of ['pageSize=0', 'pageSize=501', 'pageNumber=0', 'pageNumber=Infinity', 'sortOrder=up']) {
        await api().get(`/api/v2/groups/${g.id}/members?${qs}`).set(bearer(admin)).expect(400);
      }
    });
  });

  describe('GET /api/v2/groups/{groupId}/individuals', () => {
    it('lists only the users added directly', async () => {
      const direct = await t.user({ userName: 'x@acme.com' });
      const owner = await t.user();
      await t.user({ userName: 'y@acme.com' });
      const g = await t.group({ ownerIds: [owner.id], wildcards: ['*@acme.com'] });
      await addMembers(g.id, [direct.id]);
      const res = await api().get(`/api/v2/groups/${g.id}/individuals`).set(bearer(admin)).expect(200);
      expect(ids(res.body)).to.deep.equal([direct.id]);
      expect(res.body.total).to.equal(1);
    });

    it('leaves nested groups out', async () => {
      const u = await t.user();
      const child = await t.group();
      const parent = await t.group();
      const { services } = testContext().deps;
      await services.memberships.addMembers(t.admin, parent.id, [{ kind: 'group', id: child.id }, { kind: 'user', id: u.id }]);
      const res = await api().get(`/api/v2/groups/${parent.id}/individuals`).set(bearer(admin)).expect(200);
      expect(ids(res.body)).to.deep.equal([u.id]);
    });
  });

  describe('membership rules (wildcards) on the Group entity', () => {
    it('stores valid rules and refuses invalid ones with 400, writing nothing', async () => {
      const ok = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Ruled', wildcards: ['email:*@acme.com', 'title:*Engineer'] }).expect(200);
      expect(ok.body.wildcards).to.deep.equal(['email:*@acme.com', 'title:*Engineer']);
      const bad = await api().post('/api/v2/groups').set(bearer(admin)).send({ name: 'Bad', wildcards: ['salary:*'] }).expect(400);
      expect(bad.body.message).to.match(/wildcard attribute/);
      const list = await api().get('/api/v2/groups').set(bearer(admin)).expect(200);
      expect(list.body.total).to.equal(1);
    });

    it('shows the rules to everyone only when rulesVisible is true; always to admins and owners', async () => {
      const owner = await t.user();
      const plain = await t.user();
      const hidden = await t.group({ wildcards: ['*@acme.com'], rulesVisible: false, ownerIds: [owner.id] });
      const shown = await t.group({ wildcards: ['*@acme.com'], rulesVisible: true });
      const plainToken = await t.token([], { userId: plain.id });
      expect((await api().get(`/api/v2/groups/${hidden.id}`).set(bearer(plainToken))).body).to.not.have.property('wildcards');
      expect((await api().get(`/api/v2/groups/${shown.id}`).set(bearer(plainToken))).body.wildcards).to.deep.equal(['*@acme.com']);
      expect((await api().get(`/api/v2/groups/${hidden.id}`).set(bearer(admin))).body.wildcards).to.deep.equal(['*@acme.com']);
      const ownerToken = await t.token([], { userId: owner.id });
      expect((await api().get(`/api/v2/groups/${hidden.id}`).set(bearer(ownerToken))).body.wildcards).to.deep.equal(['*@acme.com']);
    });
  });
});
