/**
 * Command-line options of `npm run bench` and the data sizes each mode seeds.
 */
import { parseArgs } from 'node:util';

export const HELP = `Usage: npm run bench -- [options]

Starts Roster (compiled, NODE_ENV=production) and a reference server on a scratch PostgreSQL
database, seeds data through the API, runs every scenario of issue 7 and prints one line each.

Options:
  --scale              also seed 1,000,000 users and a 1,000,000-member group (takes minutes)
  --smoke              tiny data, 0.5 s x 1 run: checks that the harness works, not the numbers
  --json <file>        write the results as JSON
  --markdown <file>    write the results as a Markdown table (for README's Performance section)
  --duration <s>       seconds per measured run (default 10; smoke 0.5)
  --runs <n>           measured runs per scenario, the median is reported (default 3; smoke 1)
  --warmup <s>         warm-up seconds before the measured runs (default 3; smoke 0)
  --connections <n>    concurrent connections of the load generator (default 32)
  --seed-concurrency <n>  concurrent Bulk/PATCH requests while seeding (default 4)
  --only <regex>       run only the scenarios whose id matches (seeding still happens)
  --no-pglite          skip the embedded-PGlite comparison
  --no-pin             do not pin processes to cores with taskset
  --keep-db            keep the scratch database (its name is printed)
  -h, --help           show this help

Environment:
  BENCH_DATABASE_URL   PostgreSQL server to create the scratch database on
                       (default postgres://postgres@127.0.0.1:5432/postgres)
`;

export interface Sizes {
  /** Tenant "small": users, and the members of its two groups. */
  smallUsers: number;
  smallGroupSmall: number;
  smallGroupBig: number;
  /**
   * Tenant "large": users in the big group, plus a pool of users in no group (PATCH adds). The
   * PATCH scenarios add a new member with every request, each side of a pair from the start of
   * the pool: 3 × 10 s + the warm-up at ~2,000 req/s took ~64,000 in run ag, past a pool of 50,000.
   */
  largeUsers: number;
  pool: number;
  /** Groups created for Groups v2 search (only when the endpoint exists). */
  searchGroups: number;
  /** Tenant "scale" (--scale only): users in the huge group (pool comes on top). */
  scaleUsers: number;
  /** Members per PATCH when building big groups. */
  patchChunk: number;
  /** Repetitions of the single-request scenarios. */
  patch1kReps: number;
  patch10kReps: number;
  bigGetReps: number;
  /** Users seeded into the embedded-PGlite instance. */
  pgliteUsers: number;
}

export interface Options {
  scale: boolean;
  smoke: boolean;
  json?: string;
  markdown?: string;
  duration: number;
  runs: number;
  warmup: number;
  connections: number;
  seedConcurrency: number;
  only?: RegExp;
  pglite: boolean;
  pin: boolean;
  keepDb: boolean;
  databaseUrl: string;
  sizes: Sizes;
}

const DEFAULT_SIZES: Sizes = {
  smallUsers: 10_000,
  smallGroupSmall: 10,
  smallGroupBig: 10_000,
  largeUsers: 100_000,
  pool: 100_000,
  searchGroups: 100_000,
  scaleUsers: 1_000_000,
  patchChunk: 10_000,
  patch1kReps: 20,
  patch10kReps: 5,
  bigGetReps: 3,
  pgliteUsers: 10_000,
};

const SMOKE_SIZES: Sizes = {
  smallUsers: 300,
  smallGroupSmall: 10,
  smallGroupBig: 200,
  largeUsers: 400,
  pool: 1_000,
  searchGroups: 300,
  scaleUsers: 1_000,
  patchChunk: 100,
  patch1kReps: 2,
  patch10kReps: 1,
  bigGetReps: 1,
  pgliteUsers: 200,
};

function num(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'boolean' },
      smoke: { type: 'boolean' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      duration: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'seed-concurrency': { type: 'string' },
      only: { type: 'string' },
      'no-pglite': { type: 'boolean' },
      'no-pin': { type: 'boolean' },
      'keep-db': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const smoke = Boolean(values.smoke);
  return {
    scale: Boolean(values.scale),
    smoke,
    json: values.json,
    markdown: values.markdown,
    duration: num(values.duration, 'duration', smoke ? 0.5 : 10, 0.5),
    runs: Math.round(num(values.runs, 'runs', smoke ? 1 : 3, 1)),
    warmup: num(values.warmup, 'warmup', smoke ? 0 : 3, 0),
    connections: Math.round(num(values.connections, 'connections', 32, 1)),
    seedConcurrency: Math.round(num(values['seed-concurrency'], 'seed-concurrency', 4, 1)),
    only: values.only ? new RegExp(values.only) : undefined,
    pglite: !values['no-pglite'],
    pin: !values['no-pin'],
    keepDb: Boolean(values['keep-db']),
    databaseUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    sizes: smoke ? SMOKE_SIZES : DEFAULT_SIZES,
  };
}
