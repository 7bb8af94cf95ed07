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

export async function createScratch(adminUrl: string): Promise<Scratch> {
  const name = `roster_bench_${process.pid}_${Date.now()}`;
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
