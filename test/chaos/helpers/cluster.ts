import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import { buildServices, type Services } from '../../../src/container';
import { knexConfig, knexLog } from '../../../src/db/knex';

/**
 * The chaos suite's machinery: scratch databases and clusters, and app instances run as real
 * processes from the compiled server (dist/src/server.js), each on a port picked here.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SERVER = path.join(ROOT, 'dist', 'src', 'server.js');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

knexLog.warn = () => undefined;

/** A TCP port nobody listens on right now (bound and released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds the long chaos runs last (CHAOS_DURATION_S; CI sets a shorter one, never below 20). */
export function chaosSeconds(fallback = 60): number {
  const raw = Number(process.env.CHAOS_DURATION_S ?? fallback);
  return Math.max(20, Number.isFinite(raw) ? raw : fallback);
}

export interface ScratchDb {
  url: string;
  /** A connection for the harness (application_name roster-chaos, so it is told apart from the app's). */
  db: Knex;
  services: Services;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A harness connection to an existing database. */
export function harnessKnex(url: string, max = 4): Knex {
  const config = knexConfig({ kind: 'postgres', url, ssl: false, poolMax: max, preparedStatements: false, statementTimeoutMs: 0 });
  (config.connection as { application_name?: string }).application_name = 'roster-chaos';
  return knex(config);
}

/**
 * A fresh, migrated database on a PostgreSQL server (TEST_DATABASE_URL's, by default the local
 * one), dropped again by drop().
 */
export async function scratchDatabase(serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'): Promise<ScratchDb> {
  const name = `roster_chaos_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = knex({ client: 'pg', connection: withDatabase(serverUrl, 'postgres'), pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = withDatabase(serverUrl, name);
  const db = harnessKnex(url);
  await db.migrate.latest();
  return {
    url,
    db,
    services: buildServices(db),
    async drop() {
      await db.destroy();
      const a = knex({ client: 'pg', connection: withDatabase(serverUrl, 'postgres'), pool: { min: 0, max: 1 } });
      try {
        await a.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.destroy();
      }
    },
  };
}

/** Runs a PostgreSQL binary, as the postgres user when we are root (initdb and pg_ctl refuse root). */
function pgRun(bin: string, args: string[], check = true): { status: number | null; out: string } {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : path.join(PG_BIN, bin);
  const full = asRoot ? ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args] : args;
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (check && r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${out}`);
  return { status: r.status, out };
}

export interface ScratchCluster {
  port: number;
  /** URL of the `postgres` database of the cluster. */
  url: string;
  start(): void;
  /** Fast shutdown: open connections are terminated, as in a failover or a crash of the server. */
  stop(): void;
  destroy(): void;
}

/** Its own PostgreSQL cluster (initdb + pg_ctl) on a free port, to stop and start under load. */
export async function scratchCluster(): Promise<ScratchCluster> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-chaos-pg-'));
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  pgRun('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
  const cluster: ScratchCluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => void pgRun('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']),
    stop: () => void pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']),
    destroy: () => {
      pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], false);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster.start();
  return cluster;
}

export interface Instance {
  name: string;
  port: number;
  base: string;
  proc: ChildProcess;
  /** Everything the process wrote (stdout and stderr), for failure messages and secret scans. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `node dist/src/server.js` on a free port and waits until /healthz answers. */
export async function startInstance(databaseUrl: string, env: Record<string, string> = {}, name = 'app'): Promise<Instance> {
  if (!fs.existsSync(SERVER)) throw new Error(`${SERVER} is missing: run "npm run build" first (npm run test:chaos does)`);
  const port = await freePort();
  let out = '';
  const proc = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      PGPOOL_MAX: '8',
      MIGRATE_ON_START: 'false',
      BOOTSTRAP_ADMIN: 'false',
      RATE_LIMIT_RPS: '0',
      RATE_LIMIT_UNAUTH_RPS: '0',
      SHUTDOWN_GRACE_MS: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const instance: Instance = {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    output: () => out,
    exited,
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode} before it listened:\n${out}`);
    try {
      const res = await fetch(`${instance.base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return instance;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      instance.kill('SIGKILL');
      throw new Error(`${name} did not answer /healthz within 60 s:\n${out}`);
    }
    await sleep(100);
  }
}

/** Stops instances still running (SIGKILL: the tests that care about graceful exits wait themselves). */
export async function stopAll(instances: Instance[]): Promise<void> {
  for (const i of instances) i.kill('SIGTERM');
  await Promise.race([Promise.all(instances.map((i) => i.exited)), sleep(15_000)]);
  for (const i of instances) i.kill('SIGKILL');
  await Promise.all(instances.map((i) => i.exited));
}
