import { expect } from 'chai';
import request from 'supertest';
import { createDb } from '../../src/db/knex';
import { hashToken } from '../../src/domain/tokens/token';
import { tokenRuntimeOf } from '../../src/domain/tokens/token-runtime';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';
import { eventually } from '../helpers/wait';
import { appWith } from '../ops/helpers';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('auth: a token acting as a user follows that user (deprovisioning cuts it off)', () => {
  let t: TestTenant;
  let admin: string;
  let app: ReturnType<typeof appWith>['app'];

  before(async () => {
    t = await newTenant();
    admin = await t.token(['admin', 'scim_provisioning']);
    ({ app } = appWith({ rateLimitSyncMs: 60_000 }));
    // The token cache is on, so each refusal below also shows the cached entry was dropped.
    await eventually(() => tokenRuntimeOf(testContext().db).cache.enabled);
  });

  const setActive = (userId: string, active: boolean) =>
    request(app)
      .patch(`/scim/v2/Users/${userId}`)
      .set(bearer(admin))
      .send({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: active }] })
      .expect(200);

  it('refuses the token on the next request once its user is deactivated, and accepts it again once reactivated', async () => {
    const user = await t.user();
    const own = await t.token(['scim_provisioning'], { userId: user.id });
    const other = await t.token(['scim_provisioning']);
    for (let i = 0; i < 2; i++) expect((await request(app).get('/scim/v2/Me').set(bearer(own)).expect(200)).body.id).to.equal(user.id);
    expect(tokenRuntimeOf(testContext().db).cache.get(hashToken(own))?.userId).to.equal(user.id);

    await setActive(user.id, false);
    await request(app).get('/scim/v2/Me').set(bearer(own)).expect(401);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(own)).expect(401);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(other)).expect(200);
    // A change that leaves `active` as it was does not matter.
    await request(app)
      .patch(`/scim/v2/Users/${user.id}`)
      .set(bearer(admin))
      .send({ schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Still Away' }] })
      .expect(200);
    await request(app).get('/scim/v2/Me').set(bearer(own)).expect(401);

    await setActive(user.id, true);
    expect((await request(app).get('/scim/v2/Me').set(bearer(own)).expect(200)).body.displayName).to.equal('Still Away');
  });

  it('shows the token as suspended in the token API while its user is deactivated, and active again after', async () => {
    const user = await t.user();
    await t.token(['scim_provisioning'], { userId: user.id });
    const [{ id }] = await testContext().db('api_tokens').where({ tenant_id: t.admin.tenantId, user_id: user.id }).select('id');
    const stateOf = async () => {
      const one = (await request(app).get(`/api/v2/tokens/${id}`).set(bearer(admin)).expect(200)).body.state;
      const listed = (await request(app).get('/api/v2/tokens?pageSize=100').set(bearer(admin)).expect(200)).body.entities.find((e: { id: string }) => e.id === id)?.state;
      expect(listed).to.equal(one);
      return one as string;
    };
    expect(await stateOf()).to.equal('active');
    await setActive(user.id, false);
    expect(await stateOf()).to.equal('suspended');
    // A token acting as no user, listed beside it, stays active.
    const plain = (await request(app).get('/api/v2/tokens?pageSize=100').set(bearer(admin)).expect(200)).body.entities.filter((e: { userId?: string }) => !e.userId);
    expect(plain.map((e: { state: string }) => e.state)).to.not.include('suspended');
    await setActive(user.id, true);
    expect(await stateOf()).to.equal('active');
  });

  it('revokes the user\'s tokens when the user is deleted, and says so in the token list', async () => {
    const user = await t.user();
    const own = await t.token(['scim_provisioning', 'group_creation'], { userId: user.id });
    const other = await t.token(['scim_provisioning']);
    await request(app).get('/scim/v2/Me').set(bearer(own)).expect(200);
    await request(app).delete(`/scim/v2/Users/${user.id}`).set(bearer(admin)).expect(204);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(own)).expect(401);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(other)).expect(200);
    const [row] = await testContext().db('api_tokens').where({ token_hash: hashToken(own) }).select('id');
    const listed = await request(app).get(`/api/v2/tokens/${row.id}`).set(bearer(admin)).expect(200);
    expect(listed.body.state).to.equal('revoked');
    expect(listed.body.dateRevoked).to.be.a('string');
    // …and in the change feed, as a revocation through the token API is.
    const feedToken = await t.token(['audit_read']);
    const feed = await request(app).get('/api/v2/changes').query({ resourceType: 'token', resourceId: row.id }).set(bearer(feedToken)).expect(200);
    const actions = feed.body.entities.map((e: { action: string }) => e.action);
    expect(actions).to.include('token.revoked');
    const event = feed.body.entities.find((e: { action: string }) => e.action === 'token.revoked');
    expect(event.before).to.include({ revokedAt: null, userId: user.id });
    expect(event.after).to.include({ reason: 'user.deleted' });
    expect(event.after.revokedAt).to.be.a('string');
  });

  it('hears of a deactivation made by plain SQL elsewhere (another instance, an operator) through NOTIFY', async () => {
    const { config, db } = testContext();
    const user = await t.user();
    const own = await t.token(['scim_provisioning'], { userId: user.id });
    await request(app).get('/scim/v2/Me').set(bearer(own)).expect(200);
    const cache = tokenRuntimeOf(db).cache;
    expect(cache.get(hashToken(own))).to.not.equal(undefined);
    const other = config.db.kind === 'postgres' ? createDb(config.db) : db;
    try {
      await other('users').where({ tenant_id: t.id, id: user.id }).update({ active: false });
      await eventually(() => cache.get(hashToken(own)) === undefined, 2000);
      await request(app).get('/scim/v2/Me').set(bearer(own)).expect(401);
    } finally {
      if (other !== db) await other.destroy();
    }
  });

  it('will not mint a token acting as a deactivated user (400), nor for an unknown one', async () => {
    const user = await t.user({ active: false });
    const res = await request(app).post('/api/v2/tokens').set(bearer(admin)).send({ name: 'away', rights: ['scim_provisioning'], userId: user.id }).expect(400);
    expect(JSON.stringify(res.body)).to.match(/deactivated/);
    await request(app)
      .post('/api/v2/tokens')
      .set(bearer(admin))
      .send({ name: 'nobody', rights: ['scim_provisioning'], userId: '00000000-0000-4000-8000-000000000000' })
      .expect(400);
    const minted = await testContext().db('api_tokens').where({ tenant_id: t.id }).whereIn('name', ['away', 'nobody']).count('* as n').first();
    expect(Number(minted?.n)).to.equal(0);
  });
});
