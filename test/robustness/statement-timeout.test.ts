import { expect } from 'chai';
import pino from 'pino';
import request from 'supertest';
import { buildApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { buildDeps } from '../../src/container';
import { createDb, knexConfig, withoutStatementTimeout, type Db } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { translateDbError } from '../../src/db/pg-errors';
import { ServiceUnavailable } from '../../src/domain/errors';
import { tokenRuntimeOf } from '../../src/domain/tokens/token-runtime';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';

describe('robustness: statement timeout (PG_STATEMENT_TIMEOUT_MS)', () => {
  it('is read from the environment (30 s by default, 0: the server\'s own setting) and set on the service\'s connections only', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/x';
    expect(loadConfig({ DATABASE_URL: url }).db).to.include({ statementTimeoutMs: 30_000 });
    expect(knexConfig(loadConfig({ DATABASE_URL: url }).db).connection).to.include({ statement_timeout: 30_000 });
    const db = loadConfig({ DATABASE_URL: url, PG_STATEMENT_TIMEOUT_MS: '5000' }).db;
    expect(db).to.include({ statementTimeoutMs: 5_000 });
    expect(knexConfig(db).connection).to.include({ statement_timeout: 5_000 });
    expect(knexConfig(loadConfig({ DATABASE_URL: url, PG_STATEMENT_TIMEOUT_MS: '0' }).db).connection).to.not.have.property('statement_timeout');
    // Migrations (`npm run migrate`) and the operator commands open the database without it.
    expect(knexConfig(withoutStatementTimeout(db)).connection).to.not.have.property('statement_timeout');
    expect(() => loadConfig({ DATABASE_URL: url, PG_STATEMENT_TIMEOUT_MS: '-1' })).to.throw(/PG_STATEMENT_TIMEOUT_MS/);
  });

  it('turns a cancelled statement or a lock not granted in time into a 503-kind error', () => {
    for (const code of ['57014', '55P03']) expect(translateDbError(Object.assign(new Error('canceling statement'), { code }))).to.be.instanceOf(ServiceUnavailable);
  });

  describe('on PostgreSQL', () => {
    let db: Db | undefined;
    let app: ReturnType<typeof buildApp>;
    let token: string;

    before(async function () {
      this.timeout(120_000);
      const { config } = testContext();
      if (config.db.kind !== 'postgres') {
        // eslint-disable-next-line no-console
        console.log('      skipped on the embedded database: statement_timeout is a setting of PostgreSQL connections');
        this.skip();
      }
      const t = await newTenant();
      token = await t.token(['scim_provisioning']);
      // Enough users that a page sorted by a profile attribute takes well over the timeout.
      await testContext().db.raw(
        `INSERT INTO users (tenant_id, user_name, resource)
         SELECT ?, 'slow-' || i || '@example.com', jsonb_build_object('name', jsonb_build_object('givenName', md5(i::text)))
           FROM generate_series(1, 40000) i`,
        [t.id],
      );
      const timed: Config = { ...config, db: { ...config.db, statementTimeoutMs: 20 } };
      db = createDb(timed.db);
      app = buildApp(buildDeps(timed, db), pino({ level: 'silent' }));
    });

    after(async () => {
      if (db) {
        await tokenRuntimeOf(db).close();
        await db.destroy();
      }
    });

    it('runs migrations at start-up without it (they would fail under it)', async function () {
      this.timeout(120_000);
      const { config } = testContext();
      const pg = config.db;
      if (pg.kind !== 'postgres') return;
      const fresh = async (tag: string) => {
        const name = `roster_migrate_${tag}_${process.pid}_${Date.now()}`;
        await testContext().db.raw(`CREATE DATABASE ${name}`);
        const url = new URL(pg.url);
        url.pathname = `/${name}`;
        return { name, db: { ...pg, url: url.toString(), statementTimeoutMs: 1 } };
      };
      const [a, b] = [await fresh('a'), await fresh('b')];
      const direct = createDb(a.db);
      const service = createDb(b.db);
      try {
        // Under a 1 ms timeout, the migrations' statements do not all finish.
        expect(await direct.migrate.latest().then(() => 'applied', () => 'failed')).to.equal('failed');
        const applied = await migrateLatest(b.db, service, { info: () => undefined });
        expect(applied.length).to.be.above(20);
        const check = createDb({ ...b.db, statementTimeoutMs: 0 });
        try {
          expect((await check.raw('SELECT count(*)::int AS n FROM knex_migrations')).rows[0].n).to.equal(applied.length);
        } finally {
          await check.destroy();
        }
      } finally {
        await direct.destroy();
        await service.destroy();
        for (const { name } of [a, b]) await testContext().db.raw(`DROP DATABASE ${name} WITH (FORCE)`);
      }
    });

    it('turns JIT compilation off on each connection (it cost seconds per overestimated statement)', async () => {
      expect((await db!.raw('SHOW jit')).rows).to.deep.equal([{ jit: 'off' }]);
      expect((await testContext().db.raw('SHOW jit')).rows).to.deep.equal([{ jit: 'off' }]);
    });

    it('sets it on each connection, 30 s unless configured', async () => {
      expect((await db!.raw('SHOW statement_timeout')).rows[0].statement_timeout).to.equal('20ms');
      expect((await testContext().db.raw('SHOW statement_timeout')).rows[0].statement_timeout).to.equal('30s');
    });

    it('answers a statement that runs past it with 503 + Retry-After in the dialect\'s shape, not 500', async () => {
      const res = await request(app)
        .get('/scim/v2/Users')
        .query({ count: 1000, startIndex: 30000, sortBy: 'name.givenName' })
        .set(bearer(token));
      expect(res.status, JSON.stringify(res.body)).to.equal(503);
      expect(res.headers['retry-after']).to.match(/^\d+$/);
      expect(res.body.schemas).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(res.body.detail).to.match(/took too long/);
    });
  });
});
