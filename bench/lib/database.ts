/**
 * The scratch database: created on BENCH_DATABASE_URL's server, migrated with the compiled
 * migrations (exactly as the Procfile's release phase does), tenants and tokens minted with the
 * compiled CLIs, dropped at the end.
 */
import path from 'node:path';
import { knex, type Knex } from 'knex';
import { runNode } from './procs';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist');

export interface Scratch {
  name: string;
  url: string;
  adminUrl: string;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A new database; `keep` names it so that later runs never take it for a leftover. */
export async function createScratch(adminUrl: string, keep = false): Promise<Scratch> {
  const name = `roster_bench_${keep ? 'kept_' : ''}${process.pid}_${Date.now()}`;
  const admin = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  return { name, url: withDatabase(adminUrl, name), adminUrl };
}

export async function dropScratch(s: Scratch): Promise<void> {
  const admin = knex({ client: 'pg', connection: s.adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${s.name} WITH (FORCE)`);
  } finally {
    await admin.destroy();
  }
}

/**
 * Drops scratch databases a benchmark on this machine left behind (killed before it could clean
 * up): only on a local server, only `roster_bench_<pid>_…` whose process is gone and that nobody
 * is connected to.
 */
export async function dropStaleScratches(adminUrl: string): Promise<string[]> {
  const host = new URL(adminUrl).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host)) return [];
  const admin = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  const dropped: string[] = [];
  try {
    const rows: { datname: string; connections: string }[] = (
      await admin.raw(
        `SELECT d.datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) AS connections
           FROM pg_database d WHERE d.datname ~ '^roster_bench_[0-9]+_[0-9]+$'`,
      )
    ).rows;
    for (const r of rows) {
      const pid = Number(r.datname.split('_')[2]);
      if (Number(r.connections) > 0 || pid === process.pid || processAlive(pid)) continue;
      await admin.raw(`DROP DATABASE IF EXISTS ${r.datname}`);
      dropped.push(r.datname);
    }
  } finally {
    await admin.destroy();
  }
  return dropped;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Environment for the compiled CLIs and the server on the scratch database. */
export function dbEnv(url: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn', BOOTSTRAP_ADMIN: 'false' };
  delete env.PGLITE_DIR;
  return env;
}

export async function migrate(url: string): Promise<void> {
  await runNode([path.join(ROOT, 'node_modules', 'knex', 'bin', 'cli.js'), '--knexfile', path.join(DIST, 'knexfile.js'), 'migrate:latest'], dbEnv(url));
}

export interface TenantToken {
  tenant: string;
  tenantId: string;
  token: string;
}

/** `npm run tenant -- create` and `npm run token -- create --rights all`, compiled. */
export async function mintTenant(url: string, name: string): Promise<TenantToken> {
  const env = dbEnv(url);
  const created = await runNode([path.join(DIST, 'src', 'cli', 'tenant.js'), 'create', '--name', name], env);
  const id = /id=([0-9a-f-]{36})/.exec(created)?.[1];
  if (!id) throw new Error(`tenant create printed no id: ${created}`);
  const out = await runNode([path.join(DIST, 'src', 'cli', 'token.js'), 'create', '--name', `${name}-bench`, '--rights', 'all', '--tenant', name], env);
  const token = out.trim().split('\n').pop()?.trim();
  if (!token) throw new Error('token create printed no token');
  return { tenant: name, tenantId: id, token };
}

/** The reference server's write target: a table of its own, outside Roster's schema. */
export async function createReferenceTable(url: string): Promise<void> {
  const db: Knex = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await db.raw('CREATE TABLE IF NOT EXISTS bench_reference_writes (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  } finally {
    await db.destroy();
  }
}

export async function serverVersion(url: string): Promise<string> {
  const db: Knex = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    const r = await db.raw('show server_version');
    return String(r.rows[0].server_version);
  } finally {
    await db.destroy();
  }
}
