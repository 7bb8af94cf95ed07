import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { compileCriteria, type FieldMap } from '../../src/db/criteria-sql';
import type { Criteria } from '../../src/domain/criteria';
import { DomainError } from '../../src/domain/errors';
import { groupFields } from '../../src/domain/groups/groups.fields';
import { openQ64, sealQ64 } from '../../src/domain/groups/q64';
import { wildcardCriteria } from '../../src/domain/groups/wildcards';
import { userFields } from '../../src/domain/users/users.fields';
import { parseFilter } from '../../src/http/scim/filter';
import { listParams } from '../../src/http/scim/params';
import { groupMutationFromPatch, parsePatchRequest, parsePath, patchUserDocument } from '../../src/http/scim/patch';
import { coerceResource } from '../../src/http/scim/resource';
import { parseGroupSearch } from '../../src/http/v2/search';
import { anyText, fuzzParameters, scimFilter, scimPatch, scimSearch, scimUser, scimGroup, type WorldRef } from './helpers/arbitraries';
import type { World } from './helpers/world';

/**
 * Guarantee 5 (hostile input), the parser half: the code every hostile string goes through before
 * SQL — SCIM filters, PATCH paths and documents, resources, list parameters, Groups v2 search
 * criteria, v1 wildcards, q64 cursors, and the criteria compiler — run in-process over thousands
 * of generated inputs each. Each either succeeds or throws a typed DomainError (a 4xx in every
 * dialect): never a TypeError, a RangeError (stack overflow) or any other crash. Values reach SQL
 * only as bindings, never as SQL text.
 */

const RUNS = Number(process.env.FUZZ_PARSER_RUNS ?? 3000);

/** A world of fake ids: the parsers never touch the database. */
const fakeWorld: World = {
  tenant: { id: '00000000-0000-4000-8000-000000000000' } as World['tenant'],
  marker: 'parser',
  admin: '',
  users: [{ id: '11111111-1111-4111-8111-111111111111', seq: 7, userName: 'ann@example.com', password: '' }],
  groups: [{ id: '22222222-2222-4222-8222-222222222222', seq: 9, name: 'Group', key: 'grp' }],
  oauth: { clientId: '33333333-3333-4333-8333-333333333333', clientSecret: 'secret' },
  tokenIds: [],
  identifiers: () => [],
};
const w: WorldRef = () => fakeWorld;

/** Runs fn; a DomainError is an accepted refusal, anything else fails the property. */
function refusesCleanly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DomainError) return undefined;
    throw err;
  }
}

/** Every string binding that could be mistaken for SQL never appears in the SQL text. */
function expectParameterised(compiled: { sql: string; bindings: unknown[] }): void {
  for (const b of compiled.bindings) {
    if (typeof b === 'string' && b.length >= 4 && /[^A-Za-z0-9_.%\\ -]/.test(b)) {
      expect(compiled.sql, `binding ${JSON.stringify(b)} leaked into SQL`).to.not.include(b);
    }
  }
}

function compiles(criteria: Criteria, fields: FieldMap): void {
  const compiled = refusesCleanly(() => compileCriteria(criteria, fields));
  if (compiled) expectParameterised(compiled);
}

describe('robustness: parsers and the criteria compiler under hostile input', function () {
  this.timeout(300_000);

  it(`SCIM filters (${RUNS} grammar-shaped and ${RUNS} arbitrary strings) parse or refuse with a typed error, and compile to parameterised SQL`, () => {
    for (const arb of [scimFilter, fc.oneof(anyText, fc.string({ maxLength: 200 }))]) {
      fc.assert(
        fc.property(arb, (text) => {
          const criteria = refusesCleanly(() => parseFilter(text));
          if (criteria) {
            compiles(criteria, userFields);
            compiles(criteria, groupFields);
          }
        }),
        fuzzParameters(RUNS),
      );
    }
  });

  it('SCIM filters nested 10,000 deep, or 16 kB of terms, are refused with a typed error, not a stack overflow', () => {
    for (const text of [
      `${'('.repeat(10_000)}userName eq "a"${')'.repeat(10_000)}`,
      `${'not ('.repeat(10_000)}userName eq "a"${')'.repeat(10_000)}`,
      `emails[${'('.repeat(10_000)}value eq "a"${')'.repeat(10_000)}]`,
      Array.from({ length: 2000 }, (_, i) => `userName eq "u${i}"`).join(' or '),
      Array.from({ length: 5000 }, () => 'a eq 1').join(' and '),
    ]) {
      expect(refusesCleanly(() => parseFilter(text))).to.equal(undefined);
    }
  });

  it(`SCIM PATCH requests and paths (${RUNS} each) parse, apply or refuse with a typed error`, () => {
    const doc = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: fakeWorld.users[0].id, userName: 'ann', emails: [{ value: 'a@example.com', type: 'work', primary: true }], name: { givenName: 'Ann' } };
    fc.assert(
      fc.property(scimPatch(w), (body) => {
        const ops = refusesCleanly(() => parsePatchRequest(body));
        if (!ops) return;
        refusesCleanly(() => patchUserDocument(structuredClone(doc) as never, ops, fakeWorld.users[0].id));
        const mutation = refusesCleanly(() => groupMutationFromPatch(ops, fakeWorld.groups[0].id));
        if (mutation?.removeMembersWhere) compiles(mutation.removeMembersWhere, (groupFields.members as { sub: FieldMap }).sub);
      }),
      fuzzParameters(RUNS),
    );
    fc.assert(fc.property(fc.oneof(anyText, fc.string({ maxLength: 100 })), (text) => void refusesCleanly(() => parsePath(text))), fuzzParameters(RUNS));
  });

  it(`SCIM resources, search requests and list parameters (${RUNS} each) are coerced or refused with a typed error`, () => {
    fc.assert(fc.property(fc.oneof(scimUser(w), fc.jsonValue()), (body) => void refusesCleanly(() => coerceResource('User', body))), fuzzParameters(RUNS));
    fc.assert(fc.property(fc.oneof(scimGroup(w), fc.jsonValue()), (body) => void refusesCleanly(() => coerceResource('Group', body))), fuzzParameters(RUNS));
    fc.assert(
      fc.property(fc.oneof(scimSearch, fc.dictionary(anyText, fc.jsonValue({ maxDepth: 1 }))), (body) => {
        const params = refusesCleanly(() => listParams(body as Record<string, unknown>));
        if (params?.criteria) compiles(params.criteria, userFields);
        if (params) {
          expect(params.startIndex).to.be.at.least(1);
          expect(params.count).to.be.within(0, 1000);
        }
      }),
      fuzzParameters(RUNS),
    );
  });

  it(`Groups v2 search requests (${RUNS}) parse or refuse with a typed error and compile to parameterised SQL`, () => {
    const leaf = fc.record(
      {
        type: fc.oneof(fc.constantFrom('EXACT', 'CONTAINS', 'STARTS_WITH', 'REQUIRED_FIELDS', 'RANGE', 'DATE_RANGE', 'LESS_THAN', 'GREATER_THAN', 'TERM', 'TERMS', 'MATCH_ALL', 'QUERY_STRING', 'SIMPLE_QUERY_STRING'), anyText),
        fields: fc.oneof(fc.array(fc.constantFrom('name', 'description', 'id', 'state', 'memberCount', 'dateModified', 'ownerIds', 'memberIds', 'bogus'), { maxLength: 3 }), fc.jsonValue()),
        value: fc.oneof(anyText, fc.jsonValue()),
        values: fc.oneof(fc.array(anyText, { maxLength: 3 }), fc.jsonValue()),
        startValue: anyText,
        endValue: anyText,
        operator: fc.oneof(fc.constantFrom('AND', 'OR', 'NOT'), anyText),
      },
      { requiredKeys: [] },
    );
    const node: fc.Arbitrary<unknown> = fc.letrec<{ n: unknown }>((tie) => ({
      n: fc.oneof({ depthSize: 'small' }, leaf, fc.record({ operator: fc.constantFrom('AND', 'OR', 'NOT'), group: fc.array(tie('n'), { maxLength: 3 }) })),
    })).n;
    fc.assert(
      fc.property(fc.oneof(fc.record({ query: fc.array(node, { maxLength: 4 }), pageSize: fc.integer(), pageNumber: fc.integer(), sortOrder: anyText, sortBy: anyText }, { requiredKeys: [] }), fc.jsonValue()), (body) => {
        const parsed = refusesCleanly(() => parseGroupSearch(body));
        if (parsed?.criteria) compiles(parsed.criteria, groupFields);
      }),
      fuzzParameters(RUNS),
    );
  });

  it('Groups v2 search criteria nested 10,000 deep are refused with a typed error, not a stack overflow', () => {
    let query: unknown = { type: 'EXACT', fields: ['name'], value: 'a' };
    for (let i = 0; i < 10_000; i++) query = { operator: 'AND', group: [query] };
    expect(refusesCleanly(() => parseGroupSearch({ query: [query] }))).to.equal(undefined);
  });

  it(`v1 wildcard rules (${RUNS}) parse or refuse with a typed error and compile to parameterised SQL`, () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.tuple(fc.constantFrom('userName', 'displayName', 'email', 'department', 'bogus'), anyText).map(([a, v]) => `${a}:${v}`)), (rule) => {
        const criteria = refusesCleanly(() => wildcardCriteria(rule));
        if (criteria) compiles(criteria, userFields);
      }),
      fuzzParameters(RUNS),
    );
  });

  it(`q64 cursors, plain and compressed (${RUNS} each forged, truncated, foreign-tenant and bit-flipped), are refused with a typed error`, () => {
    const secret = randomBytes(32);
    const tenant = fakeWorld.tenant.id;
    // A small search is sealed as it is, a large one compressed: both forms are forged at.
    const small = { query: [{ type: 'EXACT', fields: ['name'], value: 'x' }] };
    const large = { query: [{ type: 'TERMS', fields: ['name'], values: Array.from({ length: 60 }, (_v, i) => `group-${i}`) }] };
    for (const data of [small, large]) {
      const genuine = sealQ64(secret, tenant, data);
      expect(genuine.startsWith('p.')).to.equal(data === small);
      expect(openQ64(secret, tenant, genuine)).to.deep.include(data);
      expect(refusesCleanly(() => openQ64(secret, '44444444-4444-4444-8444-444444444444', genuine))).to.equal(undefined);
      fc.assert(
        fc.property(
          fc.oneof(
            anyText,
            fc.base64String(),
            fc.nat({ max: genuine.length - 1 }).map((i) => genuine.slice(0, i)),
            fc.nat({ max: genuine.length - 1 }).map((i) => genuine.slice(0, i) + (genuine[i] === 'A' ? 'B' : 'A') + genuine.slice(i + 1)),
          ),
          (token) => {
            fc.pre(token !== genuine);
            // A flip in base64url's unused trailing bits decodes to the same bytes: the same cursor, not a forgery.
            const opened = refusesCleanly(() => openQ64(secret, tenant, token));
            if (opened !== undefined) expect(opened).to.deep.equal(openQ64(secret, tenant, genuine));
          },
        ),
        fuzzParameters(RUNS),
      );
    }
  });
});
