import { expect } from 'chai';
import { Writable } from 'node:stream';
import { MAX_PENDING, write } from '../../src/http/scim/stream';

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
});
