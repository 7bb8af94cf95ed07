import { expect } from 'chai';
import { testContext } from '../helpers/context';
import { api, bearer } from '../helpers/http';
import { expectScimError, GROUP, patchOp, scimTenant, SEARCH, USER, type ScimTenant } from './helpers';

/** RFC 7644 §3.12 error bodies on every status, and §3.1/§8.1 media types. */
describe('SCIM: errors and media types', () => {
  let t: ScimTenant;
  before(async () => {
    t = await scimTenant();
  });

  describe('error bodies', () => {
    it('answers 401 with a SCIM Error and WWW-Authenticate: Bearer without a valid token', async () => {
      for (const auth of [undefined, 'Bearer nope', 'Basic dXNlcjpwYXNz', 'Bearer ']) {
        let req = api().get('/scim/v2/Users');
        if (auth) req = req.set('Authorization', auth);
        const res = await req;
        expectScimError(res, 401);
        expect(res.headers['www-authenticate']).to.match(/^Bearer/);
      }
      // A token in the query string does not count (the parameter is ignored, as unknown ones are).
      expectScimError(await api().get(`/scim/v2/Users?access_token=${t.token}`), 401);
    });

    it('answers 403 for a token without the scim_provisioning right', async () => {
      const other = await t.mint(['bag_read']);
      const res = await api().get('/scim/v2/Users').set(bearer(other));
      expectScimError(res, 403);
      expectScimError(await api().post('/scim/v2/Groups').set(bearer(other)).set('Content-Type', 'application/scim+json').send(JSON.stringify({ schemas: [GROUP], displayName: 'nope' })), 403);
      const admin = await t.mint(['admin']);
      await api().get('/scim/v2/Users').set(bearer(admin)).expect(200);
    });

    it('answers 404 for unknown endpoints', async () => {
      expectScimError(await t.scim.get('/Widgets'), 404);
      expectScimError(await t.scim.get('/Users/abc/def'), 404);
    });

    for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas', '/ResourceTypes/User', `/Schemas/${USER}`]) {
      it(`answers 405 to POST, PUT, PATCH and DELETE on ${path}`, async () => {
        expectScimError(await t.scim.post(path, { schemas: [USER] }), 405);
        expectScimError(await t.scim.put(path, { schemas: [USER] }), 405);
        expectScimError(await t.scim.patch(path, patchOp({ op: 'replace', path: 'x', value: 1 })), 405);
        expectScimError(await t.scim.delete(path), 405);
      });
    }

    it('answers 400 invalidSyntax for a body that is not JSON, and invalidValue for one that is not an object', async () => {
      const bad = await api().post('/scim/v2/Users').set(bearer(t.token)).set('Content-Type', 'application/scim+json').send('{"schemas": [');
      expectScimError(bad, 400, 'invalidSyntax');
      const arr = await t.scim.post('/Users', [{ schemas: [USER], userName: 'x' }]);
      expectScimError(arr, 400);
    });

    it('answers 413 with a SCIM Error for an oversized body, writing nothing', async () => {
      const huge = { schemas: [USER], userName: 'huge@example.com', nickName: 'x'.repeat(3 * 1024 * 1024) };
      const res = await t.scim.post('/Users', huge);
      expectScimError(res, 413);
      expect(res.body).to.not.have.property('scimType');
      const list = await t.scim.get(`/Users?filter=${encodeURIComponent('userName eq "huge@example.com"')}`).expect(200);
      expect(list.body.totalResults).to.equal(0);
    });

    it('answers 415 with a SCIM Error for a body in an unsupported media type', async () => {
      const res = await api().post('/scim/v2/Users').set(bearer(t.token)).set('Content-Type', 'text/plain').send('userName=x');
      expect(res.status).to.be.oneOf([400, 415]);
      expectScimError(res, res.status);
    });

    it('answers 415 naming what to send for a body without a Content-Type or in text/json', async () => {
      const bare = await api().post('/scim/v2/Users').set(bearer(t.token)).set('Content-Type', '').send(Buffer.from('{"userName":"x"}'));
      expectScimError(bare, 415);
      expect(bare.body.detail).to.equal('the request body has no Content-Type: send it as application/json (SCIM: application/scim+json)');
      const textJson = await api().post('/scim/v2/Users').set(bearer(t.token)).set('Content-Type', 'text/json').send('{"userName":"x"}');
      expectScimError(textJson, 415);
      expect(textJson.body.detail).to.match(/^unsupported media type text\/json: send the body as application\/json/);
    });

    it('answers 500 with a SCIM Error and no internals when something unexpected breaks', async () => {
      const users = testContext().deps.services.users as unknown as Record<string, unknown>;
      const original = users.getUser;
      users.getUser = async () => {
        throw new Error('connection to 10.0.0.7 lost: SELECT * FROM users');
      };
      try {
        const res = await t.scim.get('/Users/00000000-0000-4000-8000-000000000000');
        expectScimError(res, 500);
        expect(res.body.detail).to.not.match(/10\.0\.0\.7|SELECT/);
      } finally {
        users.getUser = original;
      }
    });

    it('keeps internals out of error details', async () => {
      const res = await t.scim.get(`/Users?filter=${encodeURIComponent('userName eq "a" and ( ')}`);
      expectScimError(res, 400, 'invalidFilter');
      expect(res.body.detail).to.not.match(/select|knex|stack|at \w+ \(/i);
    });
  });

  describe('media types', () => {
    const body = (userName: string) => JSON.stringify({ schemas: [USER], userName });

    for (const type of ['application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'application/json;charset=UTF-8']) {
      it(`accepts a request body as ${type}`, async () => {
        const userName = `mt-${Math.random().toString(36).slice(2)}@example.com`;
        const res = await api().post('/scim/v2/Users').set(bearer(t.token)).set('Content-Type', type).send(body(userName)).expect(201);
        expect(res.body.userName).to.equal(userName);
        expect(res.headers['content-type']).to.equal('application/scim+json');
      });
    }

    it('answers with Content-Type application/scim+json exactly, on success and on error, whatever the Accept header', async () => {
      const u = await t.scim.post('/Users', { schemas: [USER], userName: 'ct@example.com' }).expect(201);
      const responses = [
        await api().get(`/scim/v2/Users/${u.body.id}`).set(bearer(t.token)).set('Accept', 'application/json'),
        await api().get('/scim/v2/Users').set(bearer(t.token)),
        await api().get('/scim/v2/ServiceProviderConfig').set(bearer(t.token)),
        await api().get('/scim/v2/Schemas').set(bearer(t.token)),
        await api().post('/scim/v2/Users/.search').set(bearer(t.token)).set('Content-Type', 'application/json').send(JSON.stringify({ schemas: [SEARCH] })),
        await api().get('/scim/v2/Users/00000000-0000-4000-8000-000000000000').set(bearer(t.token)),
        await api().get('/scim/v2/Users'),
        await t.scim.post('/Users', { schemas: [USER], userName: 'ct@example.com' }),
      ];
      expect(responses.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200, 404, 401, 409]);
      for (const r of responses) expect(r.headers['content-type']).to.equal('application/scim+json');
    });
  });

  describe('paths', () => {
    it('accepts a trailing slash on collection and resource paths', async () => {
      const created = await t.scim.post('/Users/', { schemas: [USER], userName: 'slash@example.com' }).expect(201);
      const id = created.body.id as string;
      await t.scim.get('/Users/').expect(200);
      await t.scim.get(`/Users/${id}/`).expect(200);
      await t.scim.patch(`/Users/${id}/`, patchOp({ op: 'replace', path: 'title', value: 't' })).expect(200);
      const g = await t.scim.post('/Groups/', { schemas: [GROUP], displayName: 'slashed' }).expect(201);
      await t.scim.get(`/Groups/?filter=${encodeURIComponent('displayName eq "slashed"')}`).expect(200);
      await t.scim.delete(`/Groups/${g.body.id}/`).expect(204);
      await t.scim.get('/ServiceProviderConfig/').expect(200);
      await t.scim.delete(`/Users/${id}/`).expect(204);
    });
  });
});
