/**
 * `npm run bench` — the benchmark of issue 7.
 *
 * 1. Creates a scratch database on BENCH_DATABASE_URL's server and migrates it (compiled
 *    migrations, like the release phase); mints one tenant + token per data set (compiled CLIs).
 * 2. Starts Roster (`node dist/src/server.js`, NODE_ENV=production, LOG_LEVEL=warn) and the
 *    reference server, both pinned to core 0; this process and the load generator run on core 1.
 * 3. Seeds through the API: SCIM /Bulk (1,000 operations per request) for users and groups, SCIM
 *    PATCH with large value arrays for members.
 * 4. Runs every scenario of the issue's target table (c=32, warm-up, median of 3 runs by
 *    default) and prints one line each; ratios are to the reference measured in the same run.
 *
 * The benchmark is not part of `npm test`; `--smoke` checks in seconds that it works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex } from 'knex';
import { addMembers, addMembersBody, Api, bulkCreate, pad, SCIM, seedGroups, seedUsers, userData, type Reply } from './lib/api';
import { createReferenceTable, createScratch, dbEnv, DIST, dropScratch, dropStaleScratches, migrate, mintTenant, serverVersion, type Scratch, type TenantToken } from './lib/database';
import { median, runLoad, tmpDir, type LoadSpec, type LoadSummary } from './lib/load';
import { HELP, parseOptions, type Options } from './lib/options';
import { startStatementCounter } from './lib/pg-counter';
import { canPin, freePort, MemoryProbe, pinSelf, running, sleep, startServer, stopServer, type Server } from './lib/procs';
import { header, line, markdown, passFail, type Row, type Status } from './lib/report';

/**
 * Roster as in production, except the per-token rate limit: it stays in the request path (its
 * store round trip is part of what a request costs) but is set so high it never refuses, since
 * the benchmark drives one token far beyond the production default of 100 requests/s.
 */
const ROSTER_ENV: NodeJS.ProcessEnv = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  VALIDATE_RESPONSES: 'false',
  MIGRATE_ON_START: 'false',
  RATE_LIMIT_RPS: '1000000',
  RATE_LIMIT_BURST: '10000000',
};

const k = (n: number) => (n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

interface Tenant extends TenantToken {
  api: Api;
  users: string[];
  names: string[];
}

interface Ctx {
  opts: Options;
  serverCore?: number;
  loadCore?: number;
  work: string;
  scratch?: Scratch;
  roster?: Server;
  reference?: Server;
  pglite?: Server;
  probe?: MemoryProbe;
  rows: Row[];
  ref?: { get: LoadSummary; write: LoadSummary };
  /** The reference requests, re-measured beside each scenario whose target is a ratio to them. */
  refSpecs?: { get: Spec; write: Spec };
  refProbe?: MemoryProbe;
  /** SQL statements per request, by scenario id, and the statements of one sample request. */
  sql: Map<string, { perRequest: number; sample: string[] }>;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function record(ctx: Ctx, row: Row): Row {
  const sql = ctx.sql.get(row.id);
  if (sql && row.sql === undefined) {
    row.sql = sql.perRequest;
    row.detail = { ...(typeof row.detail === 'object' && row.detail ? row.detail : {}), sqlSample: sql.sample };
  }
  // Other work on the machine skews every figure: keep the 1-minute load average with the row.
  row.detail = { ...(typeof row.detail === 'object' && row.detail ? row.detail : {}), loadAverage: Number(os.loadavg()[0].toFixed(2)) };
  ctx.rows.push(row);
  process.stdout.write(`${line(row)}\n`);
  return row;
}

const selected = (ctx: Ctx, id: string) => !ctx.opts.only || ctx.opts.only.test(id);

/** Runs a scenario body; a thrown error becomes an ERROR row and the run goes on. */
async function scenario(ctx: Ctx, id: string, title: string, data: string, target: string, body: () => Promise<Omit<Row, 'id' | 'title' | 'data' | 'target'> | undefined>): Promise<Row | undefined> {
  if (!selected(ctx, id)) return undefined;
  log(`scenario ${id} (${data})`);
  try {
    const out = await body();
    if (!out) return undefined;
    return record(ctx, { id, title, data, target, ...out });
  } catch (err) {
    const note = err instanceof Error ? err.message.split('\n')[0].slice(0, 300) : String(err);
    log(`scenario ${id} failed: ${err instanceof Error ? err.stack : String(err)}`);
    return record(ctx, { id, title, data, target, status: 'ERROR', note });
  }
}

function skip(ctx: Ctx, id: string, title: string, data: string, target: string, note: string): void {
  if (selected(ctx, id)) record(ctx, { id, title, data, target, status: 'SKIP', note });
}

/** Load against Roster (or another server): c connections, warm-up, N runs; peak RSS of Roster. */
async function load(ctx: Ctx, server: Server, spec: Spec, probe = ctx.probe): Promise<Measured> {
  const before = probe?.begin();
  const summary = await runLoad(
    { url: server.url, connections: ctx.opts.connections, duration: ctx.opts.duration, warmup: ctx.opts.warmup, runs: ctx.opts.runs, ...spec },
    ctx.loadCore,
    ctx.work,
  );
  const peak = probe?.end();
  return { ...summary, peakRss: peak, rssDelta: peak !== undefined && before !== undefined ? peak - before : undefined };
}

type Spec = Omit<LoadSpec, 'url' | 'connections' | 'duration' | 'warmup' | 'runs'> & Partial<LoadSpec>;
type Measured = LoadSummary & { peakRss?: number; rssDelta?: number };

/** One side of an alternating measurement: a server, its request, the memory probe to read. */
interface Side {
  server: Server;
  spec: Spec;
  probe?: MemoryProbe;
}

/**
 * Two scenarios measured alternately (A, B, A, B, …; each warmed up once), so drift on a busy
 * machine hits both sides alike. `sequence` values continue where the previous run stopped.
 */
async function loadPair(ctx: Ctx, server: Server, a: Spec, b: Spec): Promise<[Measured, Measured, number]> {
  return loadAlternating(ctx, { server, spec: a }, { server, spec: b });
}

async function loadAlternating(ctx: Ctx, a: Side, b: Side): Promise<[Measured, Measured, number]> {
  const runs: [Measured[], Measured[]] = [[], []];
  const used = [0, 0];
  for (let i = 0; i < ctx.opts.runs; i++) {
    // A B, B A, A B, …: a steady drift over the pairs cancels out instead of favouring A.
    for (const side of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
      const { server, spec, probe } = side === 0 ? a : b;
      const vary = spec.vary ? { ...spec.vary, start: (spec.vary.start ?? 0) + used[side] } : undefined;
      const m = await load(ctx, server, { ...spec, vary, runs: 1, warmup: i === 0 ? ctx.opts.warmup : 0 }, probe ?? ctx.probe);
      used[side] += m.used;
      runs[side].push(m);
    }
  }
  const merge = (ms: Measured[]): Measured => {
    const statusCodes: Record<string, number> = {};
    for (const m of ms) for (const [c, n] of Object.entries(m.statusCodes)) statusCodes[c] = (statusCodes[c] ?? 0) + n;
    return {
      rps: median(ms.map((m) => m.rps)),
      p50: median(ms.map((m) => m.p50)),
      p99: median(ms.map((m) => m.p99)),
      non2xx: ms.reduce((n, m) => n + m.non2xx, 0),
      statusCodes,
      runs: ms.flatMap((m) => m.runs),
      used: ms.reduce((n, m) => n + m.used, 0),
      wrapped: ms.some((m) => m.wrapped),
      peakRss: Math.max(...ms.map((m) => m.peakRss ?? 0)),
      rssDelta: Math.max(...ms.map((m) => m.rssDelta ?? 0)),
    };
  };
  // The ratio of each pair measured back to back, then the median of those.
  const ratio = median(runs[0].map((m, i) => runs[1][i].rps / m.rps));
  return [merge(runs[0]), merge(runs[1]), ratio];
}

/**
 * A scenario whose target is a ratio to the reference: its runs alternate with runs of the
 * reference request (ABBA), and the ratio is the median of the back-to-back pairs, so the
 * machine's speed, which drifts over a run of several minutes, is the same on both sides of each
 * pair. `ref` is the reference as measured beside it.
 */
async function vsReference(ctx: Ctx, roster: Server, spec: Spec, kind: 'get' | 'write'): Promise<{ s: Measured; ref: Measured; ratio: number }> {
  const [ref, s, ratio] = await loadAlternating(ctx, { server: ctx.reference!, spec: ctx.refSpecs![kind], probe: ctx.refProbe }, { server: roster, spec });
  return { s, ref, ratio };
}

/** The reference's rate beside a scenario, for the row's note. */
const beside = (what: string, m: Measured) => `${what} ${Math.round(m.rps).toLocaleString('en-US')} req/s beside it`;
const besideRef = (ref: Measured, kind: 'get' | 'write') => beside(kind === 'get' ? 'reference GET' : 'reference write', ref);

/** The "same request on a small vs a big group" rows: both sides, then the comparison. */
async function comparePair(
  ctx: Ctx,
  server: Server,
  o: { id: string; title: string; smallLabel: string; bigLabel: string; scaleNote: string; tolerance: number; ratioTo: 'GET' | 'write'; small: Spec; big: Spec },
): Promise<{ small?: Row; big?: Row }> {
  if (!selected(ctx, o.id)) return {};
  log(`scenario ${o.id}.{10,big} (interleaved)`);
  const ref = o.ratioTo === 'GET' ? ctx.ref!.get.rps : ctx.ref!.write.rps;
  const refName = o.ratioTo === 'GET' ? undefined : 'reference.write';
  try {
    const [s, b, r] = await loadPair(ctx, server, o.small, o.big);
    const small = record(ctx, { id: `${o.id}.10`, title: o.title, data: o.smallLabel, target: 'compared below', ...loadRow(s, 'INFO', { ratio: s.rps / ref, ratioTo: refName }) });
    const big = record(ctx, { id: `${o.id}.big`, title: o.title, data: o.bigLabel, target: 'compared below', ...loadRow(b, 'INFO', { ratio: b.rps / ref, ratioTo: refName }) });
    record(ctx, {
      id: `${o.id}.10-vs-big`,
      title: `${o.title}: ${o.bigLabel} vs ${o.smallLabel}`,
      data: `${o.bigLabel} vs ${o.smallLabel}${o.scaleNote}`,
      target: `equal within ${Math.round(o.tolerance * 100)}%`,
      ratio: r,
      ratioTo: `${o.id}.10`,
      p99: b.p99,
      status: passFail(Math.abs(r - 1) <= o.tolerance && s.non2xx === 0 && b.non2xx === 0),
      note: `${k(Math.round(b.rps))} vs ${k(Math.round(s.rps))} req/s; median of ${ctx.opts.runs} back-to-back pairs (ABBA order)`,
    });
    return { small, big };
  } catch (err) {
    log(`scenario ${o.id} failed: ${err instanceof Error ? err.stack : String(err)}`);
    return { small: record(ctx, { id: `${o.id}.10-vs-big`, title: o.title, data: o.bigLabel, target: `equal within ${Math.round(o.tolerance * 100)}%`, status: 'ERROR', note: String(err) }) };
  }
}

const scimHeaders = (t: Tenant): Record<string, string> => ({ ...t.api.headers(), 'content-type': 'application/scim+json' });
const jsonHeaders = (t: Tenant): Record<string, string> => ({ ...t.api.headers(), 'content-type': 'application/json' });

function loadRow(s: LoadSummary & { peakRss?: number; rssDelta?: number }, status: Status, extra: Partial<Row> = {}): Omit<Row, 'id' | 'title' | 'data' | 'target'> {
  const notes = [extra.note, s.wrapped ? 'value pool ran out: later requests repeated values' : undefined].filter(Boolean);
  const codes = Object.entries(s.statusCodes).filter(([c]) => !c.startsWith('2'));
  if (s.non2xx && codes.length) notes.push(`status codes: ${codes.map(([c, n]) => `${c}×${n}`).join(', ')}`);
  return {
    rps: s.rps,
    p50: s.p50,
    p99: s.p99,
    non2xx: s.non2xx,
    peakRss: s.peakRss,
    rssDelta: s.rssDelta,
    status,
    detail: { runs: s.runs, statusCodes: s.statusCodes },
    ...extra,
    note: notes.length ? notes.join('; ') : undefined,
  };
}

/** A SCIM ListResponse walked with count=1000, collecting a cursor per page (for deep cursors). */
async function collectCursors(t: Tenant): Promise<string[]> {
  const cursors: string[] = [];
  let cursor = '';
  for (;;) {
    const reply = await t.api.expect('GET', `/scim/v2/Users?count=1000&attributes=userName&cursor=${encodeURIComponent(cursor)}`, undefined, [200], 'cursor walk');
    const next = (JSON.parse(reply.text) as { nextCursor?: string }).nextCursor;
    if (!next) return cursors;
    cursors.push(next);
    cursor = next;
  }
}

function sample<T>(values: T[], n: number): T[] {
  if (values.length <= n) return values;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(values[Math.floor(Math.random() * values.length)]);
  return out;
}

/** A single request measured alone: time to the last byte and Roster's RSS growth. */
async function single<T>(ctx: Ctx, fn: () => Promise<T>): Promise<{ value: T; peak?: number; delta?: number }> {
  await sleep(300);
  const before = ctx.probe?.begin();
  const value = await fn();
  const peak = ctx.probe?.end();
  return { value, peak, delta: peak !== undefined && before !== undefined ? peak - before : undefined };
}

async function newTenant(ctx: Ctx, name: string, roster: Server): Promise<Tenant> {
  const t = await mintTenant(ctx.scratch!.url, name);
  return { ...t, api: new Api(roster.url, t.token), users: [], names: [] };
}

/**
 * VACUUM ANALYZE after seeding, then a CHECKPOINT: seeding a million users leaves gigabytes of
 * dirty pages that PostgreSQL's own checkpoint would write out over the next minutes, spread over
 * the scenarios measured then; written at once, here, they are not in any scenario's figures.
 * Without the right to checkpoint (neither superuser nor pg_checkpoint) the run goes on and says so.
 */
async function vacuum(url: string): Promise<void> {
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  try {
    await db.raw('VACUUM ANALYZE');
    await db.raw('CHECKPOINT').catch((err: unknown) => log(`CHECKPOINT after seeding not run: ${(err as Error).message}`));
  } finally {
    await db.destroy();
  }
}

async function probeStatus(api: Api, method: string, p: string, body?: unknown): Promise<{ ok: boolean; reason: string }> {
  const reply = await api.send(method, p, body);
  const text = reply.text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 120);
  return { ok: reply.status >= 200 && reply.status < 300, reason: `${method} ${p.replace(/[0-9a-f-]{36}/, '{id}').split('?')[0]} answered ${reply.status}: ${text}` };
}

async function run(ctx: Ctx): Promise<void> {
  const { opts } = ctx;
  const S = opts.sizes;
  const seedC = opts.seedConcurrency;

  // --- database, servers ---------------------------------------------------------------
  const stale = await dropStaleScratches(opts.databaseUrl);
  if (stale.length) log(`dropped scratch databases left by killed runs: ${stale.join(', ')}`);
  ctx.scratch = await createScratch(opts.databaseUrl, opts.keepDb);
  log(`scratch database ${ctx.scratch.name}`);
  await migrate(ctx.scratch.url);
  await createReferenceTable(ctx.scratch.url);

  const rosterPort = await freePort();
  ctx.roster = await startServer({
    name: 'roster',
    args: [path.join(DIST, 'src', 'server.js')],
    env: { ...dbEnv(ctx.scratch.url), ...ROSTER_ENV, PORT: String(rosterPort) },
    port: rosterPort,
    core: ctx.serverCore,
    logFile: path.join(ctx.work, 'roster.log'),
    healthPath: '/healthz',
  });
  ctx.probe = new MemoryProbe(ctx.roster.pid);
  log(`roster pid ${ctx.roster.pid} on ${ctx.roster.url} (log: ${ctx.roster.logFile})`);
  const roster = ctx.roster;

  const small = await newTenant(ctx, 'bench-small', roster);
  const large = await newTenant(ctx, 'bench-large', roster);
  const seedrate = await newTenant(ctx, 'bench-seedrate', roster);
  const scale = opts.scale ? await newTenant(ctx, 'bench-scale', roster) : undefined;

  const settle = opts.smoke ? 300 : 2000;
  await sleep(settle);
  const idleRss = ctx.probe.rss();

  // --- seeding ---------------------------------------------------------------------------
  log(`seeding tenant small: ${S.smallUsers} users`);
  const smallSeed = await seedUsers(small.api, 'bench-s-', 0, S.smallUsers, seedC);
  small.users = smallSeed.ids;
  small.names = smallSeed.names;
  const [smallG10, smallGBig] = await seedGroups(small.api, ['bench small 10', `bench small ${k(S.smallGroupBig)}`], 1);
  await addMembers(small.api, smallG10, small.users.slice(0, S.smallGroupSmall), S.patchChunk);
  await addMembers(small.api, smallGBig, small.users.slice(0, S.smallGroupBig), S.patchChunk);

  const largeTotal = S.largeUsers + S.pool;
  log(`seeding tenant large: ${largeTotal} users (Bulk, ${seedC} concurrent)`);
  ctx.probe.begin();
  const largeSeed = await seedUsers(large.api, 'bench-l-', 0, largeTotal, seedC);
  const seedPeak = ctx.probe.end();
  large.users = largeSeed.ids;
  large.names = largeSeed.names;
  const largePool = large.users.slice(S.largeUsers);
  const bulkRate = largeTotal / largeSeed.seconds;
  log(`bulk seeding: ${Math.round(bulkRate)} users/s`);
  const [w10, w10k, gBig] = await seedGroups(large.api, ['bench large 10', 'bench large 10k', `bench large ${k(S.largeUsers)}`], 1);
  await addMembers(large.api, w10, large.users.slice(0, 10), S.patchChunk);
  await addMembers(large.api, w10k, large.users.slice(0, Math.min(10_000, S.largeUsers)), S.patchChunk);
  log(`building the ${k(S.largeUsers)}-member group with PATCHes of ${S.patchChunk} members`);
  const bigPatchTimes = await addMembers(large.api, gBig, large.users.slice(0, S.largeUsers), S.patchChunk);
  const emptyGroups = await seedGroups(
    large.api,
    Array.from({ length: S.patch1kReps + S.patch10kReps }, (_v, i) => `bench empty ${i}`),
    1,
  );

  // Groups v2 endpoints another engineer is adding: probe before seeding for them.
  const v2Members = await probeStatus(large.api, 'GET', `/api/v2/groups/${gBig}/members?pageSize=1&pageNumber=1`);
  const v2SearchBody = (name: string) => ({ pageSize: 25, pageNumber: 1, query: [{ type: 'EXACT', fields: ['name'], value: name }] });
  const v2Search = await probeStatus(large.api, 'POST', '/api/v2/groups/search', v2SearchBody('bench large 10'));
  let searchNames: string[] = [];
  if (v2Search.ok && selected(ctx, 'v2.search')) {
    log(`seeding ${S.searchGroups} groups for Groups v2 search`);
    searchNames = Array.from({ length: S.searchGroups }, (_v, i) => `bench-sg-${pad(i)}`);
    await seedGroups(large.api, searchNames, seedC);
  }

  let scaleG10 = '';
  let scaleGBig = '';
  let scalePool: string[] = [];
  if (scale) {
    const total = S.scaleUsers + S.pool;
    log(`seeding tenant scale: ${total} users (this takes minutes)`);
    ctx.probe.begin();
    const seeded = await seedUsers(scale.api, 'bench-x-', 0, total, seedC);
    ctx.probe.end();
    log(`scale seeding: ${Math.round(total / seeded.seconds)} users/s`);
    scale.users = seeded.ids;
    scale.names = seeded.names;
    scalePool = scale.users.slice(S.scaleUsers);
    [scaleG10, scaleGBig] = await seedGroups(scale.api, ['bench scale 10', `bench scale ${k(S.scaleUsers)}`], 1);
    await addMembers(scale.api, scaleG10, scale.users.slice(0, 10), S.patchChunk);
    log(`building the ${k(S.scaleUsers)}-member group`);
    await addMembers(scale.api, scaleGBig, scale.users.slice(0, S.scaleUsers), S.patchChunk);
  }

  log('VACUUM ANALYZE and CHECKPOINT after seeding');
  await vacuum(ctx.scratch.url);


  // --- SQL census: statements per request, through a counting proxy ------------------------
  if (selected(ctx, 'sql') || !opts.only) {
    await sqlCensus(ctx, async (base, count) => {
      const at = (t: Tenant) => new Api(base, t.token);
      const rnd = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)];
      const diagPool = largePool.slice(-200);
      let d = 0;
      await count('scim.group.get.excl.10k', () => at(small).send('GET', `/scim/v2/Groups/${smallGBig}?excludedAttributes=members`));
      await count('scim.group.get.excl.10', () => at(large).send('GET', `/scim/v2/Groups/${w10}?excludedAttributes=members`));
      await count('scim.group.get.excl.big', () => at(large).send('GET', `/scim/v2/Groups/${gBig}?excludedAttributes=members`));
      await count('scim.users.filter.eq.10k', () => at(small).send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${rnd(small.names)}"`)}`));
      await count('scim.users.list.random.10k', () => at(small).send('GET', `/scim/v2/Users?count=100&startIndex=${1 + Math.floor(Math.random() * Math.max(1, S.smallUsers - 99))}`));
      await count('scim.users.list.cursor.1m', () => at(large).send('GET', '/scim/v2/Users?count=100&cursor='));
      await count('scim.group.get.members.100k', () => at(large).send('GET', `/scim/v2/Groups/${gBig}`), 3);
      await count('scim.group.patch.add1.10k', () => at(large).send('PATCH', `/scim/v2/Groups/${w10k}`, addMembersBody([diagPool[d++ % diagPool.length]])));
      await count('seed.users.post', () => at(seedrate).send('POST', '/scim/v2/Users', userData(`bench-diag-${Date.now()}-${d++}`, d)));
      await count('seed.users.bulk', async () => {
        const names = Array.from({ length: 100 }, (_v, i) => `bench-diagbulk-${Date.now()}-${d++}-${i}`);
        const r = await bulkCreate(at(seedrate), '/Users', names.map((n, i) => userData(n, i)));
        return { status: 200, text: '', ms: r.ms, bytes: 0 };
      }, 3, 100);
      if (v2Members.ok) await count('v2.members.page.100k', () => at(large).send('GET', `/api/v2/groups/${gBig}/members?pageSize=25&pageNumber=${1 + Math.floor(Math.random() * 100)}`));
      if (v2Search.ok) await count('v2.search', () => at(large).send('POST', '/api/v2/groups/search', v2SearchBody(searchNames.length ? rnd(searchNames) : 'bench large 10')));
    });
  }

  // --- reference -------------------------------------------------------------------------
  const refPort = await freePort();
  ctx.reference = await startServer({
    name: 'reference',
    args: ['-r', require.resolve('ts-node/register/transpile-only'), path.join(__dirname, 'reference-server.ts')],
    env: {
      ...process.env,
      TS_NODE_TRANSPILE_ONLY: 'true',
      REF_DATABASE_URL: ctx.scratch.url,
      REF_PORT: String(refPort),
      REF_TENANT_ID: small.tenantId,
      REF_TOKEN_SHA256: (await import('node:crypto')).createHash('sha256').update(small.token).digest('hex'),
    },
    port: refPort,
    core: ctx.serverCore,
    logFile: path.join(ctx.work, 'reference.log'),
    healthPath: '/healthz',
  });
  const refProbe = new MemoryProbe(ctx.reference.pid);
  ctx.refProbe = refProbe;
  ctx.refSpecs = {
    get: { method: 'GET', path: `/ref/users/${small.users[0]}`, headers: small.api.headers() },
    write: { method: 'POST', path: '/ref/writes', body: '{"displayName":"bench"}', headers: jsonHeaders(small) },
  };
  log('reference: GET (one primary-key SELECT) and write (one-row-insert transaction)');
  const refGet = await load(ctx, ctx.reference, ctx.refSpecs.get, refProbe);
  const refWrite = await load(ctx, ctx.reference, ctx.refSpecs.write, refProbe);
  ctx.ref = { get: refGet, write: refWrite };
  record(ctx, { id: 'reference.get', title: 'reference GET (Express + passport + 1 PK SELECT)', data: '1 user row', target: 'the yardstick for reads', ...loadRow(refGet, 'INFO'), sql: 1 });
  record(ctx, { id: 'reference.write', title: 'reference write (1-row-insert transaction)', data: '1 row', target: 'the yardstick for writes', ...loadRow(refWrite, 'INFO'), sql: 3 });
  // The latency floor of the stack on this machine: the same c=32 load on requests that touch no
  // database. Their p99 is what no Express app here gets under, whatever it does per request.
  log('floor: GET /healthz of the reference (Express only) and of Roster (its middleware chain), no database');
  const refHealth = await load(ctx, ctx.reference, { method: 'GET', path: '/healthz', headers: {} }, refProbe);
  record(ctx, { id: 'reference.healthz', title: 'reference GET /healthz (Express 5 alone, no database)', data: '-', target: 'INFO: the stack\'s latency floor', ...loadRow(refHealth, 'INFO'), sql: 0 });
  const rosterHealth = await load(ctx, roster, { method: 'GET', path: '/healthz', headers: {} });
  record(ctx, { id: 'roster.healthz', title: 'Roster GET /healthz (its middleware chain, no database)', data: '-', target: 'INFO: the stack\'s latency floor', ...loadRow(rosterHealth, 'INFO'), sql: 0 });
  // The reference stays up (idle, on the same core) to be re-measured beside the ratio scenarios.
  const rGet = refGet.rps;
  const rWrite = refWrite.rps;
  const bigLabel = scale ? k(S.scaleUsers) : k(S.largeUsers);

  // --- reads -----------------------------------------------------------------------------
  await scenario(ctx, 'scim.group.get.excl.10k', 'SCIM GET group, excludedAttributes=members', `${k(S.smallGroupBig)}-member group`, '≥ 60% of ref GET; p99 ≤ 1.5× ref p99', async () => {
    const { s, ref, ratio } = await vsReference(ctx, roster, { method: 'GET', path: `/scim/v2/Groups/${smallGBig}?excludedAttributes=members`, headers: small.api.headers() }, 'get');
    return loadRow(s, passFail(ratio >= 0.6 && s.p99 <= 1.5 * ref.p99 && s.non2xx === 0), { ratio, note: `p99 ${(s.p99 / ref.p99).toFixed(2)}× ref; ${besideRef(ref, 'get')}` });
  });

  const exclGroups = scale ? { t: scale, g10: scaleG10, big: scaleGBig } : { t: large, g10: w10, big: gBig };
  const scaleNote = scale ? '' : ' (1M with --scale)';
  await comparePair(ctx, roster, {
    id: 'scim.group.get.excl',
    title: 'SCIM GET group, excludedAttributes=members',
    smallLabel: '10-member group',
    bigLabel: `${bigLabel}-member group`,
    scaleNote,
    tolerance: 0.1,
    ratioTo: 'GET',
    small: { method: 'GET', path: `/scim/v2/Groups/${exclGroups.g10}?excludedAttributes=members`, headers: exclGroups.t.api.headers() },
    big: { method: 'GET', path: `/scim/v2/Groups/${exclGroups.big}?excludedAttributes=members`, headers: exclGroups.t.api.headers() },
  });

  const filterPath = '/scim/v2/Users?filter={v}';
  const eqValues = (t: Tenant) => sample(t.names, 20_000).map((n) => `userName eq "${n}"`);
  await scenario(ctx, 'scim.users.filter.eq.10k', 'SCIM filter=userName eq "…"', `${k(S.smallUsers)} users`, '≥ 50% of ref GET', async () => {
    const { s, ref, ratio } = await vsReference(ctx, roster, { method: 'GET', path: filterPath, headers: small.api.headers(), vary: { kind: 'random', values: eqValues(small) } }, 'get');
    return loadRow(s, passFail(ratio >= 0.5 && s.non2xx === 0), { ratio, note: besideRef(ref, 'get') });
  });

  await scenario(ctx, 'scim.users.list.random.10k', 'SCIM list page of 100 users at a random startIndex', `${k(S.smallUsers)} users`, '≥ 15% of ref GET', async () => {
    const { s, ref, ratio } = await vsReference(ctx, roster, { method: 'GET', path: '/scim/v2/Users?count=100&startIndex={v}', headers: small.api.headers(), vary: { kind: 'int', min: 1, max: Math.max(1, S.smallUsers - 99) } }, 'get');
    return loadRow(s, passFail(ratio >= 0.15 && s.non2xx === 0), { ratio, note: besideRef(ref, 'get') });
  });

  // The million-user rows; without --scale they run on the large tenant and say so.
  const many = scale ?? large;
  const manyCount = scale ? S.scaleUsers + S.pool : largeTotal;
  const manyLabel = `${k(manyCount)} users${scale ? '' : ' (1M with --scale)'}`;
  await scenario(ctx, 'scim.users.filter.eq.1m', 'SCIM userName eq among 1,000,000 users', manyLabel, 'p99 ≤ 50 ms at c=32', async () => {
    const s = await load(ctx, roster, { method: 'GET', path: filterPath, headers: many.api.headers(), vary: { kind: 'random', values: eqValues(many) } });
    return loadRow(s, passFail(s.p99 <= 50 && s.non2xx === 0), { ratio: s.rps / rGet });
  });
  const indexSpec: Spec = { method: 'GET', path: '/scim/v2/Users?count=100&startIndex={v}', headers: many.api.headers(), vary: { kind: 'int', min: 1, max: Math.max(1, Math.min(10_000, manyCount - 99)) } };
  await scenario(ctx, 'scim.users.list.index.1m', 'SCIM list pages among 1,000,000 users, startIndex ≤ 10,000', manyLabel, 'p99 ≤ 100 ms', async () => {
    const s = await load(ctx, roster, indexSpec);
    return loadRow(s, passFail(s.p99 <= 100 && s.non2xx === 0), { ratio: s.rps / rGet });
  });
  // The same at c=1: what one client sees when Roster is not saturated (the depth cost alone).
  await scenario(ctx, 'scim.users.list.index.1m.c1', 'the same list pages, one connection', manyLabel, 'INFO (c=1)', async () => {
    const s = await load(ctx, roster, { ...indexSpec, connections: 1 });
    return loadRow(s, 'INFO', { ratio: s.rps / rGet });
  });
  let cursors: string[] = [];
  const cursorSpec = (): Spec => ({ method: 'GET', path: '/scim/v2/Users?count=100&cursor={v}', headers: many.api.headers(), vary: { kind: 'random', values: cursors } });
  await scenario(ctx, 'scim.users.list.cursor.1m', 'SCIM cursor pagination among 1,000,000 users, any depth', manyLabel, 'p99 ≤ 50 ms', async () => {
    cursors = await collectCursors(many);
    if (!cursors.length) throw new Error('the cursor walk returned no nextCursor');
    const s = await load(ctx, roster, cursorSpec());
    return loadRow(s, passFail(s.p99 <= 50 && s.non2xx === 0), { ratio: s.rps / rGet, note: `${cursors.length} cursors, depths 1k–${k(cursors.length * 1000)}` });
  });
  if (cursors.length) {
    await scenario(ctx, 'scim.users.list.cursor.1m.c1', 'the same cursor pages, one connection', manyLabel, 'INFO (c=1)', async () => {
      const s = await load(ctx, roster, { ...cursorSpec(), connections: 1 });
      return loadRow(s, 'INFO', { ratio: s.rps / rGet });
    });
  }

  const v2MembersTitle = 'Groups v2 GET …/members page';
  if (!v2Members.ok) {
    skip(ctx, 'v2.members.page.100k', v2MembersTitle, `${k(S.largeUsers)}-member group`, '≥ 40% of ref GET', `endpoint not available yet: ${v2Members.reason}`);
  } else {
    await scenario(ctx, 'v2.members.page.100k', v2MembersTitle, `${k(S.largeUsers)}-member group, pageSize 25, pages 1–100`, '≥ 40% of ref GET', async () => {
      const { s, ref, ratio } = await vsReference(ctx, roster, { method: 'GET', path: `/api/v2/groups/${gBig}/members?pageSize=25&pageNumber={v}`, headers: large.api.headers(), vary: { kind: 'int', min: 1, max: Math.max(1, Math.min(100, Math.floor(S.largeUsers / 25))) } }, 'get');
      return loadRow(s, passFail(ratio >= 0.4 && s.non2xx === 0), { ratio, note: besideRef(ref, 'get') });
    });
  }
  const v2SearchTitle = 'Groups v2 search (one criterion)';
  if (!v2Search.ok) {
    skip(ctx, 'v2.search', v2SearchTitle, `${k(S.searchGroups)} groups`, 'p99 ≤ 50 ms', `endpoint not available yet: ${v2Search.reason}`);
  } else {
    const searchSpec: Spec = { method: 'POST', path: '/api/v2/groups/search', body: JSON.stringify(v2SearchBody('{v}')), headers: jsonHeaders(large), vary: { kind: 'random', values: sample(searchNames, 20_000) } };
    await scenario(ctx, 'v2.search', v2SearchTitle, `${k(S.searchGroups)} groups, name EXACT`, 'p99 ≤ 50 ms', async () => {
      const s = await load(ctx, roster, searchSpec);
      return loadRow(s, passFail(s.p99 <= 50 && s.non2xx === 0), { ratio: s.rps / rGet });
    });
    await scenario(ctx, 'v2.search.c1', 'the same search, one connection', `${k(S.searchGroups)} groups, name EXACT`, 'INFO (c=1)', async () => {
      const s = await load(ctx, roster, { ...searchSpec, connections: 1 });
      return loadRow(s, 'INFO', { ratio: s.rps / rGet });
    });
  }

  // --- single big requests ---------------------------------------------------------------
  const bigGet = async (id: string, t: Tenant, groupId: string, members: number, limitMs: number, limitMiB: number, label: string, list?: string) =>
    scenario(ctx, id, list ? `SCIM list of groups with members: a page holding the ${label}-member group` : `GET a group with ${label} members (members included)`, `${k(members)}-member group`, `≤ ${limitMs / 1000} s, RSS + ≤ ${limitMiB} MiB`, async () => {
      const times: number[] = [];
      const deltas: number[] = [];
      let peak = 0;
      let counted = 0;
      for (let i = 0; i < S.bigGetReps; i++) {
        const t0 = Date.now();
        const r = await single(ctx, () => t.api.sendStreamed('GET', list ?? `/scim/v2/Groups/${groupId}`, '"value":', Math.max(60_000, 15 * limitMs))).catch((err: unknown) => {
          // A response cut short (e.g. by the server's request timeout) is a result, not a harness error.
          const reason = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
          return { failed: `the response broke off after ${((Date.now() - t0) / 1000).toFixed(1)} s (${reason})` };
        });
        if ('failed' in r) {
          const peakNow = ctx.probe?.end();
          return { p50: Date.now() - t0, peakRss: peakNow, status: 'FAIL' as Status, note: r.failed };
        }
        if (r.value.status !== 200) throw new Error(`GET answered ${r.value.status}`);
        times.push(r.value.ms);
        deltas.push(r.delta ?? NaN);
        peak = Math.max(peak, r.peak ?? 0);
        counted = r.value.occurrences;
      }
      const t50 = median(times);
      const dMax = Math.max(...deltas);
      const ok = t50 <= limitMs && dMax <= limitMiB && counted >= members;
      return { p50: t50, p99: Math.max(...times), peakRss: peak, rssDelta: dMax, status: passFail(ok), note: `${counted} members in the body; ${S.bigGetReps} requests, p50/p99 = median/slowest` };
    });
  await bigGet('scim.group.get.members.100k', large, gBig, S.largeUsers, 500, 30, '100,000');
  // Not a target of issue 7: the list's members stream like the GET's, so it is held to the GET's lines.
  await bigGet('scim.groups.list.members.100k', large, gBig, S.largeUsers, 500, 30, '100,000', `/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${gBig}"`)}`);
  if (scale) await bigGet('scim.group.get.members.1m', scale, scaleGBig, S.scaleUsers, 4000, 64, '1,000,000');
  else skip(ctx, 'scim.group.get.members.1m', 'GET a group with 1,000,000 members (members included)', '1M-member group', '≤ 4 s, RSS + ≤ 64 MiB', 'needs --scale');

  const bigPatch = async (id: string, count: number, reps: number, groups: string[], limitMs: number, limitMiB: number | undefined) =>
    scenario(ctx, id, `one PATCH adding ${count.toLocaleString('en-US')} members`, `empty groups, ${reps} PATCHes`, limitMiB === undefined ? `p50 ≤ ${limitMs} ms` : `≤ ${limitMs / 1000} s, RSS + ≤ ${limitMiB} MiB`, async () => {
      const times: number[] = [];
      const deltas: number[] = [];
      let peak = 0;
      for (let i = 0; i < reps; i++) {
        const from = (i * count) % Math.max(1, large.users.length - count + 1);
        const body = addMembersBody(large.users.slice(from, from + count));
        const r = await single(ctx, () => large.api.send('PATCH', `/scim/v2/Groups/${groups[i]}`, body));
        if (r.value.status !== 204 && r.value.status !== 200) throw new Error(`PATCH answered ${r.value.status}: ${r.value.text.slice(0, 200)}`);
        times.push(r.value.ms);
        deltas.push(r.delta ?? NaN);
        peak = Math.max(peak, r.peak ?? 0);
      }
      const t50 = median(times);
      const dMax = Math.max(...deltas);
      const ok = t50 <= limitMs && (limitMiB === undefined || dMax <= limitMiB);
      return { p50: t50, p99: Math.max(...times), peakRss: peak, rssDelta: dMax, status: passFail(ok), note: `p50/p99 = median/slowest of ${reps}` };
    });
  const n1k = Math.min(1000, large.users.length);
  const n10k = Math.min(10_000, large.users.length);
  await bigPatch('scim.group.patch.add1000', n1k, S.patch1kReps, emptyGroups.slice(0, S.patch1kReps), 120, undefined);
  await bigPatch('scim.group.patch.add10000', n10k, S.patch10kReps, emptyGroups.slice(S.patch1kReps), 500, 50);

  // --- writes under load -----------------------------------------------------------------
  const patchPath = (g: string) => `/scim/v2/Groups/${g}`;
  const patchBody = JSON.stringify(addMembersBody(['{v}']));
  await scenario(ctx, 'scim.group.patch.add1.10k', 'SCIM PATCH adding one member', `${k(Math.min(10_000, S.largeUsers))}-member group`, '≥ 50% of ref write', async () => {
    const { s, ref, ratio } = await vsReference(ctx, roster, { method: 'PATCH', path: patchPath(w10k), body: patchBody, headers: scimHeaders(large), vary: { kind: 'sequence', values: largePool } }, 'write');
    return loadRow(s, passFail(ratio >= 0.5 && s.non2xx === 0), { ratio, ratioTo: 'reference.write', note: besideRef(ref, 'write') });
  });
  const patchGroups = scale ? { t: scale, g10: scaleG10, big: scaleGBig, pool: scalePool } : { t: large, g10: w10, big: gBig, pool: largePool };
  await comparePair(ctx, roster, {
    id: 'scim.group.patch.add1',
    title: 'SCIM PATCH adding one member',
    smallLabel: '10-member group',
    bigLabel: `${bigLabel}-member group`,
    scaleNote,
    tolerance: 0.2,
    ratioTo: 'write',
    small: { method: 'PATCH', path: patchPath(patchGroups.g10), body: patchBody, headers: scimHeaders(patchGroups.t), vary: { kind: 'sequence', values: patchGroups.pool } },
    big: { method: 'PATCH', path: patchPath(patchGroups.big), body: patchBody, headers: scimHeaders(patchGroups.t), vary: { kind: 'sequence', values: patchGroups.pool } },
  });

  // The last scenario measured beside the reference is behind us.
  await stopServer(ctx.reference);
  ctx.refProbe?.stop();

  await scenario(ctx, 'seed.users.post', 'seeding: POST /Users', 'new users, c=32', '≥ 1,000/s', async () => {
    const body = JSON.stringify({
      schemas: [SCIM.user],
      userName: `bench-post-${Date.now()}-{v}`,
      name: { givenName: 'Bench', familyName: 'Post' },
      displayName: 'Bench Post',
      emails: [{ value: `post-${Date.now()}-{v}@example.com`, type: 'work', primary: true }],
      active: true,
    });
    const s = await load(ctx, roster, { method: 'POST', path: '/scim/v2/Users', body, headers: scimHeaders(seedrate), vary: { kind: 'counter' } });
    return loadRow(s, passFail(s.rps >= 1000 && s.non2xx === 0), { ratio: s.rps / rWrite, ratioTo: 'reference.write' });
  });
  if (selected(ctx, 'seed.users.bulk')) {
    record(ctx, {
      id: 'seed.users.bulk',
      title: 'seeding: /Bulk of 1,000 operations',
      data: `${k(largeTotal)} users, ${seedC} Bulk requests in flight`,
      target: '≥ 5,000 users/s',
      rps: bulkRate,
      peakRss: seedPeak,
      status: passFail(bulkRate >= 5000),
      note: `${Math.round(bulkRate)} users/s; 1,000-op Bulk ≈ ${Math.round((1000 / bulkRate) * seedC * 1000)} ms each; ${k(S.largeUsers)}-member group built by ${bigPatchTimes.length} PATCHes of ${k(S.patchChunk)} (median ${Math.round(median(bigPatchTimes))} ms)`,
    });
  }

  // --- embedded PGlite -------------------------------------------------------------------
  if (!opts.pglite) {
    skip(ctx, 'pglite.reads', 'embedded PGlite reads vs PostgreSQL', '-', '≥ 60% of PostgreSQL', '--no-pglite');
  } else if (selected(ctx, 'pglite')) {
    const pgSpecs = {
      getExcl10: { method: 'GET', path: `/scim/v2/Groups/${exclGroups.g10}?excludedAttributes=members`, headers: exclGroups.t.api.headers() },
      filter: { method: 'GET', path: filterPath, headers: small.api.headers(), vary: { kind: 'random' as const, values: eqValues(small) } },
    };
    await runPglite(ctx, pgSpecs).catch((err: unknown) => {
      log(`PGlite phase failed: ${err instanceof Error ? err.stack : String(err)}`);
      record(ctx, { id: 'pglite.reads', title: 'embedded PGlite reads vs PostgreSQL', data: `${k(S.pgliteUsers)} users`, target: '≥ 60% of PostgreSQL', status: 'ERROR', note: err instanceof Error ? err.message : String(err) });
    });
  }

  // --- memory ----------------------------------------------------------------------------
  await sleep(settle);
  const idleAfter = ctx.probe.rss();
  if (selected(ctx, 'memory')) {
    record(ctx, {
      id: 'memory.idle',
      title: 'memory: idle RSS',
      data: 'after start, before seeding',
      target: '≤ 150 MiB',
      peakRss: idleRss,
      status: passFail((idleRss ?? Infinity) <= 150),
      note: `idle after the run: ${Math.round(idleAfter ?? NaN)} MiB`,
    });
    const peak = ctx.probe.lifetimePeak;
    record(ctx, {
      id: 'memory.peak',
      title: 'memory: peak RSS under any scenario',
      data: 'whole run, seeding included',
      target: '≤ 300 MiB',
      peakRss: peak,
      status: passFail(peak <= 300),
      note: ctx.probe.canReset ? 'VmHWM per scenario + 20 ms VmRSS poll' : '20 ms VmRSS poll',
    });
  }
}

/**
 * Starts a second Roster on the same database behind the statement-counting proxy, and runs
 * `body`, whose `count(id, request, n, per)` sends `n` requests one at a time and records the
 * statements per request (divided by `per`, e.g. per user in a Bulk).
 */
async function sqlCensus(ctx: Ctx, body: (base: string, count: (id: string, request: () => Promise<Reply>, n?: number, per?: number) => Promise<void>) => Promise<void>): Promise<void> {
  const upstream = new URL(ctx.scratch!.url);
  const counter = await startStatementCounter(upstream.hostname, Number(upstream.port || 5432));
  const proxied = new URL(ctx.scratch!.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(counter.port);
  const port = await freePort();
  let diag: Server | undefined;
  try {
    diag = await startServer({
      name: 'roster-sql-census',
      args: [path.join(DIST, 'src', 'server.js')],
      env: { ...dbEnv(proxied.toString()), ...ROSTER_ENV, PORT: String(port) },
      port,
      core: ctx.serverCore,
      logFile: path.join(ctx.work, 'roster-sql-census.log'),
      healthPath: '/healthz',
    });
    const base = diag.url;
    log('SQL census: statements per request through a counting proxy');
    await body(base, async (id, request, requests = 10, per = 1) => {
      const n = ctx.opts.smoke ? Math.min(2, requests) : requests;
      try {
        await request(); // warm: pool connections, first token use
        await sleep(50);
        counter.reset();
        let sample: string[] = [];
        for (let i = 0; i < n; i++) {
          const before = counter.recent().length;
          const reply = await request();
          if (reply.status >= 400) throw new Error(`HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
          await sleep(20); // fire-and-forget statements (token touch) land too
          if (i === n - 1) sample = counter.recent().slice(before);
        }
        ctx.sql.set(id, { perRequest: counter.count() / n / per, sample });
      } catch (err) {
        log(`SQL census of ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  } finally {
    await stopServer(diag);
    await counter.close();
  }
}

/** Roster on embedded PGlite, the same build: the read scenarios again, as a ratio to PostgreSQL. */
async function runPglite(ctx: Ctx, pg: { getExcl10: Spec; filter: Spec }): Promise<void> {
  const S = ctx.opts.sizes;
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ...ROSTER_ENV, MIGRATE_ON_START: 'true', PORT: String(port), PGLITE_DIR: path.join(ctx.work, 'pglite') };
  delete env.DATABASE_URL;
  log('starting Roster on embedded PGlite');
  ctx.pglite = await startServer({
    name: 'roster-pglite',
    args: [path.join(DIST, 'src', 'server.js')],
    env,
    port,
    core: ctx.serverCore,
    logFile: path.join(ctx.work, 'roster-pglite.log'),
    healthPath: '/healthz',
    timeoutMs: 180_000,
  });
  const probe = new MemoryProbe(ctx.pglite.pid);
  try {
    let token: string | undefined;
    for (let i = 0; i < 50 && !token; i++) {
      const lines = ctx.pglite.stdout().split('\n');
      const at = lines.findIndex((l) => l.includes('shown only now'));
      token = at >= 0 ? lines.slice(at + 1).find((l) => l.trim() && !l.startsWith('{'))?.trim() : undefined;
      if (!token) await sleep(100);
    }
    if (!token) throw new Error('PGlite Roster printed no bootstrap token');
    const api = new Api(ctx.pglite.url, token);
    const t: Tenant = { tenant: 'default', tenantId: '', token, api, users: [], names: [] };
    log(`seeding PGlite: ${S.pgliteUsers} users`);
    // One Bulk at a time: PGlite has a single connection, more in flight would only queue.
    const seeded = await seedUsers(api, 'bench-p-', 0, S.pgliteUsers, 1);
    t.users = seeded.ids;
    t.names = seeded.names;
    const [g10] = await seedGroups(api, ['bench pglite 10'], 1);
    await addMembers(api, g10, t.users.slice(0, 10), S.patchChunk);
    // The same request on the PostgreSQL build (still up, idle on the same core), its runs
    // alternating with PGlite's: the ratio is the median of the back-to-back pairs.
    const alternate = (onPg: Spec, onPglite: Spec) => loadAlternating(ctx, { server: ctx.roster!, spec: onPg }, { server: ctx.pglite!, spec: onPglite, probe });
    const onPgNote = (m: Measured) => beside('the same build on PostgreSQL:', m);
    await scenario(ctx, 'pglite.group.get.excl.10', 'embedded PGlite: SCIM GET group, excludedAttributes=members', '10-member group', '≥ 60% of PostgreSQL', async () => {
      const [onPg, s, ratio] = await alternate(pg.getExcl10, { method: 'GET', path: `/scim/v2/Groups/${g10}?excludedAttributes=members`, headers: api.headers() });
      return loadRow(s, passFail(ratio >= 0.6 && s.non2xx === 0 && onPg.non2xx === 0), { ratio, ratioTo: 'scim.group.get.excl.10', note: onPgNote(onPg) });
    });
    await scenario(ctx, 'pglite.users.filter.eq.10k', 'embedded PGlite: SCIM filter=userName eq', `${k(S.pgliteUsers)} users`, '≥ 60% of PostgreSQL', async () => {
      const [onPg, s, ratio] = await alternate(pg.filter, { method: 'GET', path: '/scim/v2/Users?filter={v}', headers: api.headers(), vary: { kind: 'random', values: t.names.map((n) => `userName eq "${n}"`) } });
      return loadRow(s, passFail(ratio >= 0.6 && s.non2xx === 0 && onPg.non2xx === 0), { ratio, ratioTo: 'scim.users.filter.eq.10k', note: onPgNote(onPg) });
    });
    log(`PGlite seeding ran at ${Math.round(S.pgliteUsers / seeded.seconds)} users/s`);
  } finally {
    probe.stop();
    await stopServer(ctx.pglite);
  }
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const opts = parsed;
  if (!fs.existsSync(path.join(DIST, 'src', 'server.js'))) {
    process.stderr.write('dist/src/server.js is missing: run `npm run build` first (npm run bench does)\n');
    return 2;
  }
  const pin = opts.pin && canPin();
  if (pin) pinSelf(1);
  const ctx: Ctx = { opts, serverCore: pin ? 0 : undefined, loadCore: pin ? 1 : undefined, work: tmpDir(), rows: [], sql: new Map() };
  const started = new Date();
  const flags = [opts.smoke ? '--smoke' : '', opts.scale ? '--scale' : ''].filter(Boolean);
  const mode = flags.length ? ` -- ${flags.join(' ')}` : '';
  const pgVersion = await serverVersion(opts.databaseUrl);
  const machine = `${os.cpus().length}× ${os.cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, PostgreSQL ${pgVersion}${pin ? ', Roster/reference on core 0, load on core 1' : ', not pinned'}`;
  log(`${machine}; c=${opts.connections}, ${opts.warmup} s warm-up, ${opts.runs}× ${opts.duration} s (median)`);
  process.stdout.write(`${header()}\n`);

  let interrupted = false;
  const cleanup = async () => {
    ctx.probe?.stop();
    ctx.refProbe?.stop();
    for (const child of running) child.kill('SIGKILL');
    await Promise.all([stopServer(ctx.roster), stopServer(ctx.reference), stopServer(ctx.pglite)]);
    if (ctx.scratch) {
      if (opts.keepDb) log(`kept scratch database ${ctx.scratch.name}`);
      else await dropScratch(ctx.scratch).catch((err: unknown) => log(`could not drop ${ctx.scratch?.name}: ${String(err)}`));
    }
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping servers and dropping the scratch database');
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failed: unknown;
  try {
    await run(ctx);
  } catch (err) {
    failed = err;
    log(`benchmark aborted: ${err instanceof Error ? err.stack : String(err)}`);
    if (ctx.roster) log(`roster log: ${ctx.roster.logFile}`);
  } finally {
    await cleanup();
  }

  const loads = ctx.rows.map((r) => (r.detail as { loadAverage?: number } | undefined)?.loadAverage ?? 0);
  const loadRange = loads.length ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` : '-';
  const result = {
    date: started.toISOString(),
    loadAverage: loadRange,
    finished: new Date().toISOString(),
    mode: { scale: opts.scale, smoke: opts.smoke, connections: opts.connections, duration: opts.duration, runs: opts.runs, warmup: opts.warmup, pinned: pin },
    machine,
    sizes: opts.sizes,
    reference: ctx.ref ? { get: { rps: ctx.ref.get.rps, p50: ctx.ref.get.p50, p99: ctx.ref.get.p99 }, write: { rps: ctx.ref.write.rps, p50: ctx.ref.write.p50, p99: ctx.ref.write.p99 } } : undefined,
    rows: ctx.rows,
    aborted: failed ? String(failed instanceof Error ? failed.message : failed) : undefined,
  };
  const counts = ctx.rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
  process.stdout.write(`\n${header()}\n${ctx.rows.map(line).join('\n')}\n\n${Object.entries(counts).map(([s, n]) => `${s} ${n}`).join(', ')}\n`);
  const where = (file: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  if (opts.json) fs.writeFileSync(where(opts.json), `${JSON.stringify(result, null, 2)}\n`);
  if (opts.markdown) fs.writeFileSync(where(opts.markdown), markdown(ctx.rows, { date: started.toISOString().slice(0, 10), mode, machine: `${machine}; 1-min load average ${loadRange} during the run` }));
  if (!failed) fs.rmSync(ctx.work, { recursive: true, force: true });
  else log(`logs kept in ${ctx.work}`);
  return failed || ctx.rows.some((r) => r.status === 'ERROR') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
