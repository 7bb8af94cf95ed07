import { expect } from 'chai';
import { findAuditEvents } from '../../src/domain/audit/audit.repository';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { expectApiError, expectUserError, login, setPassword, setSystemRights } from './helpers';

describe('Sessions: /api/v1/session', () => {
  let t: TestTenant;

  beforeEach(async () => {
    t = await newTenant();
  });

  const start = async () => (await api().get('/api/v1/session').expect(200)).body.token as string;
  const authenticate = (query: Record<string, string>) => api().post('/api/v1/session/authenticate').query({ tenant: t.name, ...query });

  describe('GET /api/v1/session', () => {
    it('starts an unauthenticated session and returns its token, never cached', async () => {
      const res = await api().get('/api/v1/session').expect(200);
      expect(res.body.token).to.be.a('string').and.match(/^rst_/);
      expect(res.body.authentication_methods).to.deep.equal([{ method: 'easydb' }]);
      expect(res.body).to.include.keys('instance', 'config');
      expect(res.body).to.not.have.any.keys('user', 'authenticated', 'system_rights');
      expect(res.headers['cache-control']).to.equal('no-store');
    });

    it('returns the session for its token, and Session Not Found for unknown tokens and API tokens', async () => {
      const token = await start();
      expect((await api().get('/api/v1/session').query({ token }).expect(200)).body.token).to.equal(token);
      expectUserError(await api().get('/api/v1/session').query({ token: 'rst_unknown' }), 'session_not_found');
      expectUserError(await api().get('/api/v1/session').query({ token: await t.token(['admin']) }), 'session_not_found');
    });
  });

  describe('POST /api/v1/session/authenticate', () => {
    it('authenticates with login and password in the query string and returns the user, its groups and rights', async () => {
      const user = await t.user({ userName: 'alice', displayName: 'Alice A.' });
      await setPassword(user.id, 'correct horse');
      const g = await t.group({ name: 'Editors' });
      await testContext().deps.services.memberships.addMembers(t.admin, g.id, [{ kind: 'user', id: user.id }]);
      await setSystemRights(g.id, { 'system.group': { create: true } });
      const token = await start();
      const res = await authenticate({ token, login: 'ALICE', password: 'correct horse' }).expect(200);
      expect(res.body.token).to.equal(token);
      expect(res.body.user.user).to.include({ _id: user.seq, login: 'alice', _generated_displayname: 'Alice A.' });
      expect(res.body.groups).to.deep.equal([{ _basetype: 'group', group: { _id: g.seq, name: 'Editors', type: 'easydb' } }]);
      expect(res.body.system_rights).to.deep.equal({ 'system.group': { create: true } });
      expect(res.body.authenticated.method).to.equal('easydb');
      expect(JSON.stringify(res.body)).to.not.include('scrypt');
      expect((await api().get('/api/v1/session').query({ token }).expect(200)).body.user.user._id).to.equal(user.seq);
    });

    it('takes an e-mail login and a password with reserved characters unencoded in the query string (RFC 3986 allows them there)', async () => {
      const user = await t.user({ userName: 'carol@example.com' });
      await setPassword(user.id, 'p@ss!w:rd/?$,;');
      const token = await start();
      const res = await api().post(`/api/v1/session/authenticate?token=${token}&login=carol@example.com&password=p@ss!w:rd/?$,;&tenant=${t.name}`).expect(200);
      expect(res.body.user.user.login).to.equal('carol@example.com');
    });

    it('takes the parameters from a form body, and the token from an Authorization header', async () => {
      const user = await t.user({ userName: 'bob' });
      await setPassword(user.id, 'pw-bob');
      const token = await start();
      await api().post('/api/v1/session/authenticate').type('form').send({ token, login: 'bob', password: 'pw-bob', tenant: t.name }).expect(200);
      const other = await start();
      await api().post('/api/v1/session/authenticate').set(bearer(other)).query({ login: 'bob', password: 'pw-bob', tenant: t.id }).expect(200);
    });

    it('needs no tenant parameter once the session knows its tenant (after a deauthentication)', async () => {
      const user = await t.user({ userName: 'carol' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'carol', 'pw');
      await api().post('/api/v1/session/deauthenticate').query({ token }).expect(200);
      await api().post('/api/v1/session/authenticate').query({ token, login: 'carol', password: 'pw' }).expect(200);
    });

    it('answers Login Failed for a wrong password, an unknown login, a user without password or an unknown tenant', async () => {
      const user = await t.user({ userName: 'dan' });
      await setPassword(user.id, 'right');
      await t.user({ userName: 'nopass' });
      expectUserError(await authenticate({ token: await start(), login: 'dan', password: 'wrong' }), 'login_failed');
      expectUserError(await authenticate({ token: await start(), login: 'nobody', password: 'x' }), 'login_failed');
      expectUserError(await authenticate({ token: await start(), login: 'nopass', password: 'x' }), 'login_failed');
      expectUserError(await authenticate({ token: await start(), login: 'dan', password: 'right', tenant: 'no-such-tenant' }), 'login_failed');
    });

    it('answers the documented errors for empty credentials, other methods, unknown sessions and disabled users', async () => {
      expectUserError(await authenticate({ token: await start(), login: 'x' }), 'username_or_password_empty');
      expectUserError(await authenticate({ token: await start(), login: '', password: 'x' }), 'username_or_password_empty');
      expectUserError(await authenticate({ token: await start(), method: 'anonymous' }), 'authentication_method_not_allowed', { method: 'anonymous' });
      expectUserError(await authenticate({ token: 'rst_nope', login: 'x', password: 'y' }), 'session_not_found');
      expectUserError(await authenticate({ token: await t.token(['admin']), login: 'x', password: 'y' }), 'session_not_found');
      const user = await t.user({ userName: 'eve', active: false });
      await setPassword(user.id, 'pw');
      expectUserError(await authenticate({ token: await start(), login: 'eve', password: 'pw' }), 'login_disabled');
    });

    it('asks for the tenant when several exist and the session has none', async () => {
      await newTenant();
      expectApiError(await api().post('/api/v1/session/authenticate').query({ token: await start(), login: 'x', password: 'y' }), 'invalid_value');
    });

    it('blocks a login after five failures, even with the right password, until the block ends', async () => {
      const user = await t.user({ userName: 'frank' });
      await setPassword(user.id, 'right');
      for (let i = 0; i < 5; i++) expectUserError(await authenticate({ token: await start(), login: 'frank', password: `wrong-${i}` }), 'login_failed');
      const blocked = await authenticate({ token: await start(), login: 'Frank', password: 'right' });
      expectUserError(blocked, 'login_blocked');
      expect(Date.parse((blocked.body.parameters as { until: string }).until)).to.be.greaterThan(Date.now());
      await testContext().db('login_attempts').where({ tenant_id: t.id }).update({ blocked_until: new Date(Date.now() - 1000) });
      await authenticate({ token: await start(), login: 'frank', password: 'right' }).expect(200);
    });

    it('counts every spelling the database takes for the same login together (İ lowers to i): a block holds for all', async () => {
      const user = await t.user({ userName: 'alice' });
      await setPassword(user.id, 'right');
      for (let i = 0; i < 5; i++) expectUserError(await authenticate({ token: await start(), login: 'alice', password: `wrong-${i}` }), 'login_failed');
      const res = await authenticate({ token: await start(), login: 'al\u0130ce', password: 'right' });
      expect(res.status).to.equal(400);
      // Where the database lowers İ to i (PostgreSQL in a UTF-8 locale) it is the same login, blocked; elsewhere another, unknown one.
      const { rows } = await testContext().db.raw("SELECT lower('al\u0130ce') = 'alice' AS same");
      expectUserError(res, (rows as { same: boolean }[])[0].same ? 'login_blocked' : 'login_failed');
    });

    it('counts guesses sent in parallel: five are checked, the rest are blocked, the right password too', async () => {
      const user = await t.user({ userName: 'ida' });
      await setPassword(user.id, 'right');
      const tokens = await Promise.all(Array.from({ length: 20 }, () => start()));
      const answers = await Promise.all(tokens.map((token, i) => authenticate({ token, login: 'ida', password: `wrong-${i}` })));
      const codes = answers.map((a) => (a.body as { code: string }).code);
      expect(codes.filter((c) => c === 'error.user.login_failed')).to.have.length(5);
      expect(codes.filter((c) => c === 'error.user.login_blocked')).to.have.length(15);
      expectUserError(await authenticate({ token: await start(), login: 'ida', password: 'right' }), 'login_blocked');
    });

    it('forgets earlier failures after a successful login', async () => {
      const user = await t.user({ userName: 'gina' });
      await setPassword(user.id, 'right');
      for (let i = 0; i < 4; i++) await authenticate({ token: await start(), login: 'gina', password: 'wrong' }).expect(400);
      await authenticate({ token: await start(), login: 'gina', password: 'right' }).expect(200);
      for (let i = 0; i < 4; i++) await authenticate({ token: await start(), login: 'gina', password: 'wrong' }).expect(400);
      await authenticate({ token: await start(), login: 'gina', password: 'right' }).expect(200);
    });

    it('keeps the blocks of different tenants apart', async () => {
      const other = await newTenant();
      const [mine, theirs] = [await t.user({ userName: 'hal' }), await other.user({ userName: 'hal' })];
      await setPassword(mine.id, 'a');
      await setPassword(theirs.id, 'b');
      for (let i = 0; i < 5; i++) await authenticate({ token: await start(), login: 'hal', password: 'x' }).expect(400);
      await api().post('/api/v1/session/authenticate').query({ token: await start(), login: 'hal', password: 'b', tenant: other.name }).expect(200);
    });

    it('records the login in the audit log', async () => {
      const user = await t.user({ userName: 'ida' });
      await setPassword(user.id, 'pw');
      await login(t, 'ida', 'pw');
      const events = await findAuditEvents(testContext().db, t.id);
      expect(events.map((e) => e.action)).to.include('session.authenticated');
    });
  });

  describe('POST /api/v1/session/deauthenticate', () => {
    it('ends the authentication; the token stays a session that is not authenticated', async () => {
      const user = await t.user({ userName: 'jo' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'jo', 'pw');
      const res = await api().post('/api/v1/session/deauthenticate').query({ token }).expect(200);
      expect(res.body).to.not.have.property('user');
      expect((await api().get('/api/v1/session').query({ token }).expect(200)).body).to.not.have.property('user');
      expectUserError(await api().get('/api/v1/group').query({ token }), 'not_authenticated');
      await api().post('/api/v1/session/deauthenticate').query({ token }).expect(200);
    });

    it('answers Session Not Found for unknown tokens and API tokens, and 401 without any token', async () => {
      expectUserError(await api().post('/api/v1/session/deauthenticate').query({ token: 'rst_nope' }), 'session_not_found');
      expectUserError(await api().post('/api/v1/session/deauthenticate').query({ token: await t.token([]) }), 'session_not_found');
      const res = await api().post('/api/v1/session/deauthenticate').expect(401);
      expect(res.body).to.include({ realm: 'user', code: 'error.user.not_authenticated' });
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    });
  });

  describe('session tokens elsewhere', () => {
    it('answers Not Authenticated for an unauthenticated session on /api/v1/group, and 401 on other dialects', async () => {
      const token = await start();
      expectUserError(await api().get('/api/v1/group').query({ token }), 'not_authenticated');
      expectUserError(await api().get('/api/v1/group').set(bearer(token)), 'not_authenticated');
      await api().get('/api/v2/groups').set(bearer(token)).expect(401);
    });

    it('accepts ?token= on the session and group paths only', async () => {
      const user = await t.user({ userName: 'kim' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'kim', 'pw');
      expectUserError(await api().get('/api/v1/group').query({ token }), 'no_system_right', { right: 'system.group' });
      expect((await api().get('/api/v2/groups').query({ token })).status).to.be.oneOf([400, 401]);
      expect((await api().get('/api/v1/groups').query({ token })).status).to.be.oneOf([400, 401]);
    });

    it('lets an authenticated session use other dialects with the rights its groups give', async () => {
      const user = await t.user({ userName: 'lee' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'lee', 'pw');
      await api().post('/api/v2/groups').set(bearer(token)).send({ name: 'Nope' }).expect(403);
      const admins = await t.group({ name: 'Group admins' });
      await setSystemRights(admins.id, { group_administration: {} });
      await testContext().deps.services.memberships.addMembers(t.admin, admins.id, [{ kind: 'user', id: user.id }]);
      await api().post('/api/v2/groups').set(bearer(token)).send({ name: 'Yes' }).expect(200);
    });

    it('ends with its user: a deactivated or deleted user’s session is unknown from the next request on', async () => {
      const user = await t.user({ userName: 'max' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'max', 'pw');
      await testContext().db('users').where({ id: user.id }).update({ active: false });
      expectUserError(await api().get('/api/v1/group').query({ token }), 'session_not_found');
      expectUserError(await api().get('/api/v1/session').query({ token }), 'session_not_found');
    });

    it('ends for good when the user is deactivated (reactivating brings no session back) or its password changes', async () => {
      const { services } = testContext().deps;
      const user = await t.user({ userName: 'nina' });
      await setPassword(user.id, 'pw');
      const token = await login(t, 'nina', 'pw');
      await api().get('/api/v1/session').query({ token }).expect(200);
      await services.users.patchUser(t.admin, user.id, { active: false });
      await services.users.patchUser(t.admin, user.id, { active: true });
      expectUserError(await api().get('/api/v1/session').query({ token }), 'session_not_found');
      // A password change ends the sessions too; an API token acting as the user stays.
      const again = await login(t, 'nina', 'pw');
      const apiToken = await t.token(['bag_read'], { userId: user.id });
      await services.users.patchUser(t.admin, user.id, { password: 'new-pw' });
      expectUserError(await api().get('/api/v1/session').query({ token: again }), 'session_not_found');
      await api().get('/api/v1/group').set(bearer(apiToken)).expect((r) => expect(r.status).to.not.equal(401));
      // Another change (a title) leaves sessions alone.
      const third = await login(t, 'nina', 'new-pw');
      await services.users.patchUser(t.admin, user.id, { displayName: 'Nina' });
      await api().get('/api/v1/session').query({ token: third }).expect(200);
    });

    it('answers 401 with WWW-Authenticate on /api/v1/group without any token', async () => {
      const res = await api().get('/api/v1/group').expect(401);
      expect(res.body).to.include({ realm: 'user', code: 'error.user.not_authenticated' });
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    });
  });
});
