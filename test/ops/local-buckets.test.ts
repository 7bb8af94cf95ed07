import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { localBuckets } from '../../src/domain/ratelimit/local-buckets';
import { postgresRateLimitStore } from '../../src/domain/ratelimit/postgres.store';
import type { RateLimitStore, Reconciliation } from '../../src/domain/ratelimit/rate-limit';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';
import { appWith } from './helpers';

type Reconciling = RateLimitStore & Required<Pick<RateLimitStore, 'reconcile'>>;

/** The PostgreSQL store, counting what reaches it. */
function countingStore(): { store: Reconciling; takes: string[]; batches: Reconciliation[][] } {
  const inner = postgresRateLimitStore(testContext().db) as Reconciling;
  const takes: string[] = [];
  const batches: Reconciliation[][] = [];
  return {
    takes,
    batches,
    store: {
      ...inner,
      take: (key, limit) => (takes.push(key), inner.take(key, limit)),
      reconcile: (batch) => (batches.push(batch), inner.reconcile(batch)),
    },
  };
}

const slow = { rps: 0.01, burst: 4 };

describe('ops: rate limits from local buckets, reconciled in the background', () => {
  it('takes a warm key from the local bucket: one store call for the first request, none after', async () => {
    const { store, takes, batches } = countingStore();
    const buckets = localBuckets(store, { syncMs: 60_000 });
    const key = `test:${randomUUID()}`;
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(await buckets.take(key, slow));
    expect(verdicts.map((v) => v.allowed)).to.deep.equal([true, true, true, true, false, false]);
    expect(Number.isInteger(verdicts[4].retryAfterSeconds) && verdicts[4].retryAfterSeconds >= 1).to.equal(true);
    expect(takes).to.deep.equal([key]);
    expect(batches).to.deep.equal([]);
    await buckets.flush();
    expect(batches).to.have.length(1);
    expect(batches[0]).to.deep.equal([{ key, limit: slow, taken: 3 }]);
    // The shared bucket now holds what this instance spent: a new instance starts empty.
    const fresh = localBuckets(store, { syncMs: 60_000 });
    expect((await fresh.take(key, slow)).allowed).to.equal(false);
  });

  it('lets concurrent first requests share one store call', async () => {
    const { store, takes } = countingStore();
    const buckets = localBuckets(store, { syncMs: 60_000 });
    const key = `test:${randomUUID()}`;
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => buckets.take(key, slow)));
    expect(verdicts.filter((v) => v.allowed)).to.have.length(4);
    expect(takes).to.have.length(1);
  });

  it('bounds what instances overspend between reconciliations, and makes them pay it back', async () => {
    const { store } = countingStore();
    const a = localBuckets(store, { syncMs: 60_000 });
    const b = localBuckets(store, { syncMs: 60_000 });
    const key = `test:${randomUUID()}`;
    let allowed = 0;
    for (let i = 0; i < 6; i++) allowed += Number((await a.take(key, slow)).allowed);
    for (let i = 0; i < 6; i++) allowed += Number((await b.take(key, slow)).allowed);
    // a: 4 (its first take left 3 in the store); b started from the store's 3 before a reported.
    expect(allowed).to.equal(7);
    await a.flush();
    await b.flush();
    const after = [await a.take(key, slow), await b.take(key, slow)];
    expect(after.map((v) => v.allowed)).to.deep.equal([false, false]);
    // The debt (3 over the burst) is paid back before anything passes again.
    expect(after[1].retryAfterSeconds).to.be.greaterThan(300);
  });

  it('floors a shared bucket at -burst and returns each level in one statement', async () => {
    const { db } = testContext();
    const store = postgresRateLimitStore(db) as Reconciling;
    const [k1, k2] = [`test:${randomUUID()}`, `test:${randomUUID()}`];
    const statements: string[] = [];
    const onQuery = (q: { sql: string }) => statements.push(q.sql);
    db.on('query', onQuery);
    try {
      const levels = await store.reconcile([
        { key: k1, limit: slow, taken: 100 },
        { key: k2, limit: slow, taken: 1 },
      ]);
      expect(levels.get(k1)).to.equal(-4);
      expect(levels.get(k2)).to.be.closeTo(3, 0.01);
    } finally {
      db.removeListener('query', onQuery);
    }
    expect(statements).to.have.length(1);
  });

  it('keeps the counts of a failed reconciliation for the next one', async () => {
    const { store, batches } = countingStore();
    let fail = true;
    const flaky: Reconciling = { ...store, reconcile: (batch) => (fail ? ((fail = false), Promise.reject(new Error('down'))) : store.reconcile(batch)) };
    const errors: unknown[] = [];
    const buckets = localBuckets(flaky, { syncMs: 60_000, onError: (e) => errors.push(e) });
    const key = `test:${randomUUID()}`;
    for (let i = 0; i < 3; i++) await buckets.take(key, slow);
    await buckets.flush();
    expect(errors).to.have.length(1);
    await buckets.take(key, slow);
    await buckets.flush();
    expect(batches.at(-1)).to.deep.equal([{ key, limit: slow, taken: 3 }]);
  });

  it('answers a burst of N + k requests with k 429s carrying an integer Retry-After, with no per-request store call', async () => {
    const { store, takes, batches } = countingStore();
    const { app } = appWith({ rateLimit: { rps: 0.01, burst: 5 }, rateLimitSyncMs: 60_000 }, { rateLimitStore: store });
    const token = await (await newTenant()).token(['admin']);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(app).get('/api/v2/groups').set(bearer(token));
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers['retry-after']).to.match(/^[1-9][0-9]*$/);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(takes).to.have.length(1);
    expect(batches).to.have.length(0);
  });
});
