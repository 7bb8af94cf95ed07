import { expect } from 'chai';
import { hashToken } from '../../src/domain/tokens/token';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

describe('authentication and rights', () => {
  let t: TestTenant;
  beforeEach(async () => {
    t = await newTenant();
  });

  function expect401(res: { status: number; headers: Record<string, string>; body: { code?: string; status?: number } }) {
    expect(res.status).to.equal(401);
    expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    expect(res.body).to.include({ code: 'authentication.required', status: 401 });
  }

  it('answers 401 with WWW-Authenticate when no token is sent', async () => {
    expect401(await api().get('/api/v2/groups'));
  });

  it('answers 401 for an unknown token and for malformed Authorization headers', async () => {
    for (const header of ['Bearer rst_nope', 'Bearer', 'Basic dXNlcjpwYXNz', 'rst_abc', `Bearer ${'x'.repeat(2000)}`]) {
      expect401(await api().get('/api/v2/groups').set('Authorization', header));
    }
  });

  it('accepts any run of spaces (RFC 6750 §2.1) or a tab after "Bearer", and the scheme in any case', async () => {
    const token = await t.token(['group_administration']);
    for (const header of [`Bearer  ${token}`, `Bearer\t${token}`, `bearer ${token}`, `BEARER   ${token}`]) {
      const res = await api().get('/api/v2/groups').set('Authorization', header);
      expect(res.status, JSON.stringify(header)).to.equal(200);
    }
  });

  it('does not accept a token in the query string or the body', async () => {
    const token = await t.token(['group_administration']);
    const viaQuery = await api().get(`/api/v2/groups?access_token=${token}`);
    expect(viaQuery.status).to.be.oneOf([400, 401]);
    expect401(await api().post('/api/v2/groups').send({ name: 'x', access_token: token }));
  });

  it('answers 401 for a revoked token, from the next request on', async () => {
    const token = await t.token(['group_administration']);
    await api().get('/api/v2/groups').set(bearer(token)).expect(200);
    const { services } = testContext().deps;
    const [record] = (await services.tokens.listTokens(t.id)).filter((r) => r.rights.length === 1);
    expect(await services.tokens.revokeToken({ id: record.id })).to.equal(1);
    expect401(await api().get('/api/v2/groups').set(bearer(token)));
  });

  it('answers 401 for an expired token', async () => {
    const token = await t.token(['group_administration'], { expiresInMs: -1000 });
    expect401(await api().get('/api/v2/groups').set(bearer(token)));
  });

  it('answers 403 in the dialect shape when a right is missing, and writes nothing', async () => {
    const token = await t.token(['bag_read']);
    const res = await api().post('/api/v2/groups').set(bearer(token)).send({ name: 'Nope' }).expect(403);
    expect(res.body).to.include({ code: 'missing.any.permissions', status: 403 });
    expect(res.body.message).to.match(/group_administration/).and.match(/group_creation/);
    expect((await api().get('/api/v2/groups').set(bearer(token))).body.total).to.equal(0);
  });

  it("answers 404 for another tenant's group, for reads and writes alike", async () => {
    const other = await newTenant();
    const foreign = await other.group({ name: 'Theirs' });
    const token = await t.token(['group_administration', 'admin']);
    await api().get(`/api/v2/groups/${foreign.id}`).set(bearer(token)).expect(404);
    await api().put(`/api/v2/groups/${foreign.id}`).set(bearer(token)).send({ name: 'Mine', version: 1 }).expect(404);
    await api().delete(`/api/v2/groups/${foreign.id}`).set(bearer(token)).expect(404);
    await api().post(`/api/v2/groups/${foreign.id}/members`).set(bearer(token)).send({ memberIds: [(await t.user()).id], version: 1 }).expect(404);
    const list = await api().get(`/api/v2/groups?id=${foreign.id}`).set(bearer(token)).expect(200);
    expect(list.body.total).to.equal(0);
    const still = await testContext().deps.services.groups.getGroup(other.admin, foreign.id);
    expect(still).to.include({ name: 'Theirs', version: 1 });
  });

  it("refuses another tenant's users as members (400) without revealing them", async () => {
    const other = await newTenant();
    const foreignUser = await other.user();
    const g = await t.group();
    const token = await t.token(['group_administration']);
    await api().post(`/api/v2/groups/${g.id}/members`).set(bearer(token)).send({ memberIds: [foreignUser.id], version: 1 }).expect(400);
  });

  it('stores tokens only as their SHA-256 hash', async () => {
    const token = await t.token(['admin']);
    const rows = await testContext().db('api_tokens').where({ tenant_id: t.id });
    expect(JSON.stringify(rows)).to.not.include(token);
    expect(rows.map((r: { token_hash: string }) => r.token_hash)).to.include(hashToken(token));
    expect(token).to.match(/^rst_[A-Za-z0-9_-]{43}$/);
  });

  it('records when a token was last used', async () => {
    const token = await t.token([]);
    await api().get('/api/v2/groups').set(bearer(token)).expect(200);
    const { db } = testContext();
    let row: { last_used_at: Date | null } | undefined;
    for (let i = 0; i < 50 && !row?.last_used_at; i++) {
      row = await db('api_tokens').where({ token_hash: hashToken(token) }).first();
      if (!row?.last_used_at) await new Promise((r) => setTimeout(r, 20));
    }
    expect(row?.last_used_at).to.be.instanceOf(Date);
  });
});
