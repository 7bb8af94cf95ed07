/**
 * Lookups of one shape that arrive together run as one statement.
 *
 * Under load most of a small lookup's cost is not the lookup: PostgreSQL's backend wakes up,
 * starts an executor, sends its answer over a socket and goes back to sleep once per statement,
 * and Node writes and reads a socket and runs pg's query machinery once per statement too.
 * Measured on the bench's 1,050,000 users: pgbench's 8 clients ran ~20,000 `userName eq` lookups
 * per second one per statement, ~37,000 eight per statement; behind Roster at c=32, PostgreSQL's
 * CPU per lookup went from ~160 to ~80 us.
 *
 * So a lookup whose statement is already running twice (`RUNNING_PER_LANE`) waits, and when one of
 * those finishes, everything that waited runs as ONE statement: the lookup's own text inside a
 * LATERAL, once per value of an array (`batchedSql`). Each lookup gets exactly the rows its own
 * statement would have given: the rows are told apart by the value's position in the array. A
 * lookup that finds its lane free runs at once, alone, as before, so a lone client waits for
 * nothing. When the batched statement fails with an error of the database, each of its lookups
 * runs again alone (the error may be one value's: a text PostgreSQL cannot take), so each gets
 * its own rows or its own error.
 *
 * On PGlite a statement runs in Node's own thread: while it runs no other request's code runs, so
 * no lookup could arrive and wait for it, and lookups would never run together. There a lookup that
 * finds its lane free waits for the end of the event loop's turn (setImmediate) and runs then with
 * every lookup of its lane that arrived in that turn: by hand, `userName eq` among 10,000 users at
 * c=32 went from ~1,700 to ~5,000 req/s, the group GET by id from ~1,700 to ~4,500.
 */

/**
 * Statements of one lane that run at the same time on PostgreSQL; the lookups that arrive
 * meanwhile wait. On PGlite, which runs one statement at a time anyway, one (and it gathers).
 */
export const RUNNING_PER_LANE = 2;
/** At most this many lookups run as one statement; the rest wait for the next. */
export const MAX_BATCH = 64;

/** The column that carries each row's position in the batch (1-based). */
const POSITION = 'roster_batch_position';

export interface BatchedStatement {
  sql: string;
  /** The bindings of the batched statement: the constant ones, then the array of values. */
  bindings(constants: readonly unknown[], values: readonly string[]): unknown[];
}

/**
 * The statement that runs `sql` once per value: the bindings at `places` (0-based) are the value
 * that differs from lookup to lookup, typed as `type` (what PostgreSQL made of the placeholder).
 * Undefined when the text cannot be rewritten safely (a `$` placeholder inside a quoted text, a
 * placeholder out of range).
 */
export function batchedSql(sql: string, bindingCount: number, places: readonly number[], type: string): BatchedStatement | undefined {
  if (!places.length || !/^[a-z_]+(\[\])?$/i.test(type)) return undefined;
  const isPlace = new Set(places.map((p) => p + 1));
  // The other bindings keep their order, renumbered from $1; the array of values comes last.
  const renumbered = new Map<number, number>();
  for (let n = 1; n <= bindingCount; n++) if (!isPlace.has(n)) renumbered.set(n, renumbered.size + 1);
  const arrayPlace = renumbered.size + 1;
  const inner = replacePlaceholders(sql, (n) => (isPlace.has(n) ? 'roster_batch.v' : renumbered.has(n) ? `$${renumbered.get(n)}` : undefined));
  if (inner === undefined) return undefined;
  return {
    sql: `SELECT roster_batch.i AS ${POSITION}, roster_batched.* FROM unnest($${arrayPlace}::${type}[]) WITH ORDINALITY AS roster_batch(v, i) CROSS JOIN LATERAL (${inner}) AS roster_batched`,
    bindings: (constants, values) => [...constants.filter((_c, i) => !isPlace.has(i + 1)), values],
  };
}

/**
 * `sql` with each `$n` placeholder outside quoted text and identifiers replaced by `to(n)`, or
 * undefined when `to` refuses one or a quote is left open.
 */
function replacePlaceholders(sql: string, to: (n: number) => string | undefined): string | undefined {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      // A quoted text or identifier runs to its closing quote; a doubled quote is part of it.
      let j = i + 1;
      for (;;) {
        j = sql.indexOf(ch, j);
        if (j < 0) return undefined;
        if (sql[j + 1] === ch) j += 2;
        else break;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === '$') {
      const m = /^\$(\d+)/.exec(sql.slice(i, i + 12));
      // A dollar-quoted text ($tag$ or $$) is not something these statements hold: refuse it.
      if (!m) return undefined;
      const replacement = to(Number(m[1]));
      if (replacement === undefined) return undefined;
      out += replacement;
      i += m[0].length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** Splits a batched statement's rows by their position: the rows of each lookup, in order. */
export function rowsByPosition<T>(rows: readonly Record<string, unknown>[], count: number): T[][] {
  const out: T[][] = Array.from({ length: count }, () => []);
  for (const r of rows) {
    const { [POSITION]: position, ...row } = r;
    const list = out[Number(position) - 1];
    // A row of a position that was not asked for cannot happen; it would be somebody else's.
    if (!list) throw new Error(`batched statement returned a row of position ${String(position)} of ${count}`);
    list.push(row as T);
  }
  return out;
}

interface Waiting<T> {
  value: string;
  resolve(rows: T[]): void;
  reject(err: unknown): void;
}

interface Lane {
  running: number;
  waiting: Waiting<never>[];
}

/**
 * How a lane runs its statements: one lookup alone, or several together, each lookup's outcome
 * its own (together rejects only when all of them fail alike: a lost connection).
 */
export interface LaneRunner<T> {
  alone(value: string): Promise<T[]>;
  together(values: readonly string[]): Promise<PromiseSettledResult<T[]>[]>;
}

/**
 * The lanes of one pool: a lane per statement text and constant bindings (the tenant, the
 * template), so only lookups that differ in their value alone run together.
 */
export class ReadLanes {
  private readonly lanes = new Map<string, Lane>();

  /**
   * `gather`: a lookup that finds its lane free does not start at once but at the end of the
   * event loop's turn (setImmediate), with every lookup of the lane that arrived in that turn.
   * For PGlite, whose statements run in Node's own thread: while one runs no other request's code
   * runs, so none could arrive and wait for it, and lookups would never run together.
   */
  constructor(
    private readonly runningPerLane = RUNNING_PER_LANE,
    private readonly gather = false,
  ) {}

  /** The rows of one lookup: at once when its lane has room, else together with the others waiting. */
  read<T>(laneKey: string, value: string, runner: LaneRunner<T>): Promise<T[]> {
    let lane = this.lanes.get(laneKey);
    if (!lane) this.lanes.set(laneKey, (lane = { running: 0, waiting: [] }));
    const free = lane.running < this.runningPerLane;
    if (free && !this.gather) {
      lane.running++;
      return runner.alone(value).finally(() => this.done(laneKey, lane, runner));
    }
    const waited = new Promise<T[]>((resolve, reject) => lane.waiting.push({ value, resolve, reject } as Waiting<T> as Waiting<never>));
    if (free) {
      lane.running++;
      setImmediate(() => this.next(laneKey, lane, runner));
    }
    return waited;
  }

  /** Lookups running and waiting in all lanes (for tests; an idle lane is forgotten). */
  counts(): { lanes: number; running: number; waiting: number } {
    let running = 0;
    let waiting = 0;
    for (const lane of this.lanes.values()) {
      running += lane.running;
      waiting += lane.waiting.length;
    }
    return { lanes: this.lanes.size, running, waiting };
  }

  private done<T>(laneKey: string, lane: Lane, runner: LaneRunner<T>): void {
    lane.running--;
    if (!lane.waiting.length) {
      if (lane.running === 0) this.lanes.delete(laneKey);
      return;
    }
    lane.running++;
    this.next(laneKey, lane, runner);
  }

  /** Runs what waits in the lane (up to MAX_BATCH, in one statement) in a place already counted as running. */
  private next<T>(laneKey: string, lane: Lane, runner: LaneRunner<T>): void {
    const batch = lane.waiting.splice(0, MAX_BATCH) as Waiting<T>[];
    const run: Promise<unknown> =
      batch.length === 1
        ? runner.alone(batch[0].value).then(batch[0].resolve, batch[0].reject)
        : runner.together(batch.map((w) => w.value)).then(
            (outcomes) => batch.forEach((w, i) => (outcomes[i].status === 'fulfilled' ? w.resolve(outcomes[i].value) : w.reject(outcomes[i].reason))),
            (err: unknown) => batch.forEach((w) => w.reject(err)),
          );
    void run.finally(() => this.done(laneKey, lane, runner));
  }
}
