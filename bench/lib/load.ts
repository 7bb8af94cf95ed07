/**
 * Runs one load scenario in the load-worker child (pinned to the load core) and reduces its runs
 * to medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runNode } from './procs';

export interface LoadSpec {
  url: string;
  method: string;
  /** Path (with query); `{v}` is replaced per request (URL-encoded). */
  path: string;
  /** Body; `{v}` is replaced per request (as is). */
  body?: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
  warmup: number;
  runs: number;
  timeoutSeconds?: number;
  vary?: { kind: 'random' | 'sequence' | 'int' | 'counter'; values?: string[]; min?: number; max?: number; start?: number };
}

export interface LoadRun {
  rps: number;
  total: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

export interface LoadOutput {
  warmup?: LoadRun;
  runs: LoadRun[];
  /** How many per-request values were consumed (to continue a sequence in the next scenario). */
  used: number;
  /** A `sequence` ran out of values and started again (later values repeated). */
  wrapped: boolean;
}

export interface LoadSummary {
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx responses plus errors and timeouts, over the measured runs. */
  non2xx: number;
  statusCodes: Record<string, number>;
  runs: LoadRun[];
  used: number;
  wrapped: boolean;
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const WORKER = path.resolve(__dirname, '..', 'load-worker.ts');

export async function runLoad(spec: LoadSpec, core: number | undefined, workDir: string): Promise<LoadSummary> {
  const file = path.join(workDir, `load-${process.hrtime.bigint()}.json`);
  fs.writeFileSync(file, JSON.stringify(spec));
  try {
    const stdout = await runNode(['-r', require.resolve('ts-node/register/transpile-only'), WORKER, file], { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' }, core);
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as LoadOutput;
    const statusCodes: Record<string, number> = {};
    for (const r of out.runs) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    return {
      rps: median(out.runs.map((r) => r.rps)),
      p50: median(out.runs.map((r) => r.p50)),
      p99: median(out.runs.map((r) => r.p99)),
      non2xx: out.runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
      statusCodes,
      runs: out.runs,
      used: out.used,
      wrapped: out.wrapped,
    };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'roster-bench-'));
