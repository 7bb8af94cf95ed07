import type { Executor } from '../../db/transaction';
import { touchTokens } from './tokens.repository';

/**
 * Records when tokens were last used without putting a write on any request's path: a use is
 * noted in memory (at most once per token per `intervalMs`), and the notes are written in one
 * batched UPDATE `flushDelayMs` later. A failed write is forgotten and retried on the next use.
 */
export interface UsageRecorder {
  /** Notes that token `id` was used now. */
  used(id: string): void;
  /** Writes the pending notes now. */
  flush(): Promise<void>;
  /** Writes what is pending (shutdown); later uses are still recorded. */
  close(): Promise<void>;
}

export interface UsageRecorderOptions {
  intervalMs: number;
  flushDelayMs: number;
  /** Bound on the tokens remembered between writes (a token seen again after eviction is simply written again). */
  maxTracked?: number;
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** `db` gives the handle to write with (undefined: not known yet, the notes wait). */
export function createUsageRecorder(db: () => Executor | undefined, opts: UsageRecorderOptions): UsageRecorder {
  const now = opts.now ?? Date.now;
  const maxTracked = opts.maxTracked ?? 100_000;
  /** Token id → local time its use was last queued. */
  const noted = new Map<string, number>();
  let pending = new Map<string, Date>();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const forgetOld = (t: number) => {
    for (const [id, at] of noted) {
      if (t - at < opts.intervalMs && noted.size < maxTracked) break;
      noted.delete(id);
    }
  };

  async function write(): Promise<void> {
    timer = undefined;
    const ex = db();
    if (!pending.size || !ex) return;
    const batch = pending;
    pending = new Map();
    try {
      await touchTokens(ex, [...batch].map(([id, at]) => ({ id, at })), opts.intervalMs / 2000);
    } catch (err) {
      for (const id of batch.keys()) noted.delete(id);
      opts.onError?.(err);
    }
  }

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    inFlight = inFlight.then(write);
    return inFlight;
  };

  return {
    used(id) {
      const t = now();
      const last = noted.get(id);
      if (last !== undefined && t - last < opts.intervalMs) return;
      // Re-inserting moves the id to the end, so the map stays ordered by time of note.
      noted.delete(id);
      noted.set(id, t);
      if (noted.size > maxTracked) forgetOld(t);
      pending.set(id, new Date(t));
      if (!timer) {
        timer = setTimeout(() => void flush(), opts.flushDelayMs);
        timer.unref();
      }
    },
    flush,
    close: flush,
  };
}
