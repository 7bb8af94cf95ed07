import { InvalidInput } from '../domain/errors';
import { MAX_CRITERIA_DEPTH, MAX_CRITERIA_NODES, MAX_CRITERIA_SUBQUERIES, type CompareOp, type Criteria, type Scalar } from '../domain/criteria';
import { own } from '../domain/own';

export type ScalarType = 'string' | 'boolean' | 'number' | 'datetime' | 'uuid';

/** A scalar attribute: its SQL expression (text, or typed for columns) and how it compares. */
export interface ScalarField {
  kind: 'scalar';
  sql: string;
  type: ScalarType;
  caseExact: boolean;
  /** SQL is a jsonb value text (->>), so booleans and numbers are compared as text casts. */
  json?: boolean;
}

/**
 * A multi-valued attribute: elements are matched with EXISTS over `exists(where, bindings)`.
 * `bindings` are the statement's bindings so far, `where`'s last: a wrapper that writes `?`
 * after `where` appends their values to it.
 */
export interface MultiField {
  kind: 'multi';
  exists: (where: string, bindings: unknown[]) => string;
  sub: Record<string, ScalarField>;
  /** The sub-attribute a bare comparison on the attribute means ("emails eq x" → value). */
  defaultSub: string;
}

export type FieldDef = ScalarField | MultiField;

/** A resource's filterable attributes, keyed by lower-cased canonical path. */
export type FieldMap = Record<string, FieldDef>;

export interface CompiledSql {
  sql: string;
  bindings: unknown[];
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function invalid(message: string): InvalidInput {
  return new InvalidInput(message, { criteria: true });
}

function resolve(fields: Record<string, FieldDef>, path: string): FieldDef {
  const def = own(fields, path.toLowerCase());
  if (!def) throw invalid(`unknown attribute "${path}"`);
  return def;
}

/** "emails.value" → the multi-valued "emails" and its sub-attribute "value", when that is what it names. */
function resolveMultiSub(fields: Record<string, FieldDef>, path: string): { multi: MultiField; sub: ScalarField } | undefined {
  const lower = path.toLowerCase();
  if (own(fields, lower)) return undefined;
  const dot = lower.lastIndexOf('.');
  if (dot < 0) return undefined;
  const parent = own(fields, lower.slice(0, dot));
  if (parent?.kind !== 'multi') return undefined;
  const sub = own(parent.sub, lower.slice(dot + 1));
  if (!sub) throw invalid(`unknown attribute "${path}"`);
  return { multi: parent, sub };
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function compareScalar(f: ScalarField, op: CompareOp, value: Scalar, b: unknown[]): string {
  if (value === null) {
    if (op === 'eq') return `(${f.sql}) IS NULL`;
    if (op === 'ne') return `(${f.sql}) IS NOT NULL`;
    throw invalid(`"${op}" cannot compare with null`);
  }
  switch (f.type) {
    case 'boolean': {
      if (typeof value !== 'boolean') throw invalid('a boolean attribute compares only with true or false');
      if (op !== 'eq' && op !== 'ne') throw invalid(`"${op}" does not apply to a boolean attribute`);
      b.push(f.json ? String(value) : value);
      return op === 'eq' ? `(${f.sql}) = ?` : `(${f.sql}) IS DISTINCT FROM ?`;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('a numeric attribute compares only with a number');
      if (['co', 'sw', 'ew', 'glob'].includes(op)) throw invalid(`"${op}" does not apply to a numeric attribute`);
      b.push(value);
      const expr = f.json ? `(CASE WHEN (${f.sql}) ~ '^-{0,1}[0-9.eE+-]+$' THEN (${f.sql})::numeric END)` : `(${f.sql})`;
      return binary(expr, op, '?::numeric');
    }
    case 'datetime': {
      const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(ms) || Number.isNaN(new Date(ms + 1).getTime())) throw invalid('a date attribute compares only with an ISO 8601 date-time');
      if (['co', 'sw', 'ew', 'glob'].includes(op)) throw invalid(`"${op}" does not apply to a date attribute`);
      // CASE: dates are shown with millisecond precision but stored with microseconds; a value
      // names its whole millisecond, so a date read from a response compares equal to itself.
      const [lo, hi] = [new Date(ms).toISOString(), new Date(ms + 1).toISOString()];
      const col = `(${f.sql})`;
      switch (op) {
        case 'eq':
          b.push(lo, hi);
          return `(${col} >= ?::timestamptz AND ${col} < ?::timestamptz)`;
        case 'ne':
          b.push(lo, hi);
          return `(${col} IS NULL OR ${col} < ?::timestamptz OR ${col} >= ?::timestamptz)`;
        case 'gt':
        case 'le':
          b.push(hi);
          return `${col} ${op === 'gt' ? '>=' : '<'} ?::timestamptz`;
        default:
          b.push(lo);
          return binary(col, op, '?::timestamptz');
      }
    }
    case 'uuid':
    case 'string': {
      if (typeof value !== 'string') {
        if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
      }
      const text = String(value);
      const expr = f.type === 'uuid' ? `(${f.sql})::text` : `(${f.sql})`;
      const [l, r] = f.caseExact || f.type === 'uuid' ? [expr, '?'] : [`lower(${expr})`, 'lower(?)'];
      if (op === 'glob') {
        b.push(likeEscape(text).replace(/\*/g, '%').replace(/\?/g, '_'));
        return `${l} LIKE ${r}`;
      }
      if (op === 'co' || op === 'sw' || op === 'ew') {
        b.push(op === 'sw' ? `${likeEscape(text)}%` : op === 'ew' ? `%${likeEscape(text)}` : `%${likeEscape(text)}%`);
        return `${l} LIKE ${r}`;
      }
      if (f.type === 'uuid' && (op === 'eq' || op === 'ne')) {
        // CASE: compared as a uuid the column's indexes apply; compared as text, a `members.value eq`
        // scanned every membership of every tenant. A value that is no uuid in its canonical form
        // matches nothing, as it never equalled the column's text either.
        if (!CANONICAL_UUID.test(text)) return op === 'eq' ? 'FALSE' : 'TRUE';
        b.push(text.toLowerCase());
        return op === 'eq' ? `(${f.sql}) = ?::uuid` : `(${f.sql}) IS DISTINCT FROM ?::uuid`;
      }
      b.push(f.type === 'uuid' ? text.toLowerCase() : text);
      return binary(l, op, r);
    }
  }
}

function binary(l: string, op: CompareOp, r: string): string {
  switch (op) {
    case 'eq':
      return `${l} = ${r}`;
    case 'ne':
      return `${l} IS DISTINCT FROM ${r}`;
    case 'gt':
      return `${l} > ${r}`;
    case 'ge':
      return `${l} >= ${r}`;
    case 'lt':
      return `${l} < ${r}`;
    case 'le':
      return `${l} <= ${r}`;
    default:
      throw invalid(`"${op}" does not apply here`);
  }
}

function present(f: ScalarField): string {
  return f.type === 'string' ? `coalesce((${f.sql})::text, '') <> ''` : `(${f.sql}) IS NOT NULL`;
}

/**
 * Compiles a criteria tree to a SQL boolean expression with `?` bindings, for `whereRaw`.
 * Unknown attributes, type mismatches and trees that are too deep or too big are InvalidInput,
 * and so are more than `maxSubqueries` terms on multi-valued attributes (a client's filter or
 * search; a group's stored membership rules, checked when written, pass Infinity).
 */
export function compileCriteria(root: Criteria, fields: FieldMap, opts: { maxSubqueries?: number } = {}): CompiledSql {
  const maxSubqueries = opts.maxSubqueries ?? MAX_CRITERIA_SUBQUERIES;
  const bindings: unknown[] = [];
  let nodes = 0;
  let subqueries = 0;
  const counted = (sql: string): string => {
    if (++subqueries > maxSubqueries) throw invalid(`the filter has more than ${maxSubqueries} conditions on multi-valued attributes`);
    return sql;
  };

  const walk = (c: Criteria, scope: Record<string, FieldDef>, depth: number, inElement: boolean): string => {
    if (depth > MAX_CRITERIA_DEPTH) throw invalid(`the filter is nested deeper than ${MAX_CRITERIA_DEPTH} levels`);
    if (++nodes > MAX_CRITERIA_NODES) throw invalid(`the filter has more than ${MAX_CRITERIA_NODES} terms`);
    switch (c.op) {
      case 'true':
        return 'TRUE';
      case 'false':
        return 'FALSE';
      case 'and':
      case 'or':
        if (!c.items.length) return c.op === 'and' ? 'TRUE' : 'FALSE';
        return `(${c.items.map((i) => walk(i, scope, depth + 1, inElement)).join(c.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT coalesce(${walk(c.item, scope, depth + 1, inElement)}, FALSE))`;
      case 'pr': {
        const ms = inElement ? undefined : resolveMultiSub(scope, c.field);
        if (ms) return counted(ms.multi.exists(present(ms.sub), bindings));
        const def = resolve(scope, c.field);
        if (def.kind === 'multi') return counted(def.exists('TRUE', bindings));
        return present(def);
      }
      case 'cmp': {
        const ms = inElement ? undefined : resolveMultiSub(scope, c.field);
        if (ms) return counted(ms.multi.exists(compareScalar(ms.sub, c.cmp, c.value, bindings), bindings));
        const def = resolve(scope, c.field);
        if (def.kind === 'multi') {
          const sub = def.sub[def.defaultSub];
          return counted(def.exists(compareScalar(sub, c.cmp, c.value, bindings), bindings));
        }
        return compareScalar(def, c.cmp, c.value, bindings);
      }
      case 'any': {
        if (inElement) throw invalid('value filters cannot be nested');
        const def = resolve(scope, c.field);
        if (def.kind !== 'multi') throw invalid(`"${c.field}" is not multi-valued`);
        // Bindings inside the element are collected in order, like everything else.
        return counted(def.exists(walk(c.where, def.sub, depth + 1, true), bindings));
      }
    }
  };

  return { sql: walk(root, fields, 0, false), bindings };
}

/** Whether sortExpression knows `path` (a root search sorts each resource type only by what it has). */
export function canSortBy(fields: FieldMap, path: string): boolean {
  try {
    sortExpression(fields, path);
    return true;
  } catch {
    return false;
  }
}

/** The SQL expression to sort by an attribute (scalar attributes only). */
export function sortExpression(fields: FieldMap, path: string): string {
  const def = resolve(fields, path);
  if (def.kind !== 'scalar') throw invalid(`cannot sort by the multi-valued attribute "${path}"`);
  // CASE: a constant attribute (meta.resourceType) is one value on every row; PostgreSQL refuses a
  // bare literal in ORDER BY ("non-integer constant"), so it is cast: an expression, same order.
  const sql = /^'(?:[^']|'')*'$/.test(def.sql) ? `${def.sql}::text` : def.sql;
  return def.type === 'string' && !def.caseExact ? `lower(${sql})` : sql;
}
