import http from 'node:http';
import { expect } from 'chai';
import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { ConfigError, loadConfig } from '../../src/config';
import type { RateLimitStore } from '../../src/domain/ratelimit/rate-limit';
import { newTenant } from '../helpers/factories';
import { api, bearer, freshAddress } from '../helpers/http';
import { appWith } from './helpers';
import { HELMET_OPTIONS, helmetHeaders } from '../../src/http/common/hardening';

describe('ops: hardening', () => {
  it('sends helmet\'s security headers', async () => {
    const res = await api().get('/healthz').expect(200);
    expect(res.headers).to.include({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN' });
    expect(res.headers['strict-transport-security']).to.match(/max-age=\d+/);
    expect(res.headers['content-security-policy']).to.include("default-src 'self'");
    expect(res.headers).to.not.have.property('x-powered-by');
  });

  it('sends exactly the headers helmet sets, decided once at start-up', async () => {
    const plain = http.createServer((req, res) => helmet(HELMET_OPTIONS)(req, res, () => res.end()));
    const fromHelmet = (await request(plain).get('/').expect(200)).headers;
    const transport = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
    const names = Object.keys(fromHelmet).filter((n) => !transport.has(n));
    expect(names.length).to.be.greaterThan(10);
    const ours = (await api().get('/healthz').expect(200)).headers;
    for (const name of names) expect(ours[name], name).to.equal(fromHelmet[name]);
    // The app answers with the replay, not helmet's middlewares: the replay is what was compared.
    expect(helmetHeaders(HELMET_OPTIONS).name).to.equal('replayedHelmetHeaders');
  });

  it('keeps helmet on every request when its options compute a header per request', async () => {
    let n = 0;
    const nonce = helmetHeaders({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", () => `'nonce-${++n}'`] } } });
    expect(nonce.name).to.equal('helmetMiddleware');
    const app = express().use(nonce).get('/', (_req, res) => void res.end());
    expect((await request(app).get('/')).headers['content-security-policy']).to.include("'nonce-1'");
    expect((await request(app).get('/')).headers['content-security-policy']).to.include("'nonce-2'");
  });

  it('marks every answer but the documentation Cache-Control: no-store, errors included', async () => {
    const t = await newTenant();
    const token = await t.token(['all']);
    for (const path of ['/healthz', '/api/v2/groups', '/scim/v2/Users', '/api/v1/groups/', '/api/v2/tokens', '/api/v2/groups/nope']) {
      const res = await api().get(path).set(bearer(token));
      expect(res.headers['cache-control'], path).to.equal('no-store');
    }
    expect((await api().get('/scim/v2/Users')).headers['cache-control']).to.equal('no-store');
    expect((await api().get('/openapi.json').expect(200)).headers['cache-control']).to.not.equal('no-store');
  });

  it('sends no CORS headers unless CORS_ORIGINS is set', async () => {
    const res = await api().get('/healthz').set('Origin', 'https://evil.example').expect(200);
    expect(res.headers).to.not.have.property('access-control-allow-origin');
    await api().options('/api/v2/groups').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'GET').expect(405);
  });

  it('allows the configured origins only, and answers their preflights', async () => {
    const { app } = appWith({ corsOrigins: ['https://app.example.com'] });
    const pre = await request(app).options('/api/v2/groups').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST').expect(204);
    expect(pre.headers['access-control-allow-origin']).to.equal('https://app.example.com');
    expect(pre.headers['access-control-allow-headers']).to.include('Authorization');
    const get = await request(app).get('/healthz').set('Origin', 'https://app.example.com').expect(200);
    expect(get.headers['access-control-expose-headers']).to.include('Retry-After');
    expect(get.headers.vary).to.match(/Origin/);
    const other = await request(app).get('/healthz').set('Origin', 'https://evil.example').expect(200);
    expect(other.headers).to.not.have.property('access-control-allow-origin');
  });

  it('reads its settings from the environment, refusing bad values by name', () => {
    const ops = loadConfig({ TRUST_PROXY: '1', CORS_ORIGINS: 'https://a.example, https://b.example:8443/', REQUEST_TIMEOUT_MS: '60000', METRICS_PORT: '9100', RATE_LIMIT_RPS: '0' }).ops;
    expect(ops).to.deep.include({ trustProxy: 1, corsOrigins: ['https://a.example', 'https://b.example:8443'], requestTimeoutMs: 60_000, metricsPort: 9100 });
    expect(ops.rateLimit.rps).to.equal(0);
    expect(loadConfig({}).ops).to.deep.include({ trustProxy: false, corsOrigins: [], metricsPort: undefined, redisUrl: undefined, auditRetentionDays: 90 });
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).ops.trustProxy).to.deep.equal(['loopback', '10.0.0.0/8']);
    expect(loadConfig({ RATE_LIMIT_UNAUTH_RPS: '0.5' }).ops.rateLimitUnauth.rps).to.equal(0.5);
    for (const env of [{ CORS_ORIGINS: 'app.example.com' }, { HEADERS_TIMEOUT_MS: '40000' }, { REDIS_URL: 'http://x' }, { RATE_LIMIT_BURST: '0' }, { RATE_LIMIT_RPS: 'fast' }, { TRUST_PROXY: 'a b' }]) {
      expect(() => loadConfig(env), JSON.stringify(env)).to.throw(ConfigError);
    }
  });

  it('takes the client address from X-Forwarded-For only when TRUST_PROXY says so', async () => {
    // Visible through the per-address limit of /oauth/token: one request per address.
    const trusted = appWith({ trustProxy: true, rateLimitUnauth: { rps: 0.01, burst: 1 } }).app;
    const form = { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' };
    const a = freshAddress();
    await request(trusted).post('/oauth/token').set('X-Forwarded-For', a).type('form').send(form).expect(401);
    await request(trusted).post('/oauth/token').set('X-Forwarded-For', a).type('form').send(form).expect(429);
    await request(trusted).post('/oauth/token').set('X-Forwarded-For', freshAddress()).type('form').send(form).expect(401);

    // Untrusted (the default): the header is ignored, the bucket is the socket's address.
    const keys: string[] = [];
    const recording: RateLimitStore = {
      kind: 'postgres',
      take: async (key) => (keys.push(key), { allowed: true, retryAfterSeconds: 0 }),
      prune: async () => 0,
      ready: async () => undefined,
      close: async () => undefined,
    };
    const untrusted = appWith({}, { rateLimitStore: recording }).app;
    await request(untrusted).post('/oauth/token').set('X-Forwarded-For', a).type('form').send(form).expect(401);
    expect(keys).to.have.length(1);
    expect(keys[0]).to.match(/^ip:(::ffff:)?127\.0\.0\.1$/);
  });
});
