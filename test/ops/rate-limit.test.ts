import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { postgresRateLimitStore } from '../../src/domain/ratelimit/postgres.store';
import type { RateLimitStore } from '../../src/domain/ratelimit/rate-limit';
import { redisRateLimitStore } from '../../src/domain/ratelimit/redis.store';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer, freshAddress } from '../helpers/http';
import { appWith } from './helpers';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Retry-After is a whole number of seconds, at least 1 (Okta honours only integers). */
function expectRetryAfter(res: request.Response): void {
  expect(res.headers['retry-after'], 'Retry-After').to.match(/^[1-9][0-9]*$/);
}

/** An X-Forwarded-For of two hops whose client (the left-most) no other request has used. */
const someIp = () => `${freshAddress()}, 198.51.100.7`;

describe('ops: rate limits', () => {
  let t: TestTenant;
  before(async () => {
    t = await newTenant();
  });

  describe('per token, in each dialect\'s error shape', () => {
    let app: ReturnType<typeof appWith>['app'];
    let refilling: ReturnType<typeof appWith>['app'];
    before(() => {
      // A slow refill (one request per 100 s) keeps the counts exact however slow the machine is.
      ({ app } = appWith({ rateLimit: { rps: 0.01, burst: 2 } }));
      ({ app: refilling } = appWith({ rateLimit: { rps: 1, burst: 2 } }));
    });

    it('answers 429 with an integer Retry-After once the burst is spent (Groups v2)', async () => {
      const token = await t.token(['admin']);
      await request(app).get('/api/v2/groups').set(bearer(token)).expect(200);
      await request(app).get('/api/v2/groups').set(bearer(token)).expect(200);
      const res = await request(app).get('/api/v2/groups').set(bearer(token)).expect(429);
      expectRetryAfter(res);
      expect(res.body).to.include({ status: 429, code: 'too.many.requests' });
      expect(res.body.message).to.be.a('string');
      // Another token of the same tenant has its own bucket.
      await request(app).get('/api/v2/groups').set(bearer(await t.token(['admin']))).expect(200);
    });

    it('answers a SCIM Error with status "429" and the SCIM media type', async () => {
      const token = await t.token(['scim_provisioning']);
      await request(app).get('/scim/v2/Users').set(bearer(token)).expect(200);
      await request(app).get('/scim/v2/Users').set(bearer(token)).expect(200);
      const res = await request(app).get('/scim/v2/Users').set(bearer(token)).expect(429);
      expectRetryAfter(res);
      expect(res.headers['content-type']).to.match(/^application\/scim\+json/);
      expect(res.body).to.deep.include({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
    });

    it('answers 429 with Retry-After on the v1 groups, group entities and default paths too', async () => {
      const token = await t.token(['all']);
      for (const path of ['/api/v1/groups', `/group/${randomUUID()}`, '/metrics']) {
        const token2 = await t.token(['all']);
        for (let i = 0; i < 2; i++) await request(app).get(path).set(bearer(token2));
        const res = await request(app).get(path).set(bearer(token2)).expect(429);
        expectRetryAfter(res);
        if (path === '/metrics') expect(res.body).to.include({ error: 'rate_limited' });
      }
      expect(token).to.be.a('string');
    });

    it('lets the bucket refill at the configured rate', async function () {
      this.timeout(10_000);
      const token = await t.token(['admin']);
      let refused;
      for (let i = 0; i < 5 && !refused; i++) {
        const res = await request(refilling).get('/api/v2/groups').set(bearer(token));
        if (res.status === 429) refused = res;
      }
      expect(refused?.headers['retry-after']).to.equal('1');
      await new Promise((r) => setTimeout(r, 1100));
      await request(refilling).get('/api/v2/groups').set(bearer(token)).expect(200);
    });

    it('does not limit requests without a token outside the login endpoints', async () => {
      for (let i = 0; i < 5; i++) await request(app).get('/healthz').expect(200);
    });
  });

  describe('per client address on the endpoints used before holding a token', () => {
    let app: ReturnType<typeof appWith>['app'];
    before(() => {
      ({ app } = appWith({ rateLimitUnauth: { rps: 0.01, burst: 2 }, trustProxy: true }));
    });

    it('limits POST /oauth/token per address, answering an OAuth error with Retry-After', async () => {
      const ip = someIp();
      const form = { grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'nope' };
      for (let i = 0; i < 2; i++) await request(app).post('/oauth/token').set('X-Forwarded-For', ip).type('form').send(form).expect(401);
      const res = await request(app).post('/oauth/token').set('X-Forwarded-For', ip).type('form').send(form).expect(429);
      expectRetryAfter(res);
      expect(res.body).to.include({ error: 'temporarily_unavailable' });
      // Another address is not affected.
      await request(app).post('/oauth/token').set('X-Forwarded-For', someIp()).type('form').send(form).expect(401);
    });

    it('limits the session endpoints per address', async () => {
      const ip = someIp();
      for (let i = 0; i < 2; i++) await request(app).get('/api/v1/session').set('X-Forwarded-For', ip);
      const res = await request(app).get('/api/v1/session').set('X-Forwarded-For', ip);
      // The easydb renderer decides the status (its document knows only 400 and 500); the
      // refusal is in its error shape and carries Retry-After either way.
      expect(res.status).to.be.oneOf([400, 429]);
      expect(res.body.realm).to.be.oneOf(['user', 'api']);
      expect(res.body.code).to.match(/^error\./);
      expectRetryAfter(res);
    });

    it('limits the login endpoints whatever the case of their path (Express routes /OAUTH/TOKEN there too)', async () => {
      const ip = someIp();
      const form = { grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'nope' };
      for (let i = 0; i < 2; i++) await request(app).post('/OAUTH/Token').set('X-Forwarded-For', ip).type('form').send(form).expect(401);
      await request(app).post('/oauth/TOKEN').set('X-Forwarded-For', ip).type('form').send(form).expect(429);
      const other = someIp();
      for (let i = 0; i < 2; i++) await request(app).get('/API/V1/SESSION').set('X-Forwarded-For', other);
      expectRetryAfter(await request(app).get('/Api/V1/Session').set('X-Forwarded-For', other));
    });
  });

  it('shares the counters between instances (PostgreSQL store), within one reconciliation interval', async () => {
    const a = appWith({ rateLimit: { rps: 0.01, burst: 2 }, rateLimitSyncMs: 50 });
    const b = appWith({ rateLimit: { rps: 0.01, burst: 2 }, rateLimitSyncMs: 50 });
    expect(a.ops.rateLimitStore.kind).to.equal('postgres');
    const token = await t.token(['admin']);
    await request(a.app).get('/api/v2/groups').set(bearer(token)).expect(200);
    await request(b.app).get('/api/v2/groups').set(bearer(token)).expect(200);
    // Instances take from local buckets and reconcile in the background: after one interval,
    // `a` knows that `b` spent the bucket's second token.
    await new Promise((r) => setTimeout(r, 300));
    const refused = await request(a.app).get('/api/v2/groups').set(bearer(token)).expect(429);
    expectRetryAfter(refused);
    await request(b.app).get('/api/v2/groups').set(bearer(token)).expect(429);
  });

  it('asks the store on every request when RATE_LIMIT_SYNC_MS is 0 (exact across instances)', async () => {
    const a = appWith({ rateLimit: { rps: 0.01, burst: 2 }, rateLimitSyncMs: 0 });
    const b = appWith({ rateLimit: { rps: 0.01, burst: 2 }, rateLimitSyncMs: 0 });
    const token = await t.token(['admin']);
    await request(a.app).get('/api/v2/groups').set(bearer(token)).expect(200);
    await request(b.app).get('/api/v2/groups').set(bearer(token)).expect(200);
    await request(a.app).get('/api/v2/groups').set(bearer(token)).expect(429);
  });

  it('lets requests through, and logs, when the store fails', async () => {
    const broken: RateLimitStore = {
      kind: 'redis',
      take: () => Promise.reject(new Error('down')),
      prune: async () => 0,
      ready: async () => undefined,
      close: async () => undefined,
    };
    const { buildApp } = await import('../../src/app');
    const { createOps } = await import('../../src/ops/ops');
    const pino = (await import('pino')).default;
    const deps = testContext().deps;
    const app = buildApp(deps, pino({ level: 'silent' }), createOps({ ...deps, config: { ...deps.config, ops: { ...deps.config.ops, rateLimit: { rps: 1, burst: 1 } } } }, { rateLimitStore: broken }));
    const token = await t.token(['admin']);
    for (let i = 0; i < 3; i++) await request(app).get('/api/v2/groups').set(bearer(token)).expect(200);
  });

  describe('stores', () => {
    async function exerciseStore(stores: RateLimitStore[]): Promise<void> {
      // A slow refill (one per 100 s) keeps the counts exact however slow the machine is.
      const key = `test:${randomUUID()}`;
      const slow = { rps: 0.01, burst: 3 };
      const verdicts = [];
      for (let i = 0; i < 4; i++) verdicts.push(await stores[i % stores.length].take(key, slow));
      expect(verdicts.map((v) => v.allowed)).to.deep.equal([true, true, true, false]);
      expect(verdicts[3].retryAfterSeconds).to.be.within(1, 100);
      expect(Number.isInteger(verdicts[3].retryAfterSeconds)).to.equal(true);
      // Refill: empty a fast bucket, wait for one token, take it on the other connection.
      const fast = { rps: 5, burst: 1 };
      const key2 = `test:${randomUUID()}`;
      let refused = false;
      for (let i = 0; i < 20 && !refused; i++) refused = !(await stores[0].take(key2, fast)).allowed;
      expect(refused).to.equal(true);
      await new Promise((r) => setTimeout(r, 300));
      expect((await stores[1 % stores.length].take(key2, fast)).allowed).to.equal(true);
    }

    it('PostgreSQL: a token bucket with one atomic upsert per take', async () => {
      const store = postgresRateLimitStore(testContext().db);
      await exerciseStore([store]);
      // Many concurrent takes on one key never overspend the burst.
      const key = `test:${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 30 }, () => store.take(key, { rps: 0.01, burst: 10 })));
      expect(results.filter((r) => r.allowed)).to.have.length(10);
      expect(await store.prune(0)).to.be.at.least(1);
    });

    it('Redis (REDIS_URL): the same bucket, shared by two connections', async function () {
      const a = redisRateLimitStore(REDIS_URL);
      const b = redisRateLimitStore(REDIS_URL);
      try {
        const ok = await Promise.race([Promise.all([a.ready(), b.ready()]).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]).catch(() => false);
        if (!ok) {
          // eslint-disable-next-line no-console
          console.log(`      skipped: no Redis at ${REDIS_URL} (set TEST_REDIS_URL)`);
          this.skip();
        }
        await exerciseStore([a, b]);
        // Local takes reported in one batch: the bucket loses them, but never goes below -burst.
        const limit = { rps: 0.001, burst: 5 };
        const key = `reconcile:${Date.now()}:${Math.random()}`;
        expect((await a.reconcile!([{ key, limit, taken: 3 }])).get(key)).to.be.closeTo(2, 0.01);
        expect((await b.reconcile!([{ key, limit, taken: 0 }])).get(key)).to.be.closeTo(2, 0.01);
        expect((await a.reconcile!([{ key, limit, taken: 100 }])).get(key)).to.equal(-5);
        expect((await b.take(key, limit)).allowed).to.equal(false);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
