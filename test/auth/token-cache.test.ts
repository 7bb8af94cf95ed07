import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import pino from 'pino';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { createDb, type Db } from '../../src/db/knex';
import { hashToken } from '../../src/domain/tokens/token';
import { createTokenCache } from '../../src/domain/tokens/token-cache';
import { tokenRuntimeOf } from '../../src/domain/tokens/token-runtime';
import { createUsageRecorder } from '../../src/domain/tokens/token-usage';
import { tokensService } from '../../src/domain/tokens/tokens.service';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';
import { eventually, sleep } from '../helpers/wait';
import { appWith } from '../ops/helpers';

const silent = pino({ level: 'silent' });

/** Records the SQL a Knex instance sends while `fn` runs, with its bindings. */
async function statementsDuring(db: Db, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const onQuery = (q: { sql: string; bindings?: unknown[] }) => seen.push(`${q.sql} ${JSON.stringify(q.bindings ?? [])}`);
  db.on('query', onQuery);
  try {
    await fn();
  } finally {
    db.removeListener('query', onQuery);
  }
  return seen;
}

describe('auth: verified tokens are cached, and revocation still takes effect at once', () => {
  let t: TestTenant;
  // Reconciling every minute keeps background rate-limit statements out of the measured window.
  let app: ReturnType<typeof appWith>['app'];
  before(async () => {
    t = await newTenant();
    ({ app } = appWith({ rateLimitSyncMs: 60_000 }));
    await eventually(() => tokenRuntimeOf(testContext().db).cache.enabled);
  });

  it('answers a warm token without any SQL for authentication or rate limiting', async () => {
    const token = await t.token(['scim_provisioning']);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200);
    await sleep(400); // the first use's last-used write lands
    const [row] = await testContext().db('api_tokens').where({ token_hash: hashToken(token) }).select('id');
    const bucketKey = `tok:${createHash('sha256').update(token).digest('base64url').slice(0, 32)}`;
    const sql = await statementsDuring(testContext().db, () => request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200));
    // Other apps on the test database reconcile their own buckets in the background; nothing
    // may concern this token: no lookup by its hash, no bucket take, no last-use write.
    const aboutIt = sql.filter((s) => s.includes(hashToken(token)) || s.includes(bucketKey) || s.includes(row.id) || /pending_sessions/.test(s));
    expect(aboutIt, sql.join('\n')).to.deep.equal([]);
  });

  it('refuses a cached token on the next request once it is revoked through the admin API', async () => {
    const admin = await t.token(['admin']);
    const created = await request(app).post('/api/v2/tokens').set(bearer(admin)).send({ name: 'cached', rights: ['scim_provisioning'] }).expect(200);
    for (let i = 0; i < 2; i++) await request(app).get('/scim/v2/Users?count=0').set(bearer(created.body.secret)).expect(200);
    expect(tokenRuntimeOf(testContext().db).cache.get(hashToken(created.body.secret))?.id).to.equal(created.body.id);
    await request(app).delete(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(204);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(created.body.secret)).expect(401);
  });

  it('refuses cached OAuth access tokens on the next request once their client is revoked', async () => {
    const { services } = testContext().deps;
    const { clientId, clientSecret } = await services.oauth.createClient(t.id, 'idp', ['scim_provisioning']);
    const { accessToken } = await services.oauth.issueAccessToken(clientId, clientSecret);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(accessToken)).expect(200);
    await services.oauth.revokeClient(clientId);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(accessToken)).expect(401);
  });

  it('refuses a cached token whose expiry passes while it is cached', async () => {
    const token = await t.token(['scim_provisioning'], { expiresInMs: 1200 });
    await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200);
    expect(tokenRuntimeOf(testContext().db).cache.get(hashToken(token))).to.not.equal(undefined);
    await sleep(1300);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(401);
  });

  it('hears of a revocation made by plain SQL elsewhere (the CLI, another instance) through NOTIFY', async () => {
    const { config, db } = testContext();
    const token = await t.token(['scim_provisioning']);
    await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200);
    const cache = tokenRuntimeOf(db).cache;
    expect(cache.get(hashToken(token))).to.not.equal(undefined);
    // On PostgreSQL another connection pool (as a CLI process would have); PGlite is one process.
    const other = config.db.kind === 'postgres' ? createDb(config.db) : db;
    try {
      await other('api_tokens').where({ token_hash: hashToken(token) }).update({ revoked_at: other.fn.now() });
      const ms = await eventually(() => cache.get(hashToken(token)) === undefined, 2000);
      expect(ms).to.be.below(1000);
      await request(app).get('/scim/v2/Users?count=0').set(bearer(token)).expect(401);
    } finally {
      if (other !== db) await other.destroy();
    }
  });

  it('does not let a lookup that raced a revocation store the stale token', () => {
    const cache = createTokenCache({ ttlMs: 30_000, maxEntries: 10 });
    cache.setEnabled(true);
    const record = { id: 'a', tenantId: 't', name: 'n', kind: 'token', rights: [], userId: null, expiresAt: null, revokedAt: null, lastUsedAt: null, createdAt: new Date() };
    const epoch = cache.epoch; // the lookup starts…
    cache.invalidate(['a']); // …the revocation is announced…
    cache.set('h', record, epoch); // …and the lookup's (stale) answer arrives.
    expect(cache.get('h')).to.equal(undefined);
    cache.set('h', record, cache.epoch);
    expect(cache.get('h')).to.equal(record);
    cache.setEnabled(false);
    expect(cache.get('h')).to.equal(undefined);
  });

  it('keeps at most maxEntries tokens, dropping the oldest', () => {
    const cache = createTokenCache({ ttlMs: 30_000, maxEntries: 2 });
    cache.setEnabled(true);
    const rec = (id: string) => ({ id, tenantId: 't', name: 'n', kind: 'token', rights: [], userId: null, expiresAt: null, revokedAt: null, lastUsedAt: null, createdAt: new Date() });
    for (const id of ['a', 'b', 'c']) cache.set(`h${id}`, rec(id), cache.epoch);
    expect(cache.size).to.equal(2);
    expect(cache.get('ha')).to.equal(undefined);
    expect(cache.get('hc')?.id).to.equal('c');
  });
});

describe('auth: a second instance (its own Knex and listener) invalidates on revocation', function () {
  this.timeout(30_000);
  let t: TestTenant;
  let other: Db;
  let app2: ReturnType<typeof buildApp>;
  before(async () => {
    t = await newTenant();
    const { config, db, deps } = testContext();
    other = config.db.kind === 'postgres' ? createDb(config.db) : db;
    const { buildDeps } = await import('../../src/container');
    app2 = buildApp(other === db ? deps : buildDeps(config, other), silent);
    await eventually(() => tokenRuntimeOf(other).cache.enabled);
  });
  after(async () => {
    if (other !== testContext().db) {
      await tokenRuntimeOf(other).close();
      await other.destroy();
    }
  });

  it('refuses, on the other instance, a token it had cached, once this one revokes it', async () => {
    const { services } = testContext().deps;
    const token = await t.token(['scim_provisioning']);
    await request(app2).get('/scim/v2/Users?count=0').set(bearer(token)).expect(200);
    const sql = await statementsDuring(other, () => tokensService(other).verifyToken(token));
    expect(sql.filter((s) => s.includes('api_tokens') && !s.includes('SET last_used_at'))).to.deep.equal([]);
    const [row] = await testContext().db('api_tokens').where({ token_hash: hashToken(token) }).select('id');
    await services.tokens.revokeToken({ id: row.id });
    const ms = await eventually(() => tokenRuntimeOf(other).cache.get(hashToken(token)) === undefined, 2000);
    expect(ms).to.be.below(1000);
    await request(app2).get('/scim/v2/Users?count=0').set(bearer(token)).expect(401);
  });

  it('stops caching while its listener is down and starts again once it is back (PostgreSQL), or when it is closed (PGlite)', async () => {
    const runtime = tokenRuntimeOf(other);
    const token = await t.token(['scim_provisioning']);
    if (testContext().config.db.kind === 'postgres') {
      await testContext().db.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'roster-token-listener' AND datname = current_database()");
      await eventually(() => !runtime.cache.enabled);
      // Meanwhile every request looks its token up.
      await tokensService(other).verifyToken(token);
      const sql = await statementsDuring(other, () => tokensService(other).verifyToken(token));
      expect(sql.some((s) => s.includes('api_tokens'))).to.equal(true);
      await eventually(() => runtime.cache.enabled, 10_000);
    } else {
      const db = testContext().db;
      const own = tokenRuntimeOf(db);
      await own.close();
      expect(own.cache.enabled).to.equal(false);
      const sql = await statementsDuring(db, () => tokensService(db).verifyToken(token));
      expect(sql.some((s) => s.includes('api_tokens'))).to.equal(true);
      own.listen(silent);
      await eventually(() => own.cache.enabled);
    }
    await tokensService(other).verifyToken(token);
    const warm = await statementsDuring(other, () => tokensService(other).verifyToken(token));
    expect(warm.filter((s) => s.includes('api_tokens') && !s.includes('SET last_used_at'))).to.deep.equal([]);
  });
});

describe('auth: last use is recorded in batches, off the request path', () => {
  it('writes a use at most once per interval, and moves it on a later use', async () => {
    const { db } = testContext();
    const t = await newTenant();
    const token = await t.token([]);
    const [{ id }] = await db('api_tokens').where({ token_hash: hashToken(token) }).select('id');
    const recorder = createUsageRecorder(() => db as Knex, { intervalMs: 200, flushDelayMs: 10 });
    const lastUsed = async () => ((await db('api_tokens').where({ id }).first()) as { last_used_at: Date | null }).last_used_at;
    recorder.used(id);
    await recorder.flush();
    const first = await lastUsed();
    expect(first).to.be.instanceOf(Date);
    // Within the interval: nothing is written.
    const sql = await statementsDuring(db, async () => {
      recorder.used(id);
      await recorder.flush();
    });
    expect(sql).to.deep.equal([]);
    await sleep(250);
    recorder.used(id);
    await recorder.close();
    const second = await lastUsed();
    expect(second!.getTime()).to.be.greaterThan(first!.getTime());
  });
});
