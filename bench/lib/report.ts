/**
 * Result rows: one per scenario, printed as a line as soon as it is measured, and at the end as a
 * table, JSON (--json) and Markdown (--markdown, for README's Performance section).
 */
export type Status = 'PASS' | 'FAIL' | 'SKIP' | 'INFO' | 'ERROR';

export interface Row {
  id: string;
  /** Which line of issue 7's target table this row measures. */
  title: string;
  /** The data it ran on. */
  data: string;
  rps?: number;
  /** Milliseconds. For single-request scenarios: the median and the slowest request. */
  p50?: number;
  p99?: number;
  non2xx?: number;
  /** SQL statements one request sends (counted through a wire-protocol proxy). */
  sql?: number;
  /** Roster's peak RSS during the scenario, and its growth over the RSS just before, in MiB. */
  peakRss?: number;
  rssDelta?: number;
  /** Ratio to the reference (or to the row named in `ratioTo`). */
  ratio?: number;
  ratioTo?: string;
  target: string;
  status: Status;
  note?: string;
  detail?: unknown;
}

const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fSql = (n: number) => (n < 10 ? n.toFixed(1).replace(/\.0$/, '') : Math.round(n).toString());
/** One decimal: a ratio just under its line (59.7% against 60%) must not read as on it. */
const pct = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : `${(n * 100).toFixed(1)}%`);

const COLUMNS: [string, number, (r: Row) => string][] = [
  ['scenario', 34, (r) => r.id],
  ['req/s', 9, (r) => f0(r.rps)],
  ['p50 ms', 8, (r) => f1(r.p50)],
  ['p99 ms', 8, (r) => f1(r.p99)],
  ['non2xx', 7, (r) => (r.non2xx === undefined ? '-' : String(r.non2xx))],
  ['SQL/req', 7, (r) => (r.sql === undefined ? '-' : fSql(r.sql))],
  ['peak RSS', 9, (r) => (r.peakRss === undefined ? '-' : `${f0(r.peakRss)}M`)],
  ['ΔRSS', 7, (r) => (r.rssDelta === undefined ? '-' : `+${f0(Math.max(0, r.rssDelta))}M`)],
  ['ratio', 6, (r) => pct(r.ratio)],
  ['status', 6, (r) => r.status],
];

export function header(): string {
  return COLUMNS.map(([name, w]) => name.padEnd(w)).join(' ') + ' target';
}

export function line(r: Row): string {
  const cells = COLUMNS.map(([, w, get]) => get(r).padEnd(w)).join(' ');
  return `${cells} ${r.target}${r.note ? `  [${r.note}]` : ''}`;
}

export function markdown(rows: Row[], meta: { date: string; mode: string; machine: string }): string {
  const out = [
    `Latest figures (${meta.date}, \`npm run bench${meta.mode}\`, ${meta.machine}). Ratios are to the reference server measured in the same run.`,
    '',
    '| scenario | data | req/s | p50 ms | p99 ms | non-2xx | SQL/req | peak RSS (Δ) MiB | ratio | target | result |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of rows) {
    const rss = r.peakRss === undefined ? '-' : `${f0(r.peakRss)}${r.rssDelta === undefined ? '' : ` (+${f0(Math.max(0, r.rssDelta))})`}`;
    const result = r.note && r.status !== 'PASS' ? `${r.status}: ${r.note}` : r.status;
    out.push(
      `| ${r.title} | ${r.data} | ${f0(r.rps)} | ${f1(r.p50)} | ${f1(r.p99)} | ${r.non2xx ?? '-'} | ${r.sql === undefined ? '-' : fSql(r.sql)} | ${rss} | ${pct(r.ratio)} | ${r.target} | ${result.replace(/\|/g, '\\|')} |`,
    );
  }
  return out.join('\n') + '\n';
}

export const passFail = (ok: boolean): Status => (ok ? 'PASS' : 'FAIL');
