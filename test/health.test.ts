import { expect } from 'chai';
import type { Express } from 'express';
import pino from 'pino';
import supertest from 'supertest';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { buildDeps } from '../src/container';
import { createDb } from '../src/db/knex';
import { api } from './helpers/http';

describe('health', () => {
  it('GET /healthz answers ok without a token', async () => {
    const res = await api().get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });

  it('GET /readyz answers ok when the database answers', async () => {
    const res = await api().get('/readyz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });

  it('echoes a sane X-Request-Id and replaces a hostile one', async () => {
    const mine = await api().get('/healthz').set('X-Request-Id', 'abc-123').expect(200);
    expect(mine.headers['x-request-id']).to.equal('abc-123');
    const hostile = await api().get('/healthz').set('X-Request-Id', 'a b\tc<script>').expect(200);
    expect(hostile.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });
});

/** Runs `fn` against an app built on the database `env` names (one of its own), and closes that database. */
async function withAppOn(env: Record<string, string>, fn: (app: Express) => Promise<void>): Promise<void> {
  const config = loadConfig({ NODE_ENV: 'test', ...env });
  const db = createDb(config.db);
  try {
    await fn(buildApp(buildDeps(config, db), pino({ level: 'silent' })));
  } finally {
    await db.destroy();
  }
}

describe('readiness when the database is down', () => {
  it('a database that does not exist, or refuses the role, is a 503 too (a deployment error, not a 500)', async function () {
    const server = process.env.TEST_DATABASE_URL;
    if (!server) {
      // eslint-disable-next-line no-console
      console.log('      skipped without TEST_DATABASE_URL: it needs a PostgreSQL server to refuse the database');
      this.skip();
    }
    const url = new URL(server!);
    url.pathname = '/roster_no_such_database';
    await withAppOn({ DATABASE_URL: url.toString() }, async (app) => {
      await supertest(app).get('/readyz').expect(503);
      const data = await supertest(app).get('/scim/v2/Users').set('Authorization', 'Bearer rst_x').expect(503);
      expect(data.body).to.include({ status: '503' });
    });
  });

  it('a database without Roster\'s tables is not ready', async () => {
    await withAppOn({ PGLITE_DIR: 'memory://' }, async (app) => {
      await supertest(app).get('/readyz').expect(503);
    });
  });

  it('GET /readyz answers 503 and a data request answers 503 with Retry-After, not a hang or a 500', async () => {
    await withAppOn({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }, async (app) => {
      const ready = await supertest(app).get('/readyz').expect(503);
      expect(ready.body).to.deep.equal({ status: 'unavailable' });
      const data = await supertest(app).get('/api/v2/groups').set('Authorization', 'Bearer rst_x').expect(503);
      expect(data.headers['retry-after']).to.match(/^\d+$/);
      expect(data.body).to.include({ status: 503, code: 'service.unavailable' });
    });
  });
});
