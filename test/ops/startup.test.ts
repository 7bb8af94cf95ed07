import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createDb, holdDataDir, migrationsDir } from '../../src/db/knex';
import { migrateLatest, pendingMigrations } from '../../src/db/migrate';
import { bootstrapAdmin } from '../../src/bootstrap';
import { buildServices } from '../../src/container';
import { testContext } from '../helpers/context';

const root = path.resolve(__dirname, '..', '..');

function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/server.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A server that started would keep running: stop it so the test fails on its exit code.
    const kill = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stderr });
    });
  });
}

describe('ops: start-up on a database whose schema is behind the build', function () {
  this.timeout(120_000);
  const migrations = fs.readdirSync(migrationsDir).filter((f) => f.endsWith('.ts'));

  it('pendingMigrations: none on the migrated database, all on a new one, and it creates nothing', async () => {
    expect(await pendingMigrations(testContext().db)).to.deep.equal([]);
    const fresh = createDb({ kind: 'pglite', dir: 'memory://', vacuumIntervalSeconds: 0 });
    try {
      const pending = await pendingMigrations(fresh);
      expect(pending).to.have.length(migrations.length);
      expect(pending[0]).to.equal(migrations.sort()[0].replace(/\.ts$/, ''));
      expect(await fresh.schema.hasTable('knex_migrations')).to.equal(false);
      await fresh.migrate.latest();
      expect(await pendingMigrations(fresh)).to.deep.equal([]);
    } finally {
      await fresh.destroy();
    }
  });

  it('an embedded data directory is held by one process at a time (a second server, or the CLI beside it, lost writes)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-held-'));
    const config = { kind: 'pglite' as const, dir, vacuumIntervalSeconds: 0 };
    try {
      const first = createDb(config);
      await first.raw('SELECT 1');
      expect(fs.readFileSync(path.join(dir, 'roster.pid'), 'utf8')).to.equal(String(process.pid));
      expect(() => createDb(config)).to.throw(/the embedded database in .* is in use by this process already/);
      // Another live process holds it: refused, naming it.
      const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
      try {
        await first.destroy();
        expect(fs.existsSync(path.join(dir, 'roster.pid')), 'released by destroy').to.equal(false);
        fs.writeFileSync(path.join(dir, 'roster.pid'), String(other.pid));
        expect(() => holdDataDir(config)).to.throw(new RegExp(`in use by process ${other.pid}: PGlite is single-process`));
        const { code, stderr } = await runServer({ PGLITE_DIR: dir });
        expect(code, stderr).to.equal(1);
        expect(stderr).to.match(new RegExp(`configuration error: the embedded database in .* is in use by process ${other.pid}`));
      } finally {
        other.kill('SIGKILL');
        await new Promise((resolve) => other.once('exit', resolve));
      }
      // The holder is gone: its file is stale and taken over.
      const again = createDb(config);
      try {
        await again.raw('SELECT 1');
        expect(fs.readFileSync(path.join(dir, 'roster.pid'), 'utf8')).to.equal(String(process.pid));
      } finally {
        await again.destroy();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two instances starting together on a new PostgreSQL database: one migrates, the other waits and finds it done; one tenant, one token', async function () {
    const { config } = testContext();
    if (config.db.kind !== 'postgres') {
      // eslint-disable-next-line no-console
      console.log('      skipped on the embedded database: it is single-process (see the data directory test)');
      this.skip();
    }
    const name = `roster_race_${process.pid}_${Date.now()}`;
    await testContext().db.raw(`CREATE DATABASE ${name}`);
    const url = new URL(config.db.url);
    url.pathname = `/${name}`;
    const dbConfig = { ...config.db, url: url.toString() };
    // The operator's commands say the same, in one line, rather than fail on a missing table.
    const cli = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/tenant.ts', 'create', '--name', 'x'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: dbConfig.url },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stderr.trim()).to.match(/^tenant: configuration error: the database schema is behind this build: \d+ migrations pending .*npm run migrate/);
    const [a, b] = [createDb(dbConfig), createDb(dbConfig)];
    try {
      const applied = await Promise.all([a, b].map((db) => migrateLatest(dbConfig, db, { info: () => undefined })));
      expect(applied.map((x) => x.length).sort((x, y) => x - y)).to.deep.equal([0, migrations.length]);
      expect((await a.raw('SELECT count(*)::int AS n FROM knex_migrations_lock')).rows[0].n).to.equal(1);
      expect(await pendingMigrations(b)).to.deep.equal([]);
      // Both then bootstrap: one tenant `default`, one admin token, and neither start fails.
      const made = await Promise.all([a, b].map((db) => bootstrapAdmin(db, buildServices(db))));
      expect(made.filter(Boolean)).to.have.length(1);
      expect((await a('tenants').pluck('name')) as string[]).to.deep.equal(['default']);
    } finally {
      await a.destroy();
      await b.destroy();
      await testContext().db.raw(`DROP DATABASE ${name} WITH (FORCE)`);
    }
  });

  it('the server says which port is taken, in one line, rather than crash with a stack', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-port-'));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const { code, stderr } = await runServer({ PGLITE_DIR: dir, PORT: String(port), BOOTSTRAP_ADMIN: '0' });
      expect(code, stderr).to.equal(1);
      expect(stderr.trim()).to.equal(`configuration error: PORT ${port} is already in use by another process`);
    } finally {
      busy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the server refuses to start (exit 1) and says to run the migrations, instead of answering 500s', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-unmigrated-'));
    try {
      const { code, stderr } = await runServer({ PGLITE_DIR: dir, MIGRATE_ON_START: '0' });
      expect(code, stderr).to.equal(1);
      expect(stderr).to.match(/schema is behind this build: \d+ migrations pending \(20261123100000_create_extensions, …\)/);
      expect(stderr).to.match(/npm run migrate/);
      expect(stderr).not.to.match(/\n\s+at /); // a message, not a stack trace
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
