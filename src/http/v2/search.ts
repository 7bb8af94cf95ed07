import { and, or, type CompareOp, type Criteria, type Scalar } from '../../domain/criteria';
import { InvalidInput } from '../../domain/errors';
import type { GroupSort } from '../../domain/groups/group';
import { own } from '../../domain/own';

/**
 * GroupSearchRequest (Groups v2 search) → the core's criteria tree, sort keys and page.
 *
 * Each list of criteria (`query`, and every `group`) combines by each item's `operator`:
 * all AND items must match, no NOT item may match, and when there are OR items at least one of
 * them must match. A criterion with a `group` stands for that nested list (and for its own typed
 * condition too, when it has one). `query`, `group` and `sort` may be one object or an array:
 * the document draws objects, the SDK sends arrays.
 */
export const SEARCH_LIMITS = { depth: 10, criteria: 200, itemsPerList: 50, values: 100, fields: 20, valueLength: 1000, pageSize: 100 };

type FieldType = 'string' | 'number' | 'boolean' | 'datetime' | 'id';

/** Searchable Groups v2 fields (lower-cased) → core attribute path (groups.fields.ts) and type. */
const FIELDS: Record<string, { path: string; type: FieldType; sortable: boolean }> = {
  id: { path: 'id', type: 'id', sortable: true },
  name: { path: 'name', type: 'string', sortable: true },
  description: { path: 'description', type: 'string', sortable: true },
  type: { path: 'type', type: 'string', sortable: true },
  visibility: { path: 'visibility', type: 'string', sortable: true },
  state: { path: 'state', type: 'string', sortable: true },
  rulesvisible: { path: 'rulesVisible', type: 'boolean', sortable: true },
  membercount: { path: 'memberCount', type: 'number', sortable: true },
  version: { path: 'version', type: 'number', sortable: true },
  datemodified: { path: 'dateModified', type: 'datetime', sortable: true },
  datecreated: { path: 'dateCreated', type: 'datetime', sortable: true },
  ownerids: { path: 'ownerIds', type: 'id', sortable: false },
  'owners.id': { path: 'ownerIds', type: 'id', sortable: false },
  memberids: { path: 'members', type: 'id', sortable: false },
  'members.id': { path: 'members', type: 'id', sortable: false },
};

export const SEARCH_FIELD_NAMES = ['id', 'name', 'description', 'type', 'visibility', 'state', 'rulesVisible', 'memberCount', 'version', 'dateModified', 'dateCreated', 'ownerIds', 'memberIds'];

export const CRITERIA_TYPES = [
  'EXACT',
  'CONTAINS',
  'STARTS_WITH',
  'REQUIRED_FIELDS',
  'RANGE',
  'DATE_RANGE',
  'LESS_THAN',
  'GREATER_THAN',
  'TERM',
  'TERMS',
  'MATCH_ALL',
  'QUERY_STRING',
] as const;

export interface ParsedSearch {
  criteria: Criteria;
  sort: GroupSort[];
  pageSize: number;
  pageNumber: number;
}

type Field = (typeof FIELDS)[string];
type Obj = Record<string, unknown>;

function bad(message: string): InvalidInput {
  return new InvalidInput(message, { criteria: true });
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function asList(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > SEARCH_LIMITS.itemsPerList) throw bad(`${what} has more than ${SEARCH_LIMITS.itemsPerList} items`);
  return list;
}

function fieldOf(name: unknown): Field {
  const f = typeof name === 'string' ? own(FIELDS, name.toLowerCase()) : undefined;
  if (!f) throw bad(`unknown search field ${JSON.stringify(name)} (known: ${SEARCH_FIELD_NAMES.join(', ')})`);
  return f;
}

function text(v: unknown, what: string): string {
  if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
  if (typeof v !== 'string') throw bad(`${what} must be a string`);
  if (v.length > SEARCH_LIMITS.valueLength) throw bad(`${what} is longer than ${SEARCH_LIMITS.valueLength} characters`);
  return v;
}

/** A criterion's value in the field's type. */
function coerce(f: Field, raw: string): Scalar {
  switch (f.type) {
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n)) throw bad(`"${f.path}" takes a number, not ${JSON.stringify(raw)}`);
      return n;
    }
    case 'boolean':
      if (!/^(true|false)$/i.test(raw)) throw bad(`"${f.path}" takes true or false, not ${JSON.stringify(raw)}`);
      return raw.toLowerCase() === 'true';
    case 'datetime':
      if (Number.isNaN(Date.parse(raw))) throw bad(`"${f.path}" takes an ISO 8601 date-time, not ${JSON.stringify(raw)}`);
      return raw;
    default:
      return raw;
  }
}

const cmp = (f: Field, op: CompareOp, raw: string): Criteria => ({ op: 'cmp', field: f.path, cmp: op, value: coerce(f, raw) });
const anyOf = (items: Criteria[]): Criteria => (items.length === 1 ? items[0] : or(...items));
const allOf = (items: Criteria[]): Criteria => (items.length === 1 ? items[0] : and(...items));

/** The condition of one typed criterion. */
function typed(c: Obj): Criteria {
  const type = text(c.type, 'type').toUpperCase();
  if (!(CRITERIA_TYPES as readonly string[]).includes(type)) throw bad(`unknown criteria type ${JSON.stringify(c.type)} (known: ${CRITERIA_TYPES.join(', ')})`);
  if (type === 'MATCH_ALL') return { op: 'true' };
  const rawFields = c.fields === undefined && type === 'QUERY_STRING' ? ['name', 'description'] : asList(c.fields, 'fields');
  if (!rawFields.length) throw bad(`a ${type} criterion needs "fields"`);
  if (rawFields.length > SEARCH_LIMITS.fields) throw bad(`at most ${SEARCH_LIMITS.fields} fields per criterion`);
  const fields = rawFields.map(fieldOf);
  const rawValues = c.values !== undefined ? asListOfValues(c.values) : c.value !== undefined ? [text(c.value, 'value')] : [];
  const needValues = () => {
    if (!rawValues.length) throw bad(`a ${type} criterion needs "value" or "values"`);
    return rawValues;
  };
  const single = () => {
    if (c.value === undefined) throw bad(`a ${type} criterion needs "value"`);
    return text(c.value, 'value');
  };
  switch (type) {
    case 'EXACT':
    case 'TERM':
    case 'TERMS':
      return anyOf(fields.flatMap((f) => needValues().map((v) => cmp(f, 'eq', v))));
    case 'CONTAINS':
      return anyOf(fields.flatMap((f) => needValues().map((v) => cmp(f, 'co', v))));
    case 'STARTS_WITH':
      return anyOf(fields.flatMap((f) => needValues().map((v) => cmp(f, 'sw', v))));
    case 'REQUIRED_FIELDS':
      return allOf(fields.map((f) => ({ op: 'pr', field: f.path }) as Criteria));
    case 'LESS_THAN':
      return anyOf(fields.map((f) => cmp(f, 'lt', single())));
    case 'GREATER_THAN':
      return anyOf(fields.map((f) => cmp(f, 'gt', single())));
    case 'RANGE':
    case 'DATE_RANGE': {
      const start = c.startValue === undefined ? undefined : text(c.startValue, 'startValue');
      const end = c.endValue === undefined ? undefined : text(c.endValue, 'endValue');
      if (start === undefined && end === undefined) throw bad(`a ${type} criterion needs "startValue" or "endValue"`);
      return anyOf(
        fields.map((f) => {
          if (type === 'DATE_RANGE' && f.type !== 'datetime') throw bad(`DATE_RANGE applies to date fields, not "${f.path}"`);
          const bounds = [...(start !== undefined ? [cmp(f, 'ge', start)] : []), ...(end !== undefined ? [cmp(f, 'le', end)] : [])];
          return allOf(bounds);
        }),
      );
    }
    default:
      return queryString(single(), fields);
  }
}

function asListOfValues(values: unknown): string[] {
  const list = Array.isArray(values) ? values : [values];
  if (list.length > SEARCH_LIMITS.values) throw bad(`at most ${SEARCH_LIMITS.values} values per criterion`);
  return list.map((v) => text(v, 'values'));
}

interface Walk {
  nodes: number;
}

/** One criterion: its typed condition and/or its nested group. */
function criterion(raw: unknown, depth: number, walk: Walk): Criteria {
  if (depth > SEARCH_LIMITS.depth) throw bad(`criteria groups are nested deeper than ${SEARCH_LIMITS.depth} levels`);
  if (++walk.nodes > SEARCH_LIMITS.criteria) throw bad(`the search has more than ${SEARCH_LIMITS.criteria} criteria`);
  if (!isObj(raw)) throw bad('each criterion must be an object');
  const parts: Criteria[] = [];
  if (raw.type !== undefined) parts.push(typed(raw));
  if (raw.group !== undefined) parts.push(combine(asList(raw.group, 'group'), depth + 1, walk));
  if (!parts.length) throw bad('a criterion needs a "type" or a "group"');
  return allOf(parts);
}

/** A list of criteria combined by their operators (AND by default). */
function combine(items: unknown[], depth: number, walk: Walk): Criteria {
  const must: Criteria[] = [];
  const should: Criteria[] = [];
  const mustNot: Criteria[] = [];
  for (const item of items) {
    const c = criterion(item, depth, walk);
    const op = isObj(item) && item.operator !== undefined ? text(item.operator, 'operator').toUpperCase() : 'AND';
    if (op === 'AND') must.push(c);
    else if (op === 'OR') should.push(c);
    else if (op === 'NOT') mustNot.push(c);
    else throw bad(`unknown operator ${JSON.stringify(item && (item as Obj).operator)} (known: AND, OR, NOT)`);
  }
  const all = [...must, ...(should.length ? [anyOf(should)] : []), ...mustNot.map((c): Criteria => ({ op: 'not', item: c }))];
  return all.length ? allOf(all) : { op: 'true' };
}

/** A term of a query string over the given fields: wildcards match the whole value, words are contained. */
function termOver(fields: Field[], word: string, phrase: boolean): Criteria {
  return anyOf(
    fields.map((f) => {
      if (f.type !== 'string') return cmp(f, 'eq', word);
      if (!phrase && /[*?]/.test(word)) return { op: 'cmp', field: f.path, cmp: 'glob', value: word } as Criteria;
      return cmp(f, 'co', word);
    }),
  );
}

/**
 * QUERY_STRING, a Lucene-like subset: words and "quoted phrases", `field:term`, `+term` (must),
 * `-term` and `NOT term` (must not), `a AND b` (both must), `a OR b`, `*` and `?` wildcards.
 * As in Lucene, when some term must match the optional terms do not narrow the result.
 */
function queryString(input: string, fields: Field[]): Criteria {
  const tokens = input.match(/"(?:[^"\\]|\\.)*"?|[^\s"]+(?:"(?:[^"\\]|\\.)*"?)?/g) ?? [];
  type Clause = { c: Criteria; occur: 'must' | 'should' | 'not' };
  const clauses: Clause[] = [];
  let pendingNot = false;
  let pendingAnd = false;
  for (const token of tokens) {
    if (token === 'AND') {
      if (!clauses.length) throw bad('QUERY_STRING: AND needs a term before it');
      if (clauses[clauses.length - 1].occur === 'should') clauses[clauses.length - 1].occur = 'must';
      pendingAnd = true;
      continue;
    }
    if (token === 'OR') continue;
    if (token === 'NOT') {
      pendingNot = true;
      continue;
    }
    if (/[()]/.test(token.replace(/"(?:[^"\\]|\\.)*"?/g, ''))) throw bad('QUERY_STRING: parentheses are not supported; nest criteria with "group" instead');
    const m = /^([+-]?)(?:([A-Za-z][\w.]*):)?(.*)$/.exec(token)!;
    let word = m[3];
    const phrase = word.startsWith('"');
    if (phrase) word = word.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
    if (!word) throw bad(`QUERY_STRING: empty term in ${JSON.stringify(token)}`);
    const over = m[2] ? [fieldOf(m[2])] : fields;
    const occur = m[1] === '-' || pendingNot ? 'not' : m[1] === '+' || pendingAnd ? 'must' : 'should';
    clauses.push({ c: termOver(over, word, phrase), occur });
    pendingNot = false;
    pendingAnd = false;
  }
  if (!clauses.length) throw bad('QUERY_STRING needs at least one term');
  const of = (o: Clause['occur']) => clauses.filter((x) => x.occur === o).map((x) => x.c);
  const must = of('must');
  const should = of('should');
  const nots = of('not').map((c): Criteria => ({ op: 'not', item: c }));
  const positive = must.length ? must : should.length ? [anyOf(should)] : [];
  return positive.length + nots.length ? allOf([...positive, ...nots]) : { op: 'true' };
}

/** `ASC`/`DESC` (any case, or ascending/descending); `SCORE` (relevance) has no meaning here and falls back to name. */
function orderOf(value: unknown): 'asc' | 'desc' | 'score' {
  if (value === undefined) return 'asc';
  const v = text(value, 'sortOrder').toLowerCase();
  if (v === 'asc' || v === 'ascending') return 'asc';
  if (v === 'desc' || v === 'descending') return 'desc';
  if (v === 'score') return 'score';
  throw bad(`unknown sortOrder ${JSON.stringify(value)} (known: ASC, DESC, SCORE)`);
}

function sortOf(body: Obj): GroupSort[] {
  const raw = body.sort !== undefined ? asList(body.sort, 'sort') : body.sortBy !== undefined ? [{ sortBy: body.sortBy, sortOrder: body.sortOrder }] : [];
  const keys: GroupSort[] = [];
  for (const s of raw) {
    if (!isObj(s)) throw bad('each sort must be an object with sortBy and sortOrder');
    const order = orderOf(s.sortOrder);
    if (order === 'score') continue;
    const f = fieldOf(s.sortBy);
    if (!f.sortable) throw bad(`cannot sort by ${JSON.stringify(s.sortBy)}`);
    keys.push({ field: f.path, order });
  }
  if (!keys.length) {
    const order = body.sort === undefined && body.sortBy === undefined ? orderOf(body.sortOrder) : 'asc';
    keys.push({ field: 'name', order: order === 'desc' ? 'desc' : 'asc' });
  }
  return keys;
}

function positiveInt(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw bad(`${name} must be an integer from 1 to ${max}`);
  return value;
}

/** Parses a GroupSearchRequest; anything it cannot honour is an InvalidInput (400). */
export function parseGroupSearch(body: unknown): ParsedSearch {
  if (!isObj(body)) throw bad('the search request must be a JSON object');
  return {
    criteria: combine(asList(body.query, 'query'), 0, { nodes: 0 }),
    sort: sortOf(body),
    pageSize: positiveInt(body.pageSize, 'pageSize', 25, SEARCH_LIMITS.pageSize),
    pageNumber: positiveInt(body.pageNumber, 'pageNumber', 1, 1_000_000),
  };
}

/** The parts of a search request a page link repeats (unknown members are dropped). */
export function searchRequestOf(body: Obj): Obj {
  const keep = ['query', 'sort', 'sortBy', 'sortOrder', 'pageSize', 'pageNumber'];
  return Object.fromEntries(Object.entries(body).filter(([k, v]) => keep.includes(k) && v !== undefined));
}
