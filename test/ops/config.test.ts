import { expect } from 'chai';
import pg from 'pg';
import { ConfigError, loadConfig, type DbConfig } from '../../src/config';
import { knexConfig } from '../../src/db/knex';

const pgDb = (env: Record<string, string>): Extract<DbConfig, { kind: 'postgres' }> => {
  const db = loadConfig(env).db;
  if (db.kind !== 'postgres') throw new Error('expected PostgreSQL');
  return db;
};

/** The TLS settings pg's client ends up with for a config (the URL's own parameters applied). */
function clientSsl(db: DbConfig): unknown {
  const client = new pg.Client(knexConfig(db).connection as pg.ClientConfig);
  return (client as unknown as { connectionParameters: { ssl: unknown } }).connectionParameters.ssl;
}

describe('ops: configuration', () => {
  describe('TLS to PostgreSQL (sslmode in DATABASE_URL, or PGSSLMODE)', () => {
    const base = 'postgres://u:p@db.example.com:5432/d1';

    it('reads sslmode with libpq\'s meaning: require encrypts without checking the certificate (Heroku), verify-* check it', () => {
      const cases: [Record<string, string>, false | { rejectUnauthorized: boolean }][] = [
        [{ DATABASE_URL: base }, false],
        [{ DATABASE_URL: base, PGSSLMODE: 'require' }, { rejectUnauthorized: false }],
        [{ DATABASE_URL: base, PGSSLMODE: 'no-verify' }, { rejectUnauthorized: false }],
        [{ DATABASE_URL: `${base}?sslmode=require` }, { rejectUnauthorized: false }],
        [{ DATABASE_URL: `${base}?sslmode=prefer` }, { rejectUnauthorized: false }],
        [{ DATABASE_URL: `${base}?ssl=true` }, { rejectUnauthorized: false }],
        [{ DATABASE_URL: `${base}?sslmode=verify-full` }, { rejectUnauthorized: true }],
        [{ DATABASE_URL: `${base}?sslmode=VERIFY-CA` }, { rejectUnauthorized: true }],
        [{ DATABASE_URL: `${base}?sslmode=disable`, PGSSLMODE: 'require' }, false], // the URL wins, as in libpq
        [{ DATABASE_URL: `${base}?ssl=false` }, false],
      ];
      for (const [env, ssl] of cases) expect(pgDb(env).ssl, JSON.stringify(env)).to.deep.equal(ssl);
    });

    it('takes sslmode and ssl out of the URL, so pg cannot turn require into verify-full behind Roster\'s back', () => {
      const db = pgDb({ DATABASE_URL: `${base}?sslmode=require&application_name=x&ssl=true` });
      expect(db.url).to.equal(`${base}?application_name=x`);
      // What pg's client will do: encrypt, without checking the certificate (it checked it before).
      expect(clientSsl(db)).to.deep.equal({ rejectUnauthorized: false });
      expect(clientSsl(pgDb({ DATABASE_URL: `${base}?sslmode=verify-full` }))).to.deep.equal({ rejectUnauthorized: true });
      expect(clientSsl(pgDb({ DATABASE_URL: base }))).to.equal(false);
    });

    it('refuses an sslmode it does not know (a typo was silently no TLS at all)', () => {
      expect(() => loadConfig({ DATABASE_URL: base, PGSSLMODE: 'requir' })).to.throw(ConfigError, /PGSSLMODE must be one of disable, allow, prefer, require/);
      expect(() => loadConfig({ DATABASE_URL: `${base}?sslmode=on` })).to.throw(ConfigError, /sslmode in DATABASE_URL/);
      expect(() => loadConfig({ DATABASE_URL: 'not a url' })).to.throw(ConfigError, /DATABASE_URL is not a valid URL/);
    });
  });

  it('checks TRUST_PROXY\'s addresses and subnets as Express will read them (a bad one crashed the start with a TypeError)', () => {
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, ::1, 192.168.0.0/255.255.0.0, fc00::/7' }).ops.trustProxy).to.deep.equal([
      'loopback',
      '10.0.0.0/8',
      '::1',
      '192.168.0.0/255.255.0.0',
      'fc00::/7',
    ]);
    for (const bad of ['maybe', '10.0.0.0/33', '10.0.0.1/8/1', 'example.com', '::1/255.0.0.0']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).to.throw(ConfigError, /TRUST_PROXY must be/);
    }
  });

  it('waits at most 10 s for a pooled PostgreSQL connection, and probes idle ones after 10 s', () => {
    const config = knexConfig(pgDb({ DATABASE_URL: 'postgres://h/d' }));
    expect(config.acquireConnectionTimeout).to.equal(10_000);
    expect(config.connection).to.include({ keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 5_000 });
  });

  it('reads integers as decimal digits only', () => {
    expect(loadConfig({ PORT: '4121' }).port).to.equal(4121);
    expect(loadConfig({ PORT: ' 4121 ' }).port).to.equal(4121);
    for (const bad of ['0x10E1', '1e3', '4121.0', '4_121', '+4121']) expect(() => loadConfig({ PORT: bad }), bad).to.throw(ConfigError, /PORT must be an integer/);
    expect(() => loadConfig({ PGPOOL_MAX: '1e2', DATABASE_URL: 'postgres://h/d' })).to.throw(ConfigError, /PGPOOL_MAX/);
  });

  it('refuses METRICS_PORT equal to PORT (the second listener crashed the start)', () => {
    expect(() => loadConfig({ PORT: '4000', METRICS_PORT: '4000' })).to.throw(ConfigError, /METRICS_PORT must differ from PORT \(both 4000\)/);
    expect(loadConfig({ PORT: '4000', METRICS_PORT: '9100' }).ops.metricsPort).to.equal(9100);
  });

  it('refuses to start in production without DATABASE_URL, unless the embedded database is asked for', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).to.throw(ConfigError, /DATABASE_URL is unset with NODE_ENV=production/);
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: '' })).to.throw(ConfigError, /DATABASE_URL is unset/);
    expect(loadConfig({ NODE_ENV: 'production', PGLITE_DIR: '/var/roster' }).db).to.include({ kind: 'pglite', dir: '/var/roster' });
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://h/d' }).db.kind).to.equal('postgres');
    expect(loadConfig({}).db.kind).to.equal('pglite');
  });
});
