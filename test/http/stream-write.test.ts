import { expect } from 'chai';
import { Writable } from 'node:stream';
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_PENDING, sendJsonTextArray, write } from '../../src/http/common/json-text';

/** A stream that accepts chunks only when `flush` is called: a client that does not read. */
function stalledSink() {
  const pending: (() => void)[] = [];
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(_chunk, _encoding, done) {
      pending.push(() => done());
    },
  });
  const flush = () => {
    while (pending.length) pending.shift()!();
  };
  return { sink, flush };
}

const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => 'resolved', () => 'rejected'), new Promise((r) => setTimeout(() => r('waiting'), 20))]);

describe('streamed responses: writing with backpressure', () => {
  it('goes on while under 1 MiB is unsent, waits beyond it until the client has drained it', async () => {
    const { sink, flush } = stalledSink();
    const part = 'x'.repeat(17 * 1024);
    // Over the 16 KB high-water mark but under MAX_PENDING: no wait per part.
    expect(await settled(write(sink, part))).to.equal('resolved');
    let parts = 1;
    while (sink.writableLength + part.length < MAX_PENDING) {
      expect(await settled(write(sink, part))).to.equal('resolved');
      parts++;
    }
    // The write that crosses MAX_PENDING waits, and nothing more is written meanwhile.
    const crossing = write(sink, part);
    expect(await settled(crossing)).to.equal('waiting');
    expect(sink.writableLength).to.equal((parts + 1) * part.length);
    // The client reads: buffered chunks go one by one; the wait ends once all are sent.
    for (let i = 0; i <= parts; i++) {
      flush();
      await new Promise((r) => setImmediate(r));
    }
    expect(await settled(crossing)).to.equal('resolved');
    expect(sink.writableLength).to.equal(0);
  });

  it('stops waiting with an error when the client goes away', async () => {
    const { sink } = stalledSink();
    const big = 'y'.repeat(MAX_PENDING + 1);
    const waiting = write(sink, big);
    expect(await settled(waiting)).to.equal('waiting');
    sink.destroy();
    expect(await settled(waiting)).to.equal('rejected');
  });

  describe('a JSON array sent chunk by chunk (sendJsonTextArray)', () => {
    /** A server whose one route sends `chunks`; errors that reach Express answer 503. */
    async function serve(chunks: () => AsyncGenerator<string[]>, onReturn?: () => void) {
      const app = express();
      app.get('/', async (_req, res, next) => {
        try {
          await sendJsonTextArray(res, 200, chunks(), 'application/json');
        } catch (err) {
          next(err);
        } finally {
          onReturn?.();
        }
      });
      app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(503).json({ error: 'unavailable' });
      });
      const server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, port: (server.address() as AddressInfo).port };
    }

    /** GET / as a client sees it: status, body, and whether the response ended or was cut. */
    const get = (port: number) =>
      new Promise<{ status?: number; body: string; ended: boolean }>((resolve) => {
        let body = '';
        const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body, ended: true }));
          res.on('error', () => resolve({ status: res.statusCode, body, ended: false }));
          res.on('aborted', () => resolve({ status: res.statusCode, body, ended: false }));
        });
        req.on('error', () => resolve({ body, ended: false }));
      });

    it('writes the elements of every chunk in order, comma-separated, and ends the array', async () => {
      const { server, port } = await serve(async function* () {
        yield ['{"a":1}', '{"b":"x,y"}'];
        yield [];
        yield ['{"c":[3]}'];
      });
      try {
        const res = await get(port);
        expect(res).to.include({ status: 200, ended: true });
        expect(JSON.parse(res.body)).to.deep.equal([{ a: 1 }, { b: 'x,y' }, { c: [3] }]);
        const none = await serve(async function* () {});
        try {
          expect(await get(none.port)).to.deep.equal({ status: 200, body: '[]', ended: true });
        } finally {
          none.server.close();
        }
      } finally {
        server.close();
      }
    });

    it('answers an error when the first chunk fails, and cuts the connection when a later one does', async () => {
      const early = await serve(async function* () {
        throw new Error('database down');
      });
      try {
        expect(await get(early.port)).to.deep.equal({ status: 503, body: '{"error":"unavailable"}', ended: true });
      } finally {
        early.server.close();
      }
      let finished = 0;
      const late = await serve(
        async function* () {
          yield ['{"a":1}'];
          throw new Error('database down');
        },
        () => finished++,
      );
      try {
        const res = await get(late.port);
        // The headers (200) are gone: the array is never closed, and the client is told by the cut.
        expect(res.ended).to.equal(false);
        expect(res.body.endsWith(']')).to.equal(false);
        expect(finished).to.equal(1);
      } finally {
        late.server.close();
      }
    });
  });
});
