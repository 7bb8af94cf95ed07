import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const root = path.resolve(__dirname, '..', '..');

/**
 * `npm run bench -- --smoke` end to end: it checks that the harness works (every scenario of
 * issue 7 produces a row, none errors), not the numbers. It needs a PostgreSQL server and the
 * compiled build, so it runs in the PostgreSQL pass (TEST_DATABASE_URL or BENCH_DATABASE_URL set);
 * BENCH_SMOKE=0 skips it. About 40 s on an idle 2-core machine.
 */
describe('benchmark harness (--smoke)', function () {
  this.timeout(300_000);
  let child: ChildProcess | undefined;
  // A timed-out test must not leave the harness running (it would still clean up, but later).
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  });

  it('runs every scenario on tiny data and writes JSON without an ERROR row', async function () {
    const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
    const reason = !server
      ? 'the benchmark needs PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL)'
      : process.env.BENCH_SMOKE === '0'
        ? 'BENCH_SMOKE=0'
        : !fs.existsSync(path.join(root, 'dist', 'src', 'server.js'))
          ? 'no build in dist/ (npm run build)'
          : undefined;
    if (reason) {
      // eslint-disable-next-line no-console
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-')), 'bench.json');
    const env: NodeJS.ProcessEnv = { ...process.env, BENCH_DATABASE_URL: server };
    delete env.DATABASE_URL;
    delete env.NODE_ENV;
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const c = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'bench/run.ts', '--smoke', '--json', json], { cwd: root, env });
      child = c;
      let output = '';
      c.stdout.on('data', (d: Buffer) => (output += d.toString()));
      c.stderr.on('data', (d: Buffer) => (output += d.toString()));
      c.on('exit', (code) => resolve({ code, output }));
    });
    expect(code, output.slice(-4000)).to.equal(0);
    const result = JSON.parse(fs.readFileSync(json, 'utf8')) as { rows: { id: string; status: string; note?: string }[] };
    const ids = result.rows.map((r) => r.id);
    for (const id of [
      'reference.get',
      'reference.write',
      'reference.healthz',
      'roster.healthz',
      'scim.group.get.excl.10k',
      'scim.group.get.excl.10-vs-big',
      'scim.users.filter.eq.10k',
      'scim.users.list.random.10k',
      'scim.group.patch.add1.10k',
      'scim.group.patch.add1.10-vs-big',
      'scim.group.patch.add1000',
      'scim.group.patch.add10000',
      'scim.group.get.members.100k',
      'scim.group.get.members.1m',
      'scim.users.filter.eq.1m',
      'scim.users.list.index.1m',
      'scim.users.list.cursor.1m',
      'seed.users.post',
      'seed.users.bulk',
      'v2.members.page.100k',
      'v2.search',
      'memory.idle',
      'memory.peak',
      'pglite.group.get.excl.10',
      'pglite.users.filter.eq.10k',
    ]) {
      expect(ids, `row ${id}`).to.include(id);
    }
    const errors = result.rows.filter((r) => r.status === 'ERROR');
    expect(errors, JSON.stringify(errors)).to.deep.equal([]);
    const failedRequests = result.rows.filter((r) => (r as { non2xx?: number }).non2xx);
    expect(failedRequests, JSON.stringify(failedRequests)).to.deep.equal([]);
  });
});
