import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';

/**
 * Statements whose text depends on their shape only, built by Knex once per shape.
 *
 * Knex compiles a statement's text on every request. For a small indexed read that is about
 * 25–30 µs of a request's ~340 µs of Node CPU (a SCIM `userName eq` lookup, a Groups v2 search by
 * name), and a tenth of everything the request allocates. A hot read whose text is the same for
 * every value is built here once per shape, from the same builder code as any other statement, and
 * later requests only put their values in the places the first build found for them.
 *
 * How the places are found: the first build runs with a marker in place of each value (a string
 * with a control character and the value's place; an integer of its own for a number), and each
 * marker must come out of
 * Knex as one whole binding, untouched, and nowhere in the text. If any does not (the builder
 * changed it, branched on it, or wrote it into the text), the shape is not kept, and the statement
 * is built with its values every time, as before. The caller's `key` must name everything else the
 * text depends on. Where checking is on (the test suite), every later use is also built afresh
 * with its values and must match, so that a key that names too little fails the tests.
 */

/** The values a statement takes: strings, and integers (limits, offsets); undefined ones it does not take. */
export type ShapeValues = Record<string, string | number | undefined>;

/** Where each binding comes from: a value by name, or a constant the builder wrote itself. */
type Take = { value: string } | { constant: unknown };

interface Shape {
  sql: string;
  take: Take[];
  /** The value's name for each binding (undefined for a constant). */
  from: (string | undefined)[];
}

export interface NativeStatement {
  sql: string;
  bindings: readonly unknown[];
}

/** A statement from a kept shape also tells, for each binding, the name of the value it holds (undefined: a constant). */
export interface ShapedStatement extends NativeStatement {
  from?: readonly (string | undefined)[];
}

/** At most this many shapes are kept; past them statements are built as usual. */
const MAX_SHAPES = 256;
/** A shape, or null for a key whose statement cannot be kept (its values shape its text). */
const shapes = new Map<string, Shape | null>();

/** Marks values for the first build (a control character, then the value's place). */
const MARK = '\u0001RosterShape';
/** Integer markers, far past any limit or offset a request may ask for, a thousand apart. */
const NUMBER_MARK = 1_900_000_000;
const NUMBER_STEP = 1000;

let checking = false;

/** Every use of a kept shape is also built afresh and compared (the test suite turns this on). */
export function checkShapes(on: boolean): void {
  checking = on;
}

const native = (q: Knex.QueryBuilder | Knex.Raw): NativeStatement => q.toSQL().toNative();

/** The statement of `key` with these values: from its kept shape, or built (see above). */
export function shapedStatement<V extends ShapeValues>(key: string, values: V, build: (values: V) => Knex.QueryBuilder | Knex.Raw): ShapedStatement {
  let shape = shapes.get(key);
  if (shape === undefined) {
    if (shapes.size >= MAX_SHAPES) return native(build(values));
    shape = learn(values, build);
    shapes.set(key, shape);
  }
  if (shape === null) return native(build(values));
  const bindings = shape.take.map((t) => ('value' in t ? values[t.value] : t.constant));
  if (checking) {
    const fresh = native(build(values));
    if (fresh.sql !== shape.sql || !isDeepStrictEqual(fresh.bindings, bindings)) {
      throw new Error(`statement shape "${key}" differs from a fresh build: its key must name what else its text depends on`);
    }
  }
  return { sql: shape.sql, bindings, from: shape.from };
}

/** Builds with markers and finds where each value goes; null when the text depends on them. */
function learn<V extends ShapeValues>(values: V, build: (values: V) => Knex.QueryBuilder | Knex.Raw): Shape | null {
  const names = Object.keys(values).filter((name) => values[name] !== undefined);
  const marked: ShapeValues = {};
  const nameOf = new Map<string | number, string>();
  names.forEach((name, i) => {
    const marker = typeof values[name] === 'number' ? NUMBER_MARK + i * NUMBER_STEP : `${MARK}${i}\u0001`;
    marked[name] = marker;
    nameOf.set(marker, name);
  });
  let built: NativeStatement;
  try {
    built = native(build(marked as V));
  } catch {
    // CASE: a marker is no valid value there (a date, say): the statement is built every time.
    return null;
  }
  if (built.sql.includes('\u0001')) return null;
  const found = new Set<string>();
  const take: Take[] = [];
  for (const b of built.bindings) {
    const name = typeof b === 'string' || typeof b === 'number' ? nameOf.get(b) : undefined;
    if (name !== undefined) {
      found.add(name);
      take.push({ value: name });
    } else if (typeof b === 'string' && b.includes('\u0001')) {
      return null;
    } else if (typeof b === 'number' && b >= NUMBER_MARK - NUMBER_STEP && b < NUMBER_MARK + (names.length + 1) * NUMBER_STEP) {
      // A marker the builder computed with (a limit + 1): the value does not go in as it is.
      return null;
    } else {
      take.push({ constant: b });
    }
  }
  // A value that left no binding was dropped or turned into text (a uuid that is no uuid: FALSE).
  return found.size === names.length ? { sql: built.sql, take, from: take.map((t) => ('value' in t ? t.value : undefined)) } : null;
}
