import fc from 'fast-check';
import { flattenSchema, type Operation, type Parameter, type Schema } from './spec-ops';
import type { World } from './world';

/**
 * fast-check arbitraries for hostile requests. Values are mostly shaped like the spec says (so
 * they get past validation and reach the handlers, the core and SQL) with a steady share of
 * values of the wrong shape, hostile strings and ids of real objects.
 */

/** Fixed seed in CI (reproducible), random locally; FUZZ_SEED replays a reported failure. */
export function fuzzParameters(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI ? 20261123 : undefined;
  return { numRuns, ...(seed !== undefined ? { seed } : {}), endOnFailure: true, verbose: 1 };
}

/** Strings that have broken services before: SQL, LIKE and regex metacharacters, escapes, odd Unicode. */
export const HOSTILE_STRINGS = [
  "'",
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "1; SELECT pg_sleep(10)--",
  "') OR 1=1 --",
  '%',
  '_',
  '\\',
  '\\x00',
  '\u0000',
  '%00',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '..%2F..%2F',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '\uD800',
  '\uFFFF',
  '\u202E\u0041',
  'Ａｄｍｉｎ',
  'аdmin',
  'e\u0301',
  '🧑‍🤝‍🧑',
  ' ',
  '',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '9'.repeat(30),
  '1e309',
  'a'.repeat(300),
  '\r\n',
  '*',
  '[',
  '"',
  '(',
  ')',
];

export const hostileString = fc.constantFrom(...HOSTILE_STRINGS);

/** `arb` once in `oneIn` draws, null otherwise (fc.option's `freq` is the inverse: how often null). */
export function rarely<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/** Text of any kind: short, Unicode (lone surrogates included), or hostile. */
export const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: hostileString },
);

/** Printable ASCII only: what an HTTP client can put in a header without refusing. */
export const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('*', 'W/"1"', '"1"', 'W/"999999999999"', 'W/"-1"', '"abc"', ',,,', 'W/', '"'),
);

/** The world requests are aimed at; a getter, because the fuzz rebuilds it as requests delete things. */
export type WorldRef = () => World;

/** Identifiers of real objects of the current world, in every form the dialects use. */
export function worldIds(w: WorldRef): fc.Arbitrary<string> {
  return fc.nat({ max: 10_000 }).map((i) => {
    const { users, groups } = w();
    const ids = [
      ...users.flatMap((u) => [u.id, String(u.seq), u.userName, u.id.toUpperCase()]),
      ...groups.flatMap((g) => [g.id, String(g.seq), g.name, ...(g.key ? [g.key] : [])]),
    ];
    return ids[i % ids.length];
  });
}

/** Integer ids (seq) of the current world. */
function worldSeqs(w: WorldRef): fc.Arbitrary<number> {
  return fc.nat({ max: 10_000 }).map((i) => {
    const seqs = [...w().groups.map((g) => g.seq), ...w().users.map((u) => u.seq)];
    return seqs[i % seqs.length];
  });
}

/** Any JSON, with a steady share of objects whose keys shadow Object.prototype (String(x) throws on them). */
const wildJson = fc.oneof(
  { weight: 9, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ toString: 1 }, { valueOf: 'x', toString: null }, [{ toString: false }], { constructor: { prototype: 1 } }) },
);

/** Values shaped by a JSON schema of the spec, sometimes wrong on purpose. */
export function schemaValue(schema: unknown, w: WorldRef, depth = 0): fc.Arbitrary<unknown> {
  const s = flattenSchema(schema);
  const shaped = depth > 5 ? wildJson : shapedValue(s, w, depth);
  return fc.oneof({ weight: 40, arbitrary: shaped }, { weight: 1, arbitrary: wildJson }, { weight: 1, arbitrary: anyText });
}

function shapedValue(s: Schema, w: WorldRef, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...(s.enum as unknown[])) }, { weight: 1, arbitrary: anyText });
  const alternatives = (s.oneOf ?? s.anyOf) as unknown[] | undefined;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => schemaValue(a, w, depth + 1)));
  const declared = Array.isArray(s.type) ? (s.type as string[]) : s.type ? [s.type as string] : s.properties ? ['object'] : s.items ? ['array'] : [];
  if (!declared.length) return wildJson;
  return fc.oneof(...declared.map((t) => typed(t, s, w, depth)));
}

function typed(type: string, s: Schema, w: WorldRef, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string': {
      const max = Math.min(Number(s.maxLength ?? 40), 60);
      return fc.oneof(
        { weight: 3, arbitrary: fc.string({ minLength: Math.min(Number(s.minLength ?? 0), max), maxLength: max }) },
        { weight: 3, arbitrary: worldIds(w) },
        { weight: 2, arbitrary: anyText },
      );
    }
    case 'integer':
      return fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: Number(s.minimum ?? -5), max: Math.min(Number(s.maximum ?? 2000), Number.MAX_SAFE_INTEGER) }) },
        { weight: 2, arbitrary: worldSeqs(w) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308) },
      );
    case 'number':
      return fc.oneof(fc.double({ noNaN: true }), fc.integer());
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schemaValue(s.items ?? {}, w, depth + 1), { minLength: Math.min(Number(s.minItems ?? 0), 3), maxLength: Math.min(Number(s.maxItems ?? 4), 4) });
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = ((s.required as string[]) ?? []).filter((k) => k in props);
      const record = fc.record(
        Object.fromEntries(Object.entries(props).map(([k, v]) => [k, /^_?version$/.test(k) ? fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: schemaValue(v, w, depth + 1) }) : schemaValue(v, w, depth + 1)])),
        { requiredKeys: required },
      );
      const extra = rarely(fc.tuple(fc.oneof(anyText, fc.constantFrom('__proto__', 'constructor')), wildJson), 25);
      return fc.tuple(record, extra).map(([r, e]) => {
        const out: Record<string, unknown> = { ...r };
        if (e) Object.defineProperty(out, e[0], { value: e[1], enumerable: true, configurable: true, writable: true });
        return out;
      });
    }
    default:
      return wildJson;
  }
}

/* ------------------------------------------------------------------ SCIM-specific shapes */

const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  search: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  bulk: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
};

const ATTRIBUTES = [
  'userName', 'displayName', 'externalId', 'id', 'active', 'title', 'nickName', 'emails', 'emails.value', 'emails.type', 'emails.primary',
  'name', 'name.givenName', 'name.familyName', 'members', 'members.value', 'members.type', 'members.display', 'groups', 'groups.value',
  'meta.lastModified', 'meta.created', 'meta.resourceType', 'phoneNumbers.value', 'addresses.locality', 'roles.value',
  `${SCIM.enterprise}:department`, `${SCIM.enterprise}:manager.value`, `${SCIM.user}:userName`, `${SCIM.group}:displayName`,
  'urn:unknown:schema:attr', 'x', 'userName.sub.sub', '$ref', 'password',
];

export const attributePath = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ATTRIBUTES) }, { weight: 1, arbitrary: anyText });

const filterValue = fc.oneof(
  anyText.map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '1', '-1.5e3', '"2026-01-01T00:00:00Z"', 'unquoted', '"\\u0000"', '"\\"', '"bad\\escape"'),
  fc.integer().map(String),
);
const compareOp = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Co') }, { weight: 1, arbitrary: anyText });

/** SCIM filter text from the RFC 7644 grammar, with random corruption. */
export const scimFilter: fc.Arbitrary<string> = fc
  .letrec<{ f: string }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.tuple(attributePath, compareOp, filterValue).map(([a, o, v]) => `${a} ${o} ${v}`),
      attributePath.map((a) => `${a} pr`),
      fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([l, o, r]) => `${l} ${o} ${r}`),
      tie('f').map((x) => `not (${x})`),
      tie('f').map((x) => `(${x})`),
      fc.tuple(fc.constantFrom('emails', 'members', 'addresses', 'groups'), tie('f')).map(([a, x]) => `${a}[${x}]`),
    ),
  }))
  .f.chain((f) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(f) },
      { weight: 1, arbitrary: fc.tuple(fc.nat(), anyText).map(([i, junk]) => f.slice(0, i % (f.length + 1)) + junk + f.slice(i % (f.length + 1))) },
      { weight: 1, arbitrary: fc.nat().map((i) => f.slice(0, i % (f.length + 1))) },
    ),
  );

/** A PATCH path: attribute, sub-attribute, value filter, URN-qualified, or garbage. */
export const patchPath = fc.oneof(
  { weight: 3, arbitrary: attributePath },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('members', 'emails', 'addresses', 'phoneNumbers'), scimFilter).map(([a, f]) => `${a}[${f}]`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('members', 'emails'), scimFilter, fc.constantFrom('value', 'type', 'display', 'primary')).map(([a, f, s]) => `${a}[${f}].${s}`) },
  { weight: 1, arbitrary: anyText },
);

export function scimUser(w: WorldRef): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      schemas: fc.oneof({ weight: 5, arbitrary: fc.constant([SCIM.user]) }, { weight: 1, arbitrary: fc.constant([SCIM.user, SCIM.enterprise]) }, { weight: 1, arbitrary: wildJson }),
      userName: fc.oneof({ weight: 3, arbitrary: fc.uuid().map((u) => `fz-${u}@example.com`) }, { weight: 2, arbitrary: anyText }, { weight: 1, arbitrary: worldIds(w) }, { weight: 1, arbitrary: wildJson }),
      displayName: fc.oneof(anyText, wildJson),
      externalId: fc.oneof(anyText, wildJson),
      active: fc.oneof(fc.boolean(), wildJson),
      password: anyText,
      name: fc.oneof(fc.record({ givenName: anyText, familyName: anyText, formatted: anyText }, { requiredKeys: [] }), wildJson),
      emails: fc.oneof(fc.array(fc.record({ value: anyText, type: anyText, primary: fc.oneof(fc.boolean(), wildJson) }, { requiredKeys: [] }), { maxLength: 3 }), wildJson),
      groups: fc.array(fc.record({ value: worldIds(w) }), { maxLength: 2 }),
      [SCIM.enterprise]: fc.oneof(fc.record({ department: anyText, manager: fc.record({ value: worldIds(w) }) }, { requiredKeys: [] }), wildJson),
      meta: wildJson,
      id: worldIds(w),
    },
    { requiredKeys: ['schemas'] },
  );
}

export function scimGroup(w: WorldRef): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      schemas: fc.oneof({ weight: 5, arbitrary: fc.constant([SCIM.group]) }, { weight: 1, arbitrary: wildJson }),
      displayName: fc.oneof({ weight: 3, arbitrary: fc.uuid().map((u) => `fz-group-${u}`) }, { weight: 2, arbitrary: anyText }, { weight: 1, arbitrary: wildJson }),
      externalId: anyText,
      members: fc.oneof(
        fc.array(fc.record({ value: fc.oneof(worldIds(w), anyText, wildJson), type: fc.oneof(fc.constantFrom('User', 'Group', 'user'), anyText), display: anyText }, { requiredKeys: ['value'] }), { maxLength: 4 }),
        wildJson,
      ),
      id: worldIds(w),
    },
    { requiredKeys: ['schemas'] },
  );
}

export function scimPatch(w: WorldRef): fc.Arbitrary<Record<string, unknown>> {
  const op = fc.record(
    {
      op: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('add', 'remove', 'replace', 'Add', 'Replace', 'REMOVE') }, { weight: 1, arbitrary: anyText }),
      path: patchPath,
      value: fc.oneof(
        anyText,
        fc.boolean(),
        fc.array(fc.record({ value: fc.oneof(worldIds(w), anyText) }), { maxLength: 3 }),
        fc.record({ userName: anyText, displayName: anyText, active: fc.oneof(fc.boolean(), anyText), members: fc.array(fc.record({ value: worldIds(w) }), { maxLength: 2 }) }, { requiredKeys: [] }),
        wildJson,
      ),
    },
    { requiredKeys: ['op'] },
  );
  return fc.record(
    {
      schemas: fc.oneof({ weight: 6, arbitrary: fc.constant([SCIM.patch]) }, { weight: 1, arbitrary: wildJson }),
      Operations: fc.oneof({ weight: 6, arbitrary: fc.array(op, { maxLength: 4 }) }, { weight: 1, arbitrary: wildJson }),
    },
    { requiredKeys: ['schemas'] },
  );
}

export const scimSearch: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    schemas: fc.oneof({ weight: 6, arbitrary: fc.constant([SCIM.search]) }, { weight: 1, arbitrary: wildJson }),
    filter: fc.oneof({ weight: 4, arbitrary: scimFilter }, { weight: 1, arbitrary: wildJson }),
    startIndex: fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 2 ** 53, 1e308), anyText),
    count: fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 2 ** 31, 2 ** 53, 1e308), anyText),
    sortBy: attributePath,
    sortOrder: fc.oneof(fc.constantFrom('ascending', 'descending'), anyText),
    attributes: fc.oneof(fc.array(attributePath, { maxLength: 3 }), anyText),
    excludedAttributes: fc.oneof(fc.array(attributePath, { maxLength: 3 }), anyText),
    cursor: anyText,
  },
  { requiredKeys: ['schemas'] },
);

export function scimBulk(w: WorldRef): fc.Arbitrary<Record<string, unknown>> {
  const path = fc.oneof(
    fc.constantFrom('/Users', '/Groups', '/Users/bulkId:a', '/Groups/bulkId:b', '/Me', '/Bulk', 'Users', ''),
    fc.tuple(fc.constantFrom('/Users/', '/Groups/'), fc.oneof(worldIds(w), anyText)).map(([p, id]) => p + id),
    anyText,
  );
  const op = fc.record(
    {
      method: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'post') }, { weight: 1, arbitrary: anyText }),
      path,
      bulkId: fc.oneof(fc.constantFrom('a', 'b', 'c'), anyText),
      version: headerText,
      data: fc.oneof(scimUser(w), scimGroup(w), scimPatch(w), wildJson),
    },
    { requiredKeys: ['method'] },
  );
  return fc.record(
    {
      schemas: fc.oneof({ weight: 6, arbitrary: fc.constant([SCIM.bulk]) }, { weight: 1, arbitrary: wildJson }),
      failOnErrors: fc.oneof(fc.integer({ min: -2, max: 5 }), wildJson),
      Operations: fc.oneof({ weight: 6, arbitrary: fc.array(op, { maxLength: 5 }) }, { weight: 1, arbitrary: wildJson }),
    },
    { requiredKeys: ['schemas'] },
  );
}

/** A client credentials request: the world's real client, its secret right or slightly wrong, or junk. */
export function oauthRequest(w: WorldRef): fc.Arbitrary<Record<string, unknown>> {
  const real = fc.constant(null);
  return fc.record(
    {
      grant_type: fc.oneof({ weight: 6, arbitrary: fc.constant('client_credentials') }, { weight: 1, arbitrary: anyText }),
      client_id: fc.oneof({ weight: 4, arbitrary: real.map(() => w().oauth.clientId) }, { weight: 1, arbitrary: anyText }, { weight: 1, arbitrary: fc.uuid() }),
      client_secret: fc.oneof(
        { weight: 4, arbitrary: real.map(() => w().oauth.clientSecret) },
        { weight: 2, arbitrary: fc.nat().map((i) => { const s = w().oauth.clientSecret; const at = i % s.length; return s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1); }) },
        { weight: 1, arbitrary: anyText },
      ),
      scope: anyText,
    },
    { requiredKeys: ['grant_type', 'client_id', 'client_secret'] },
  );
}

/** The body generator for an operation: SCIM shapes by operation id, the spec's schema otherwise. */
export function bodyFor(op: Operation, w: WorldRef): fc.Arbitrary<unknown> {
  const id = op.operationId;
  let shaped: fc.Arbitrary<unknown>;
  if (/^scim.*Bulk/.test(id)) shaped = scimBulk(w);
  else if (/^scim(Search|.*\.search)/i.test(id) || (op.dialect === 'scim' && /search/i.test(op.path))) shaped = scimSearch;
  else if (/^scimPatch/.test(id)) shaped = scimPatch(w);
  else if (/^scim.*Group/.test(id)) shaped = scimGroup(w);
  else if (/^scim.*(User|Me)/.test(id)) shaped = scimUser(w);
  else if (op.dialect === 'oauth') shaped = oauthRequest(w);
  else shaped = schemaValue(op.body?.schema ?? {}, w);
  const example = op.body?.example;
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: example === undefined ? 0 : 2, arbitrary: example === undefined ? fc.constant({}) : mutated(example, w) },
    { weight: 1, arbitrary: wildJson },
  );
}

/** The example with some leaves replaced by arbitrary values. */
export function mutated(example: unknown, w: WorldRef): fc.Arbitrary<unknown> {
  const leaves: string[][] = [];
  const walk = (v: unknown, path: string[]) => {
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    else leaves.push(path);
  };
  walk(example, []);
  if (!leaves.length) return fc.constant(example);
  const replacement = fc.oneof(anyText, worldIds(w), wildJson, fc.integer());
  return fc.array(fc.tuple(fc.nat(leaves.length - 1), replacement), { minLength: 1, maxLength: 3 }).map((changes) => {
    const copy = structuredClone(example) as Record<string, unknown>;
    for (const [i, value] of changes) {
      const path = leaves[i];
      if (!path.length) return value;
      let node = copy as Record<string, unknown>;
      for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
      node[path[path.length - 1]] = value;
    }
    return copy;
  });
}

/** A value for a path, query or header parameter. */
export function parameterValue(p: Parameter, w: WorldRef): fc.Arbitrary<string> {
  const s = flattenSchema(p.schema ?? {});
  if (p.in === 'header') return headerText;
  if (/filter/i.test(p.name)) return fc.oneof({ weight: 4, arbitrary: scimFilter }, { weight: 1, arbitrary: anyText });
  const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
  const shaped = schemaValue(s, w).map((v) => (Array.isArray(v) ? v.map(text).join(',') : text(v)));
  return fc.oneof({ weight: p.in === 'path' ? 4 : 1, arbitrary: worldIds(w) }, { weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: anyText });
}
