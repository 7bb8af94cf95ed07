import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import supertest from 'supertest';
import { buildApp } from '../../src/app';
import type { GroupSummaryRow } from '../../src/domain/directory/directory.repository';
import { directoryService } from '../../src/domain/directory/directory.service';
import { LISTED_ADDITIONS, LISTED_REMOVALS, MAX_MEMBERS_PER_CHANGE } from '../../src/domain/memberships/membership.service';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { expectSpecResponse } from '../helpers/spec-response';
import { statementsOf } from '../helpers/statements';

describe('Groups v1: /api/v1/groups', () => {
  let t: TestTenant;
  let admin: string;
  let pid: number;

  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['group_administration']);
    pid = (await testContext().deps.services.tenants.getTenant(t.id)).pid;
  });

  const create = (body: object, token = admin) => api().post('/api/v1/groups/').set(bearer(token)).send(body);
  const list = async () => (await api().get('/api/v1/groups/').set(bearer(admin)).expect(200)).body as { groupId: number; name: string }[];

  function expectError(res: { body: Record<string, unknown> }, status: number, code: string) {
    expect(res.body).to.include({ status, code });
    expect(res.body.message).to.be.a('string').and.not.empty;
  }

  describe('POST /api/v1/groups/', () => {
    it('creates a group and answers with the document shape: integer groupId, the tenant pid, counts and lists', async () => {
      const res = await create({ name: 'Analysts', description: 'Segment analysts' }).expect(201);
      expect(res.body).to.deep.equal({ groupId: res.body.groupId, pid, name: 'Analysts', description: 'Segment analysts', membershipCount: 0, wildcards: [], users: [] });
      expect(res.body.groupId).to.be.a('number');
    });

    it('takes a null description, wildcards and integer user ids (numbers or numeric strings)', async () => {
      const [a, b] = [await t.user(), await t.user()];
      const res = await create({ name: 'Mixed', description: null, wildcards: ['*@acme.test', 'department:Sales*'], users: [a.seq, String(b.seq)] }).expect(201);
      expect(res.body).to.include({ description: null, membershipCount: 2 });
      expect(res.body.wildcards).to.deep.equal(['*@acme.test', 'department:Sales*']);
      expect(res.body.users).to.deep.equal([a.seq, b.seq].sort((x, y) => x - y));
    });

    it('answers 400 for a missing or empty name, wrong types, unknown fields and bad wildcards, and creates nothing', async () => {
      for (const body of [{}, { name: '' }, { name: 42 }, { name: 'x', description: 7 }, { name: 'x', color: 'red' }, { name: 'x', wildcards: ['nosuch:attr*'] }, { name: 'x', wildcards: 'x' }]) {
        expectError(await create(body).expect(400), 400, 'BAD_REQUEST');
      }
      expect(await list()).to.deep.equal([]);
    });

    it('answers 400 naming unknown user ids, and creates nothing', async () => {
      const res = await create({ name: 'Ghosts', users: [999999999] }).expect(400);
      expect(res.body.message).to.include('999999999');
      expect(await list()).to.deep.equal([]);
    });

    it("refuses another tenant's user ids as members", async () => {
      const foreign = await (await newTenant()).user();
      await create({ name: 'Foreign', users: [foreign.seq] }).expect(400);
    });

    it('answers 409 when the name is taken', async () => {
      await create({ name: 'Sales' }).expect(201);
      expectError(await create({ name: 'sales' }).expect(409), 409, 'CONFLICT');
    });

    it('answers 401 without a token and 403 without a right, in the v1 shape', async () => {
      const res = await api().post('/api/v1/groups/').send({ name: 'x' }).expect(401);
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
      expectError(await create({ name: 'x' }, await t.token(['bag_read'])).expect(403), 403, 'FORBIDDEN');
      await create({ name: 'by a creator' }, await t.token(['group_creation'])).expect(201);
    });
  });

  describe('GET /api/v1/groups/', () => {
    it('lists every group of the tenant by groupId, with members, and no other tenant’s', async () => {
      const u = await t.user();
      const g1 = (await create({ name: 'One', users: [u.seq] }).expect(201)).body;
      const g2 = (await create({ name: 'Two' }).expect(201)).body;
      await (await newTenant()).group({ name: 'Elsewhere' });
      const res = await api().get('/api/v1/groups/').set(bearer(admin)).expect(200);
      expect(res.body).to.deep.equal([g1, g2]);
      expect(res.headers['x-total-count']).to.equal('2');
    });

    it('pages with page (from 0) and pageSize, and refuses a page size over 1000', async () => {
      for (const name of ['a', 'b', 'c']) await create({ name }).expect(201);
      const second = await api().get('/api/v1/groups?page=1&pageSize=2').set(bearer(admin)).expect(200);
      expect(second.body.map((g: { name: string }) => g.name)).to.deep.equal(['c']);
      expect(second.headers['x-total-count']).to.equal('3');
      await api().get('/api/v1/groups?pageSize=1001').set(bearer(admin)).expect(400);
    });

    it('shows a group made in another dialect, with its members', async () => {
      const u = await t.user();
      const g = await t.group({ name: 'From the core' });
      await testContext().deps.services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: u.id }]);
      const [listed] = await list();
      expect(listed).to.deep.include({ groupId: g.seq, name: 'From the core', users: [u.seq], membershipCount: 1 });
    });
  });

  describe('GET and PUT /api/v1/groups/{groupId}', () => {
    it('updates name and description and keeps what is absent', async () => {
      const g = (await create({ name: 'Old', description: 'keep me', wildcards: ['*@x.test'] }).expect(201)).body;
      const res = await api().put(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).send({ name: 'New' }).expect(200);
      expect(res.body).to.include({ groupId: g.groupId, name: 'New', description: 'keep me' });
      expect(res.body.wildcards).to.deep.equal(['*@x.test']);
      const cleared = await api().put(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).send({ description: null, wildcards: [] }).expect(200);
      expect(cleared.body).to.include({ description: null });
      expect(cleared.body.wildcards).to.deep.equal([]);
      expect((await api().get(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).expect(200)).body).to.deep.equal(cleared.body);
    });

    it('replaces the user members when users is given, and accepts a round-tripped group', async () => {
      const [a, b, c] = [await t.user(), await t.user(), await t.user()];
      const g = (await create({ name: 'Team', users: [a.seq, b.seq] }).expect(201)).body;
      const res = await api().put(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).send({ ...g, users: [b.seq, c.seq] }).expect(200);
      expect(res.body.users).to.deep.equal([b.seq, c.seq]);
      expect(res.body.membershipCount).to.equal(2);
    });

    it('replaces the users of a group of any size: the others go in one statement, and the change feed counts them', async function () {
      this.timeout(120_000);
      const { db } = testContext().deps;
      const keep = await t.user();
      const made = (await create({ name: 'Everyone', users: [keep.seq] }).expect(201)).body;
      const [group] = await directoryService(db).groupsBySeqs(t.admin, [made.groupId]);
      // More members than one request may name (MAX_MEMBERS_PER_CHANGE), made directly in the database.
      const n = MAX_MEMBERS_PER_CHANGE + 1;
      await db.raw(`INSERT INTO users (tenant_id, user_name) SELECT ?, 'everyone-' || i FROM generate_series(1, ?) i`, [t.id, n]);
      await db.raw(`INSERT INTO group_members (tenant_id, group_id, member_kind, member_id) SELECT tenant_id, ?, 'user', id FROM users WHERE tenant_id = ? AND user_name LIKE 'everyone-%'`, [group.id, t.id]);
      await db.raw('UPDATE groups SET member_count = member_count + ? WHERE tenant_id = ? AND id = ?', [n, t.id, group.id]);
      let res: supertest.Response | undefined;
      const { sql } = await statementsOf(async () => {
        res = await api().put(`/api/v1/groups/${made.groupId}`).set(bearer(admin)).send({ users: [keep.seq] }).expect(200);
      });
      expect(res?.body).to.include({ membershipCount: 1 });
      expect(res?.body.users).to.deep.equal([keep.seq]);
      // No statement reads the members to remove them.
      expect(sql.filter((s) => /^select\s+"?member_id"?\s+from\s+"?group_members/i.test(s.trim()))).to.deep.equal([]);
      const reader = await t.token(['audit_read']);
      const feed = (await api().get('/api/v2/changes?limit=100').set(bearer(reader)).expect(200)).body as { entities: { action: string; before: { removed: { kind: string; id: string }[]; removedCount: number } | null }[] };
      const removal = feed.entities.filter((e) => e.action === 'membership.removed');
      expect(removal).to.have.length(1);
      expect(removal[0].before?.removedCount).to.equal(n);
      expect(removal[0].before?.removed).to.have.length(LISTED_REMOVALS);
      expect(removal[0].before?.removed.every((m) => m.kind === 'user' && m.id !== keep.id)).to.equal(true);
      expect(Number((await db('groups').where({ tenant_id: t.id, id: group.id }).first('member_count')).member_count)).to.equal(1);
    });

    it(`lists at most ${LISTED_ADDITIONS} added members in the membership.added event, and counts them all`, async () => {
      const db = testContext().db;
      const made = (await create({ name: 'Crowd' }).expect(201)).body;
      const n = LISTED_ADDITIONS + 500;
      await db.raw(`INSERT INTO users (tenant_id, user_name) SELECT ?, 'crowd-' || i FROM generate_series(1, ?) i`, [t.id, n]);
      const ids = (await db('users').where({ tenant_id: t.id }).where('user_name', 'like', 'crowd-%').pluck('id')) as string[];
      const res = await api().put(`/api/v1/groups/${made.groupId}`).set(bearer(admin)).send({ users: ids }).expect(200);
      expect(res.body.membershipCount).to.equal(n);
      const reader = await t.token(['audit_read']);
      const feed = (await api().get('/api/v2/changes?limit=100').set(bearer(reader)).expect(200)).body as { entities: { action: string; after: { added: unknown[]; addedCount?: number } | null }[] };
      const added = feed.entities.filter((e) => e.action === 'membership.added');
      expect(added).to.have.length(1);
      expect(added[0].after?.added).to.have.length(LISTED_ADDITIONS);
      expect(added[0].after?.addedCount).to.equal(n);
    });

    it('answers 400 when the body groupId differs from the path, and changes nothing', async () => {
      const g = (await create({ name: 'Fixed' }).expect(201)).body;
      await api().put(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).send({ groupId: g.groupId + 1, name: 'Moved' }).expect(400);
      expect((await api().get(`/api/v1/groups/${g.groupId}`).set(bearer(admin))).body.name).to.equal('Fixed');
    });

    it("answers 404 for unknown, malformed and other tenants' group ids", async () => {
      const foreign = await (await newTenant()).group();
      for (const id of ['999999999', 'abc', randomUUID(), String(foreign.seq)]) {
        expectError(await api().get(`/api/v1/groups/${id}`).set(bearer(admin)).expect(404), 404, 'NOT_FOUND');
        await api().put(`/api/v1/groups/${id}`).set(bearer(admin)).send({ name: 'x' }).expect(404);
        await api().delete(`/api/v1/groups/${id}`).set(bearer(admin)).expect(404);
      }
      expect((await (await newTenant()).group()).name).to.be.a('string');
    });

    it('answers 409 when renaming onto a taken name', async () => {
      await create({ name: 'Taken' }).expect(201);
      const g = (await create({ name: 'Free' }).expect(201)).body;
      await api().put(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).send({ name: 'TAKEN' }).expect(409);
    });
  });

  describe('DELETE /api/v1/groups/{groupId}', () => {
    it('deletes the group and its memberships (204)', async () => {
      const u = await t.user();
      const g = (await create({ name: 'Doomed', users: [u.seq] }).expect(201)).body;
      await api().delete(`/api/v1/groups/${g.groupId}`).set(bearer(admin)).expect(204);
      expect(await list()).to.deep.equal([]);
      const { db } = testContext();
      expect(await db('group_members').where({ tenant_id: t.id, member_id: u.id })).to.have.length(0);
    });

    it('answers 409 for a system group', async () => {
      const g = await t.group({ system: true });
      expectError(await api().delete(`/api/v1/groups/${g.seq}`).set(bearer(admin)).expect(409), 409, 'CONFLICT');
    });

    it('answers 409 while another group names it in its ACL or as owner, and deletes once released', async () => {
      const [target, holder] = [await t.group(), await t.group()];
      const { db } = testContext();
      await db('group_acl').insert({ tenant_id: t.id, group_id: holder.id, who_kind: 'group', who_id: target.id, rights: ['bag_read'] });
      const res = await api().delete(`/api/v1/groups/${target.seq}`).set(bearer(admin)).expect(409);
      expect(res.body.message).to.include(String(holder.seq));
      await db('group_acl').where({ tenant_id: t.id, group_id: holder.id }).delete();
      await db('groups').where({ tenant_id: t.id, id: holder.id }).update({ owner_group_id: target.id });
      await api().delete(`/api/v1/groups/${target.seq}`).set(bearer(admin)).expect(409);
      await db('groups').where({ tenant_id: t.id, id: holder.id }).update({ owner_group_id: null });
      await api().delete(`/api/v1/groups/${target.seq}`).set(bearer(admin)).expect(204);
    });
  });

  describe('DELETE /api/v1/groups/bulk-delete', () => {
    const bulk = (ids: unknown) => api().delete('/api/v1/groups/bulk-delete').set(bearer(admin)).send(ids as object);

    it('deletes every listed group (204)', async () => {
      const [a, b, c] = [await t.group(), await t.group(), await t.group()];
      await bulk([a.seq, String(b.seq)]).expect(204);
      expect((await list()).map((g) => g.groupId)).to.deep.equal([c.seq]);
    });

    it('deletes nothing when one id is unknown (404) or one group is a system group (409)', async () => {
      const [a, sys] = [await t.group(), await t.group({ system: true })];
      const missing = await bulk([a.seq, 999999999]).expect(404);
      expect(missing.body.message).to.include('999999999');
      await bulk([a.seq, sys.seq]).expect(409);
      expect(await list()).to.have.length(2);
    });

    it("treats another tenant's group as unknown", async () => {
      const [a, foreign] = [await t.group(), await (await newTenant()).group()];
      await bulk([a.seq, foreign.seq]).expect(404);
      expect(await list()).to.have.length(1);
    });

    it('answers 400 for an empty list, a non-array body or a non-numeric id', async () => {
      await bulk([]).expect(400);
      await bulk({ ids: [1] }).expect(400);
      await bulk(['abc']).expect(400);
    });
  });

  describe('groups written as text (v1GroupText), as production sends them', () => {
    // The app as in production: responses not checked, so the text goes out as it is.
    const raw = () => buildApp({ ...testContext().deps, config: { ...testContext().deps.config, validateResponses: false } }, pino({ level: 'silent' }));
    const text = (req: supertest.Test) =>
      req.buffer(true).parse((res, done) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => done(null, body));
      });

    it('sends each group and each list page as the validated app answers them, members in ascending order', async () => {
      const users = [await t.user(), await t.user(), await t.user()];
      const odd = 'Ünïcödé "quoted" \\ tab\t 😀 </script>';
      const made = (await create({ name: odd, description: 'line\nbreak', wildcards: ['*@acme.test'], users: [users[2].seq, users[0].seq, users[1].seq] }).expect(201)).body;
      await create({ name: 'Empty', description: null }).expect(201);
      const app = raw();
      for (const path of [`/api/v1/groups/${made.groupId}`, '/api/v1/groups/', '/api/v1/groups/?page=0&pageSize=1']) {
        const res = await text(supertest(app).get(path).set(bearer(admin))).expect(200);
        expect(res.headers['content-type']).to.equal('application/json; charset=utf-8');
        // A group goes as one text; a list page as it is read (chunked), its total in the header.
        if (path.includes('?') || path.endsWith('groups/')) {
          expect(res.headers['transfer-encoding']).to.equal('chunked');
          expect(res.headers['x-total-count']).to.equal('2');
        } else expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(res.body as string));
        const parsed = JSON.parse(res.body as string);
        expect(parsed).to.deep.equal((await api().get(path).set(bearer(admin)).expect(200)).body);
        await expectSpecResponse('get', path.replace(/\?.*/, ''), 200, parsed, 'application/json');
      }
      const one = JSON.parse((await text(supertest(app).get(`/api/v1/groups/${made.groupId}`).set(bearer(admin))).expect(200)).body as string);
      expect(one).to.deep.equal({ groupId: made.groupId, pid, name: odd, description: 'line\nbreak', membershipCount: 3, wildcards: ['*@acme.test'], users: users.map((u) => u.seq).sort((a, b) => a - b) });
      const all = JSON.parse((await text(supertest(app).get('/api/v1/groups/').set(bearer(admin))).expect(200)).body as string);
      expect(all.map((g: { name: string; membershipCount: number; users: number[]; description: string | null }) => [g.name, g.membershipCount, g.users.length, g.description])).to.deep.equal([
        [odd, 3, 3, 'line\nbreak'],
        ['Empty', 0, 0, null],
      ]);
    });

    it('reads a list page a chunk of groups at a time, by their member counts, and sends the groups in order', async () => {
      const users = await Promise.all(Array.from({ length: 5 }, () => t.user()));
      const sizes = [3, 0, 1, 5, 2, 0, 4];
      for (const [i, n] of sizes.entries()) await create({ name: `chunked ${i}`, users: users.slice(0, n).map((u) => u.seq) }).expect(201);
      const directory = directoryService(testContext().deps.db);
      const whole = await directory.summaries(t.admin, { offset: 1, limit: 6 });
      for (const [perRead, expected] of [
        // Groups gather while their stored member counts fit; a bigger one goes alone.
        [4, [[0, 1], [2], [3, 4], [5]]],
        [6, [[0, 1, 2], [3, 4, 5]]],
        [100, [[0, 1, 2, 3, 4, 5]]],
        [0, [[0], [1], [2], [3], [4], [5]]],
      ] as const) {
        const list = await directory.summaryList(t.admin, { offset: 1, limit: 6 }, perRead);
        expect(list).to.include({ pid, total: 7 });
        const chunks: GroupSummaryRow[][] = [];
        const { sql } = await statementsOf(async () => {
          for await (const chunk of list.chunks) chunks.push(chunk);
        });
        expect(chunks.map((c) => c.map((g) => whole.items.findIndex((w) => w.id === g.id))), `${perRead} members per read`).to.deep.equal(expected);
        expect(chunks.flat()).to.deep.equal(whole.items);
        // One statement per chunk that holds a group with members.
        expect(sql, sql.join('\n')).to.have.length(expected.filter((c) => c.some((i) => sizes[i + 1] > 0)).length);
      }
      // The app sends what the chunks hold, the same as the validated app, members in ascending order.
      const res = await text(supertest(raw()).get('/api/v1/groups/?page=0&pageSize=7').set(bearer(admin))).expect(200);
      const parsed = JSON.parse(res.body as string) as { name: string; users: number[]; membershipCount: number }[];
      expect(parsed).to.deep.equal((await api().get('/api/v1/groups/?page=0&pageSize=7').set(bearer(admin)).expect(200)).body);
      expect(parsed.map((g) => [g.name, g.membershipCount, g.users])).to.deep.equal(
        sizes.map((n, i) => [`chunked ${i}`, n, users.slice(0, n).map((u) => u.seq).sort((a, b) => a - b)]),
      );
      await expectSpecResponse('get', '/api/v1/groups/', 200, parsed, 'application/json');
    });

    it('answers a create (201) and a replace (200) the same way', async () => {
      const u = await t.user();
      const app = raw();
      const created = await text(supertest(app).post('/api/v1/groups/').set(bearer(admin)).send({ name: 'Texts', users: [u.seq] })).expect(201);
      expect(created.headers['content-type']).to.equal('application/json; charset=utf-8');
      const doc = JSON.parse(created.body as string);
      expect(doc).to.deep.equal({ groupId: doc.groupId, pid, name: 'Texts', description: null, membershipCount: 1, wildcards: [], users: [u.seq] });
      await expectSpecResponse('post', '/api/v1/groups/', 201, doc, 'application/json');
      const replaced = JSON.parse((await text(supertest(app).put(`/api/v1/groups/${doc.groupId}`).set(bearer(admin)).send({ description: 'now', users: [] })).expect(200)).body as string);
      expect(replaced).to.deep.equal({ ...doc, description: 'now', membershipCount: 0, users: [] });
      await expectSpecResponse('put', `/api/v1/groups/${doc.groupId}`, 200, replaced, 'application/json');
    });
  });
});
