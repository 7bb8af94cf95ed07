import { expect } from 'chai';
import net from 'node:net';
import { scratchDatabase, sleep, startInstance, stopAll, type Instance, type ScratchDb } from './helpers/cluster';
import { call, quantile } from './helpers/http';

/**
 * Guarantee 8 (slow clients): hundreds of slowloris connections (headers a byte at a time) and
 * slow bodies (a few bytes a second) are cut off by the server's header and request timeouts,
 * while an ordinary client keeps getting fast answers the whole time.
 */

const HEADERS_TIMEOUT_MS = 2000;
const REQUEST_TIMEOUT_MS = 5000;
const SLOWLORIS = 200;
const SLOW_BODIES = 50;

interface SlowSocket {
  opened: number;
  closed?: number;
  /** The first bytes the server wrote back, if any (Node answers 408 when it times a request out). */
  reply: string;
}

/** Opens a connection that sends `head` and then one byte of `drip` every `everyMs`. */
function slowConnection(port: number, head: string, drip: string, everyMs: number): SlowSocket {
  const s: SlowSocket = { opened: Date.now(), reply: '' };
  const socket = net.connect(port, '127.0.0.1');
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(head);
    timer = setInterval(() => {
      if (socket.writable) socket.write(drip[i++ % drip.length]);
    }, everyMs);
  });
  socket.on('data', (d) => (s.reply += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    s.closed = Date.now();
  });
  return s;
}

describe('chaos: slow clients are cut off without starving others', function () {
  this.timeout(300_000);
  let scratch: ScratchDb;
  let instance: Instance | undefined;

  after(async () => {
    if (instance) await stopAll([instance]);
    await scratch?.drop();
  });

  it(`closes ${SLOWLORIS} slowloris connections after the headers timeout and ${SLOW_BODIES} slow bodies after the request timeout, while a normal client is served`, async () => {
    scratch = await scratchDatabase();
    const { services } = scratch;
    const tenant = await services.tenants.createTenant('chaos-slow');
    const { token } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'chaos', rights: ['all'] });
    instance = await startInstance(scratch.url, { HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }, 'slow');
    const { port } = instance;

    const lorises = Array.from({ length: SLOWLORIS }, (_, i) => slowConnection(port, `GET /api/v2/groups?x=${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n`, 'X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n', 200));
    const bodies = Array.from({ length: SLOW_BODIES }, () =>
      slowConnection(port, `POST /api/v2/groups HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":"`, 'a', 200),
    );

    // An ordinary client, all along.
    const latencies: number[] = [];
    const statuses: number[] = [];
    const until = Date.now() + REQUEST_TIMEOUT_MS + 5000;
    while (Date.now() < until) {
      const r = await call(instance.base, 'GET', '/api/v2/groups?pageSize=5', { token, timeoutMs: 10_000 });
      latencies.push(r.ms);
      statuses.push(r.status);
      await sleep(50);
    }
    await sleep(1500);

    const cutAfter = (xs: SlowSocket[]) => xs.map((x) => (x.closed ?? Infinity) - x.opened);
    const loris = cutAfter(lorises);
    const slow = cutAfter(bodies);
    process.stdout.write(`      slowloris cut after ${quantile(loris, 0.5)}–${Math.max(...loris)} ms, slow bodies after ${quantile(slow, 0.5)}–${Math.max(...slow)} ms; normal client p50 ${quantile(latencies, 0.5)} ms, p99 ${quantile(latencies, 0.99)} ms over ${latencies.length} requests\n`);

    expect(statuses.every((s) => s === 200), `normal client statuses: ${[...new Set(statuses)]}`).to.equal(true);
    expect(quantile(latencies, 0.99), 'the normal client was starved').to.be.below(2000);
    expect(Math.max(...loris), 'slowloris connections outlived the headers timeout').to.be.below(HEADERS_TIMEOUT_MS + 3000);
    expect(Math.min(...loris)).to.be.at.least(HEADERS_TIMEOUT_MS - 100);
    expect(Math.max(...slow), 'slow bodies outlived the request timeout').to.be.below(REQUEST_TIMEOUT_MS + 3000);
    expect(lorises.filter((x) => x.reply).every((x) => /^HTTP\/1\.1 408/.test(x.reply))).to.equal(true);
    expect(instance.proc.exitCode).to.equal(null);
  });
});
