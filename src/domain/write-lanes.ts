/**
 * Writes that concurrent requests contend for, taken in turns per key within this process, and
 * those that queued up meanwhile run together.
 *
 * Some writes serialize in the database whatever we do: every membership change of a group
 * locks the group's row (its stored count and version change with it), and every write of a
 * tenant takes the tenant's change-feed head row (audit_feed_heads) as it commits. Left to the
 * database, each waits for that lock in its own transaction, and each hand-over costs a commit,
 * a wake-up and a re-check of the row: with 32 clients adding members to one group, PostgreSQL
 * spent about twice the CPU per change that it spends on one alone, and the lock, not the
 * cores, set the pace (the same for 32 clients creating users). Here a write whose key is free
 * runs at once, alone, as before; writes that arrive while it runs wait in arrival order and
 * then run together (up to `maxBatch`) in one transaction: the same one-after-another order,
 * each write still its own change, with one lock hand-over and one commit for all of them.
 *
 * If running them together fails, each runs alone again in order and settles on its own (a
 * write that the database refused then fails with its own error, the others are unaffected),
 * unless the failure is every write's: the database was unreachable (ServiceUnavailable), so
 * whether their commit took effect is unknown; then none runs again and all fail with it.
 */
import { ServiceUnavailable } from './errors';

export interface WriteLanes<I, O> {
  run(key: string, item: I): Promise<O>;
  /** Keys with writes running or waiting (for tests and metrics). */
  readonly busy: number;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

export interface WriteLaneOptions {
  /** Most writes run together (default 64). */
  maxBatch?: number;
  /** Whether the writes of a batch that failed with `err` run again alone (default: unless ServiceUnavailable). */
  retryAlone?: (err: unknown) => boolean;
}

export function writeLanes<I, O>(
  runAlone: (item: I) => Promise<O>,
  runTogether: (items: I[]) => Promise<O[]>,
  { maxBatch = 64, retryAlone = (err: unknown) => !(err instanceof ServiceUnavailable) }: WriteLaneOptions = {},
): WriteLanes<I, O> {
  /** Per busy key, the writes waiting for their turn (empty: one is running, none waiting). */
  const lanes = new Map<string, Waiting<I, O>[]>();

  async function runBatch(batch: Waiting<I, O>[]): Promise<void> {
    if (batch.length === 1) {
      const [w] = batch;
      await runAlone(w.item).then(w.resolve, w.reject);
      return;
    }
    let results: O[];
    try {
      results = await runTogether(batch.map((w) => w.item));
    } catch (err) {
      if (!retryAlone(err)) batch.forEach((w) => w.reject(err));
      else for (const w of batch) await runAlone(w.item).then(w.resolve, w.reject);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  async function drain(key: string, first: Waiting<I, O>): Promise<void> {
    let batch = [first];
    for (;;) {
      await runBatch(batch);
      const waiting = lanes.get(key)!;
      if (!waiting.length) {
        lanes.delete(key);
        return;
      }
      batch = waiting.splice(0, maxBatch);
    }
  }

  return {
    run(key, item) {
      return new Promise<O>((resolve, reject) => {
        const waiting = lanes.get(key);
        if (waiting) {
          waiting.push({ item, resolve, reject });
          return;
        }
        lanes.set(key, []);
        void drain(key, { item, resolve, reject });
      });
    },
    get busy() {
      return lanes.size;
    },
  };
}
