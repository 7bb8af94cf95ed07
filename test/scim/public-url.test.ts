import { expect } from 'chai';
import pino from 'pino';
import supertest from 'supertest';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { testContext } from '../helpers/context';
import { BULK_REQUEST, GROUP, USER, scimTenant, type ScimTenant } from './helpers';

describe('SCIM: absolute URLs on PUBLIC_URL', () => {
  it('reads PUBLIC_URL as an http(s) origin with an optional path, without its trailing slash', () => {
    expect(loadConfig({}).publicUrl).to.equal(undefined);
    expect(loadConfig({ PUBLIC_URL: 'https://roster.example.com/' }).publicUrl).to.equal('https://roster.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://Example.COM:8080/identity//' }).publicUrl).to.equal('http://example.com:8080/identity');
    for (const bad of ['roster.example.com', 'ftp://roster.example.com', 'https://roster.example.com/?a=1', 'https://u:p@roster.example.com', 'https://x#y']) {
      expect(() => loadConfig({ PUBLIC_URL: bad }), bad).to.throw(/PUBLIC_URL/);
    }
  });

  describe('with PUBLIC_URL set', () => {
    const origin = 'https://roster.example.com/identity';
    let t: ScimTenant;
    let scim: (method: 'get' | 'post', path: string) => supertest.Test;

    before(async () => {
      t = await scimTenant();
      const { deps } = testContext();
      const app = buildApp({ ...deps, config: { ...deps.config, publicUrl: origin } }, pino({ level: 'silent' }));
      // A Host header an attacker (or an internal proxy) chose is not what clients are sent to.
      scim = (method, path) =>
        supertest(app)[method](`/scim/v2${path}`).set('Host', 'evil.example').set('Authorization', `Bearer ${t.token}`).set('Content-Type', 'application/scim+json');
    });

    it('builds Location, meta.location and $ref on it, whatever the Host header says', async () => {
      const user = await scim('post', '/Users').send({ schemas: [USER], userName: 'public-url@example.com' }).expect(201);
      expect(user.headers.location).to.equal(`${origin}/scim/v2/Users/${user.body.id}`);
      expect(user.body.meta.location).to.equal(user.headers.location);
      const group = await scim('post', '/Groups').send({ schemas: [GROUP], displayName: 'Public URL', members: [{ value: user.body.id }] }).expect(201);
      expect(group.headers.location).to.equal(`${origin}/scim/v2/Groups/${group.body.id}`);
      const read = await scim('get', `/Groups/${group.body.id}`).expect(200);
      expect(read.body.members[0].$ref).to.equal(`${origin}/scim/v2/Users/${user.body.id}`);
      const listed = await scim('get', `/Users?filter=${encodeURIComponent('userName eq "public-url@example.com"')}`).expect(200);
      expect(listed.body.Resources[0].groups[0].$ref).to.equal(`${origin}/scim/v2/Groups/${group.body.id}`);
      const config = await scim('get', '/ServiceProviderConfig').expect(200);
      expect(config.body.meta.location).to.equal(`${origin}/scim/v2/ServiceProviderConfig`);
      const bulk = await scim('post', '/Bulk')
        .send({ schemas: [BULK_REQUEST], Operations: [{ method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER], userName: 'public-bulk@example.com' } }] })
        .expect(200);
      expect(bulk.body.Operations[0].location).to.match(new RegExp(`^${origin}/scim/v2/Users/[0-9a-f-]{36}$`));
    });

    it('leaves the Host header in charge where PUBLIC_URL is unset', async () => {
      const res = await t.scim.post('/Users', { schemas: [USER], userName: 'host-url@example.com' }).set('Host', 'roster.internal:8080').expect(201);
      expect(res.headers.location).to.equal(`http://roster.internal:8080/scim/v2/Users/${res.body.id}`);
    });
  });
});
