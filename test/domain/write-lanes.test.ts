import { expect } from 'chai';
import { writeLanes } from '../../src/domain/write-lanes';

/** A write the test finishes by hand. */
interface Held {
  items: number[];
  finish(value?: unknown): void;
  fail(err: Error): void;
}

function recorder() {
  const calls: Held[] = [];
  const hold = (items: number[]) =>
    new Promise<unknown>((resolve, reject) => {
      calls.push({ items, finish: (v) => resolve(v), fail: reject });
    });
  return { calls, hold };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('write lanes: concurrent writes to one key take turns, and those that waited run together', () => {
  it('runs a write on a free key at once, alone; writes that arrive meanwhile run together, in order', async () => {
    const { calls, hold } = recorder();
    const lanes = writeLanes<number, string>(
      async (i) => ((await hold([i])) as string) ?? `alone ${i}`,
      async (items) => ((await hold(items)) as string[]) ?? items.map((i) => `together ${i}`),
    );
    const first = lanes.run('g', 1);
    const rest = [2, 3, 4].map((i) => lanes.run('g', i));
    await tick();
    expect(calls.map((c) => c.items)).to.deep.equal([[1]]);
    calls[0].finish();
    expect(await first).to.equal('alone 1');
    await tick();
    expect(calls.map((c) => c.items)).to.deep.equal([[1], [2, 3, 4]]);
    calls[1].finish(['two', 'three', 'four']);
    expect(await Promise.all(rest)).to.deep.equal(['two', 'three', 'four']);
    await tick();
    expect(lanes.busy).to.equal(0);
  });

  it('runs different keys side by side', async () => {
    const { calls, hold } = recorder();
    const lanes = writeLanes<number, unknown>((i) => hold([i]), (items) => hold(items) as Promise<unknown[]>);
    const a = lanes.run('a', 1);
    const b = lanes.run('b', 2);
    await tick();
    expect(calls.map((c) => c.items)).to.deep.equal([[1], [2]]);
    expect(lanes.busy).to.equal(2);
    calls.forEach((c) => c.finish('done'));
    expect(await Promise.all([a, b])).to.deep.equal(['done', 'done']);
    await tick();
    expect(lanes.busy).to.equal(0);
  });

  it('takes at most maxBatch writes at a time', async () => {
    const { calls, hold } = recorder();
    const lanes = writeLanes<number, unknown>((i) => hold([i]), (items) => hold(items) as Promise<unknown[]>, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => lanes.run('g', i));
    for (let round = 0; round < 4; round++) {
      await tick();
      const c = calls[round];
      c.finish(c.items.length === 1 ? c.items[0] : c.items);
    }
    expect(calls.map((c) => c.items)).to.deep.equal([[1], [2, 3], [4, 5], [6]]);
    expect(await Promise.all(all)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('runs each write alone, in order, when running them together fails; each settles on its own', async () => {
    const order: string[] = [];
    const lanes = writeLanes<number, number>(
      async (i) => {
        order.push(`alone ${i}`);
        if (i === 3) throw new Error('three is refused');
        return i * 10;
      },
      async (items) => {
        order.push(`together ${items.join(',')}`);
        throw new Error('the transaction failed');
      },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => lanes.run('g', i)));
    expect(order).to.deep.equal(['alone 1', 'together 2,3,4', 'alone 2', 'alone 3', 'alone 4']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([10, 20, 'three is refused', 40]);
    await tick();
    expect(lanes.busy).to.equal(0);
  });

  it('passes a failure of a write alone to its caller and goes on with the next', async () => {
    const lanes = writeLanes<number, number>(
      async (i) => {
        if (i === 1) throw new Error('one is refused');
        return i;
      },
      async (items) => items,
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => lanes.run('g', i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal(['one is refused', 2, 3]);
  });

  it('fails every write of a batch with its error, running none again, when retryAlone says so', async () => {
    let alone = 0;
    const lanes = writeLanes<number, number>(
      async (i) => {
        alone++;
        return i;
      },
      async () => {
        throw new Error('database unavailable');
      },
      { retryAlone: (err) => (err as Error).message !== 'database unavailable' },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => lanes.run('g', i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([1, 'database unavailable', 'database unavailable']);
    expect(alone).to.equal(1);
  });
});
