import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { api } from '../helpers/http';
import { USER } from './helpers';

describe('OAuth 2.0 client credentials (/oauth/token)', () => {
  const oauth = () => testContext().deps.services.oauth;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  it('issues a short-lived bearer token for HTTP Basic client credentials that works on SCIM', async () => {
    const t = await newTenant();
    const { clientId, clientSecret } = await oauth().createClient(t.id, 'entra', ['scim_provisioning']);
    const res = await api().post('/oauth/token').set('Authorization', basic(clientId, clientSecret)).type('form').send({ grant_type: 'client_credentials' }).expect(200);
    expect(res.body).to.include({ token_type: 'Bearer', expires_in: 3600, scope: 'scim_provisioning' });
    expect(res.headers['cache-control']).to.equal('no-store');
    const token = res.body.access_token as string;
    await api().post('/scim/v2/Users').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/scim+json').send(JSON.stringify({ schemas: [USER], userName: 'oauth@example.com' })).expect(201);
    const row = await testContext().db('api_tokens').where({ kind: 'oauth_access', tenant_id: t.id }).first();
    expect(JSON.stringify(row)).to.not.include(token);
    expect(row.expires_at.getTime() - Date.now()).to.be.within(3500_000, 3601_000);
  });

  it('accepts the credentials in the form body too, and JSON bodies', async () => {
    const t = await newTenant();
    const { clientId, clientSecret } = await oauth().createClient(t.id, 'form', ['scim_provisioning']);
    await api().post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).expect(200);
    await api().post('/oauth/token').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).expect(200);
  });

  it('answers 401 invalid_client for a wrong secret, an unknown client or no credentials', async () => {
    const t = await newTenant();
    const { clientId } = await oauth().createClient(t.id, 'x', ['scim_provisioning']);
    for (const auth of [basic(clientId, 'rsc_wrong'), basic('00000000-0000-0000-0000-000000000000', 'x'), basic('not-a-uuid', 'x')]) {
      const res = await api().post('/oauth/token').set('Authorization', auth).type('form').send({ grant_type: 'client_credentials' }).expect(401);
      expect(res.body.error).to.equal('invalid_client');
      expect(res.headers['www-authenticate']).to.match(/^Basic/);
    }
    const none = await api().post('/oauth/token').type('form').send({ grant_type: 'client_credentials' }).expect(401);
    expect(none.body.error).to.equal('invalid_client');
  });

  it('answers 400 for a missing or unsupported grant type', async () => {
    const missing = await api().post('/oauth/token').type('form').send({}).expect(400);
    expect(missing.body.error).to.equal('invalid_request');
    const pw = await api().post('/oauth/token').type('form').send({ grant_type: 'password' }).expect(400);
    expect(pw.body.error).to.equal('unsupported_grant_type');
  });

  it('keeps two secrets valid across a rotation, and only two', async () => {
    const t = await newTenant();
    const { clientId, clientSecret: first } = await oauth().createClient(t.id, 'rotating', ['scim_provisioning']);
    const second = await oauth().rotateSecret(clientId);
    for (const s of [first, second]) await api().post('/oauth/token').set('Authorization', basic(clientId, s)).type('form').send({ grant_type: 'client_credentials' }).expect(200);
    const third = await oauth().rotateSecret(clientId);
    await api().post('/oauth/token').set('Authorization', basic(clientId, first)).type('form').send({ grant_type: 'client_credentials' }).expect(401);
    for (const s of [second, third]) await api().post('/oauth/token').set('Authorization', basic(clientId, s)).type('form').send({ grant_type: 'client_credentials' }).expect(200);
  });

  it('revoking a client revokes its access tokens, and the client id is never a bearer token', async () => {
    const t = await newTenant();
    const { clientId, clientSecret } = await oauth().createClient(t.id, 'doomed', ['scim_provisioning']);
    const res = await api().post('/oauth/token').set('Authorization', basic(clientId, clientSecret)).type('form').send({ grant_type: 'client_credentials' }).expect(200);
    const bearer = { Authorization: `Bearer ${res.body.access_token}` };
    await api().get('/scim/v2/Users').set(bearer).expect(200);
    await oauth().revokeClient(clientId);
    await api().get('/scim/v2/Users').set(bearer).expect(401);
    await api().post('/oauth/token').set('Authorization', basic(clientId, clientSecret)).type('form').send({ grant_type: 'client_credentials' }).expect(401);
    await api().get('/scim/v2/Users').set({ Authorization: `Bearer ${clientSecret}` }).expect(401);
  });

  it('revokes the access tokens whichever way the client is revoked: the generic token revoke (CLI) and the token API', async () => {
    const t = await newTenant();
    const admin = { Authorization: `Bearer ${await t.token(['admin'])}` };
    const accessOf = async (clientId: string, clientSecret: string) =>
      (await api().post('/oauth/token').set('Authorization', basic(clientId, clientSecret)).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
    // By id, as `npm run token -- revoke --id <client id>` does.
    const a = await oauth().createClient(t.id, 'by-id', ['scim_provisioning']);
    const tokenA = await accessOf(a.clientId, a.clientSecret);
    expect(await testContext().deps.services.tokens.revokeToken({ id: a.clientId, tenantId: t.id })).to.equal(1);
    await api().get('/scim/v2/Users').set({ Authorization: `Bearer ${tokenA}` }).expect(401);
    // By name, likewise.
    const b = await oauth().createClient(t.id, 'by-name', ['scim_provisioning']);
    const tokenB = await accessOf(b.clientId, b.clientSecret);
    await testContext().deps.services.tokens.revokeToken({ name: 'by-name', tenantId: t.id });
    await api().get('/scim/v2/Users').set({ Authorization: `Bearer ${tokenB}` }).expect(401);
    // A client revoked while its access tokens stayed (as before this fix): DELETE over the token API revokes them still.
    const c = await oauth().createClient(t.id, 'leftover', ['scim_provisioning']);
    const tokenC = await accessOf(c.clientId, c.clientSecret);
    await testContext().db('api_tokens').where({ id: c.clientId }).update({ revoked_at: new Date() });
    await api().get('/scim/v2/Users').set({ Authorization: `Bearer ${tokenC}` }).expect(200);
    await api().delete(`/api/v2/tokens/${c.clientId}`).set(admin).expect(204);
    await api().get('/scim/v2/Users').set({ Authorization: `Bearer ${tokenC}` }).expect(401);
  });
});
