import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { smoke } from '../../src/cli/smoke';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { listen } from './helpers';

const root = path.resolve(__dirname, '..', '..');

function runSmoke(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/smoke.ts', ...args], { cwd: root });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

describe('ops: `npm run smoke -- <base-url> <token>`', function () {
  this.timeout(60_000);
  let server: Awaited<ReturnType<typeof listen>>;
  let token: string;
  before(async () => {
    server = await listen(testContext().app);
    token = await (await newTenant()).token(['all']);
  });
  after(async () => {
    await server.close();
  });

  it('passes against a running instance, one request per dialect, and exits 0', async () => {
    const { code, stdout } = await runSmoke([server.url, token]);
    expect(code, stdout).to.equal(0);
    for (const dialect of ['scim', 'groups-v2', 'groups-v1', 'group-entities', 'group-bags', 'oauth', 'changes']) {
      expect(stdout).to.match(new RegExp(`^ok\\s+${dialect}\\s`, 'm'));
    }
  });

  it('fails (exit 1) with a refused token, and 2 on bad usage', async () => {
    const refused = await runSmoke([server.url, 'rst_nope']);
    expect(refused.code).to.equal(1);
    expect(refused.stdout).to.match(/401: the token was refused/);
    expect((await runSmoke([server.url])).code).to.equal(2);
  });

  it('skips a dialect the instance does not serve, with a message', async () => {
    const results = await smoke(server.url, token);
    expect(results.filter((r) => r.outcome === 'fail')).to.deep.equal([]);
    const http = await import('node:http');
    // An instance whose contract has no group-bags routes.
    const partial = await listen(
      http.createServer((req, res) => {
        if (req.url === '/openapi.json') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ paths: { '/healthz': {} } }));
        } else {
          res.setHeader('Content-Type', 'application/json');
          res.end('{"status":"ok"}');
        }
      }),
    );
    try {
      const r = await smoke(partial.url, token);
      expect(r.find((x) => x.name === 'group-bags')).to.include({ outcome: 'skip' });
      expect(r.find((x) => x.name === 'health')).to.include({ outcome: 'ok' });
    } finally {
      await partial.close();
    }
  });
});
