import { expect } from 'chai';
import fc from 'fast-check';
import { compileCriteria } from '../../src/db/criteria-sql';
import type { CompareOp, Criteria, Scalar } from '../../src/domain/criteria';
import { InvalidInput } from '../../src/domain/errors';
import { userFields } from '../../src/domain/users/users.fields';
import { ScimError } from '../../src/http/scim/errors';
import { parseFilter } from '../../src/http/scim/filter';
import { ENTERPRISE, GROUP, memberRows, patchOp, qs, scimTenant, USER, type ScimTenant } from './helpers';

/**
 * Property-based tests (fast-check): the filter parser only ever answers a tree or a SCIM 400
 * invalidFilter, and round-trips every filter the grammar can print; no filter makes the HTTP
 * service fail; PATCH on users and on group members equals a small reference model.
 * Runs are bounded (300 in-process, 50 over HTTP); SCIM_FC_SEED replays a failure.
 */
const seed = process.env.SCIM_FC_SEED ? Number(process.env.SCIM_FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}), endOnFailure: true });

// ---------------------------------------------------------------------------------------------
// Filters: a generator of criteria trees and a printer to SCIM filter text

const SCALAR_ATTRS = ['userName', 'displayName', 'externalId', 'title', 'name.givenName', 'meta.lastModified', 'active', `${ENTERPRISE}:department`, 'emails.value'];
const MULTI_ATTRS: Record<string, string[]> = { emails: ['value', 'type', 'primary', 'display'], phoneNumbers: ['value', 'type'], groups: ['value'] };
const OPS: CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

const stringValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a"b', 'back\\slash', 'tab\there', '(x)', '[y]', 'and', 'or', 'not', 'pr', '%_*', "o'brien", 'ünïcödé', '😀', '2024-01-01T00:00:00Z'),
);
const scalar: fc.Arbitrary<Scalar> = fc.oneof(stringValue, fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.constant(null));

function leafOf(attrs: fc.Arbitrary<string>): fc.Arbitrary<Criteria> {
  return fc.oneof(
    fc.record({ op: fc.constant('cmp' as const), field: attrs, cmp: fc.constantFrom(...OPS), value: scalar }),
    fc.record({ op: fc.constant('pr' as const), field: attrs }),
  ) as fc.Arbitrary<Criteria>;
}

function treeOf(leaf: fc.Arbitrary<Criteria>, withValuePaths: boolean): fc.Arbitrary<Criteria> {
  const { tree } = fc.letrec<{ tree: Criteria }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ op: fc.constant('and' as const), items: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ op: fc.constant('or' as const), items: fc.array(tie('tree'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ op: fc.constant('not' as const), item: tie('tree') }),
      ...(withValuePaths
        ? [
            fc
              .constantFrom(...Object.keys(MULTI_ATTRS))
              .chain((field) => fc.record({ op: fc.constant('any' as const), field: fc.constant(field), where: treeOf(leafOf(fc.constantFrom(...MULTI_ATTRS[field])), false) })),
          ]
        : []),
    ) as fc.Arbitrary<Criteria>,
  }));
  return tree;
}

const criteriaTree = treeOf(leafOf(fc.constantFrom(...SCALAR_ATTRS)), true);

/** Random letter case, as clients may send names and operators. */
const recase = (text: string, mask: number) => [...text].map((c, i) => ((mask >> i % 31) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');

function printValue(v: Scalar): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** Prints a tree as SCIM filter text that parses back to the same tree (parentheses where needed). */
function print(c: Criteria, mask: number): string {
  const kw = (w: string) => recase(w, mask);
  const child = (parent: 'and' | 'or', x: Criteria) => {
    const text = print(x, mask >> 1);
    return x.op === parent || (parent === 'and' && x.op === 'or') ? `(${text})` : text;
  };
  switch (c.op) {
    case 'and':
    case 'or':
      return c.items.map((i) => child(c.op as 'and' | 'or', i)).join(` ${kw(c.op)} `);
    case 'not':
      return `${kw('not')} (${print(c.item, mask >> 2)})`;
    case 'any':
      return `${recase(c.field, mask)}[${print(c.where, mask >> 3)}]`;
    case 'pr':
      return `${c.field.startsWith('urn:') ? c.field : recase(c.field, mask)} ${kw('pr')}`;
    case 'cmp':
      return `${c.field.startsWith('urn:') ? c.field : recase(c.field, mask)} ${kw(c.cmp)} ${printValue(c.value)}`;
    default:
      throw new Error(`cannot print ${c.op}`);
  }
}

/** Field names compare case-insensitively; everything else exactly. */
function normalise(c: Criteria): Criteria {
  switch (c.op) {
    case 'and':
    case 'or':
      return { op: c.op, items: c.items.map(normalise) };
    case 'not':
      return { op: 'not', item: normalise(c.item) };
    case 'any':
      return { op: 'any', field: c.field.toLowerCase(), where: normalise(c.where) };
    case 'pr':
      return { op: 'pr', field: c.field.toLowerCase() };
    case 'cmp':
      return { ...c, field: c.field.toLowerCase() };
    default:
      return c;
  }
}

/** Small damage to a valid filter: what a buggy client or an attacker sends. */
const damaged = fc
  .tuple(criteriaTree, fc.integer({ min: 0, max: 2 ** 30 }), fc.nat(), fc.constantFrom('(', ')', '[', ']', '"', '\\', ' ', 'and', 'not', '.', ':', 'eq', '\u0000', '😀'), fc.nat(4))
  .map(([tree, mask, at, junk, kind]) => {
    const text = print(tree, mask);
    const i = at % (text.length + 1);
    switch (kind) {
      case 0:
        return text.slice(0, i);
      case 1:
        return text.slice(0, i) + junk + text.slice(i);
      case 2:
        return text.slice(0, i) + text.slice(i + 1);
      case 3:
        return `${text} ${junk}`;
      default:
        return `${'('.repeat(i % 40)}${text}${')'.repeat(at % 40)}`;
    }
  });

const anyText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: fc.constantFrom(...'()[]" \\andorteqpr.:'.split('')), maxLength: 60 }));

/** Parses, or proves the refusal is a SCIM 400 invalidFilter; anything else fails the property. */
function parseOrRefuse(text: string): Criteria | undefined {
  try {
    return parseFilter(text);
  } catch (err) {
    if (!(err instanceof ScimError) || err.status !== 400 || err.scimType !== 'invalidFilter') throw err;
    return undefined;
  }
}

describe('SCIM: properties (fast-check)', () => {
  describe('filter parser', () => {
    it('answers a tree or a ScimError 400 invalidFilter for arbitrary text (300 runs)', () => {
      fc.assert(fc.property(anyText, (text) => void parseOrRefuse(text)), params(300));
    });

    it('answers a tree or a ScimError 400 invalidFilter for damaged filters (300 runs)', () => {
      fc.assert(fc.property(damaged, (text) => void parseOrRefuse(text)), params(300));
    });

    it('parses every printed filter back to the same tree, whatever the case of names and operators (300 runs)', () => {
      fc.assert(
        fc.property(criteriaTree, fc.integer({ min: 0, max: 2 ** 30 }), (tree, mask) => {
          const text = print(tree, mask);
          expect(normalise(parseFilter(text)), text).to.deep.equal(normalise(tree));
        }),
        params(300),
      );
    });

    it('compiles every parsed filter to SQL or refuses it as an invalid filter, never anything else (300 runs)', () => {
      fc.assert(
        fc.property(fc.oneof(criteriaTree.map((t) => print(t, 0)), damaged), (text) => {
          const tree = parseOrRefuse(text);
          if (!tree) return;
          try {
            const { sql, bindings } = compileCriteria(tree, userFields);
            expect(sql).to.be.a('string');
            // Values only ever travel as bindings.
            expect((sql.match(/\?/g) ?? []).length).to.equal(bindings.length);
          } catch (err) {
            if (!(err instanceof InvalidInput) || !err.details.criteria) throw err;
          }
        }),
        params(300),
      );
    });
  });

  describe('over HTTP', () => {
    let t: ScimTenant;
    before(async () => {
      t = await scimTenant();
      await t.scim.post('/Users', { schemas: [USER, ENTERPRISE], userName: 'prop@example.com', title: 'x', emails: [{ value: 'p@example.com', type: 'work' }], [ENTERPRISE]: { department: 'd' } }).expect(201);
    });

    it('never answers 5xx to a generated filter: 200, or a SCIM 400 (50 runs)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(criteriaTree.map((tr) => print(tr, 7)), damaged, anyText), async (filter) => {
          const res = await t.scim.get(`/Users${qs({ filter })}`);
          expect([200, 400], `${filter} → ${res.status} ${JSON.stringify(res.body)}`).to.include(res.status);
          expect(res.headers['content-type']).to.equal('application/scim+json');
          if (res.status === 400) expect(res.body.status).to.equal('400');
          const groups = await t.scim.get(`/Groups${qs({ filter, excludedAttributes: 'members' })}`);
          expect([200, 400], `${filter} → ${groups.status}`).to.include(groups.status);
        }),
        params(50),
      );
    });
  });

  describe('PATCH against a reference model', () => {
    let t: ScimTenant;
    before(async () => {
      t = await scimTenant();
    });

    // ---- users: simple attributes and the multi-valued "emails" -------------------------------
    interface Email {
      value: string;
      type: string;
    }
    interface Model {
      displayName?: string;
      nickName?: string;
      title?: string;
      givenName?: string;
      emails: Email[];
    }
    type SimpleAttr = 'displayName' | 'nickName' | 'title' | 'name.givenName';
    type Op =
      | { kind: 'set'; op: 'add' | 'replace'; attr: SimpleAttr; value: string }
      | { kind: 'unset'; attr: SimpleAttr }
      | { kind: 'noPath'; value: Partial<Record<'displayName' | 'title', string>> }
      | { kind: 'emailsAdd'; values: Email[] }
      | { kind: 'emailsReplace'; values: Email[] }
      | { kind: 'emailsClear' }
      | { kind: 'emailRemoveWhere'; value: string }
      | { kind: 'emailValueByType'; op: 'add' | 'replace'; type: string; value: string };

    const word = fc.constantFrom('alpha', 'beta', 'gamma', 'Delta Δ', 'e"f', 'g\\h');
    const mail = fc.constantFrom('a@example.com', 'b@example.com', 'c@example.com', 'd@example.com');
    const mailType = fc.constantFrom('work', 'home', 'other');
    const email = fc.record({ value: mail, type: mailType });
    const simpleAttr = fc.constantFrom<SimpleAttr>('displayName', 'nickName', 'title', 'name.givenName');
    const userOp: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), op: fc.constantFrom('add' as const, 'replace' as const), attr: simpleAttr, value: word }),
      fc.record({ kind: fc.constant('unset' as const), attr: simpleAttr }),
      fc.record({ kind: fc.constant('noPath' as const), value: fc.record({ displayName: word, title: word }, { requiredKeys: [] }) }),
      fc.record({ kind: fc.constant('emailsAdd' as const), values: fc.array(email, { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('emailsReplace' as const), values: fc.array(email, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('emailsClear' as const) }),
      fc.record({ kind: fc.constant('emailRemoveWhere' as const), value: mail }),
      fc.record({ kind: fc.constant('emailValueByType' as const), op: fc.constantFrom('add' as const, 'replace' as const), type: mailType, value: mail }),
    );

    function toScim(o: Op): Record<string, unknown> {
      switch (o.kind) {
        case 'set':
          return { op: o.op, path: o.attr, value: o.value };
        case 'unset':
          return { op: 'remove', path: o.attr };
        case 'noPath':
          return { op: 'replace', value: o.value };
        case 'emailsAdd':
          return { op: 'add', path: 'emails', value: o.values };
        case 'emailsReplace':
          return { op: 'replace', path: 'emails', value: o.values };
        case 'emailsClear':
          return { op: 'remove', path: 'emails' };
        case 'emailRemoveWhere':
          return { op: 'remove', path: `emails[value eq "${o.value}"]` };
        case 'emailValueByType':
          return { op: o.op, path: `emails[type eq "${o.type}"].value`, value: o.value };
      }
    }

    const key = (a: SimpleAttr) => (a === 'name.givenName' ? 'givenName' : a);
    const same = (a: Email, b: Email) => a.value === b.value && a.type === b.type;

    /** RFC 7644 §3.5.2 on the model; returns false when the request must fail (400 noTarget). */
    function apply(m: Model, o: Op): boolean {
      switch (o.kind) {
        case 'set':
          m[key(o.attr)] = o.value;
          return true;
        case 'unset':
          delete m[key(o.attr)];
          return true;
        case 'noPath':
          Object.assign(m, o.value);
          return true;
        case 'emailsAdd':
          for (const e of o.values) if (!m.emails.some((x) => same(x, e))) m.emails.push({ ...e });
          return true;
        case 'emailsReplace':
          m.emails = o.values.map((e) => ({ ...e }));
          return true;
        case 'emailsClear':
          m.emails = [];
          return true;
        case 'emailRemoveWhere': {
          const kept = m.emails.filter((e) => e.value !== o.value);
          if (kept.length === m.emails.length) return false;
          m.emails = kept;
          return true;
        }
        case 'emailValueByType': {
          const hits = m.emails.filter((e) => e.type === o.type);
          if (!hits.length) m.emails.push({ type: o.type, value: o.value });
          for (const e of hits) e.value = o.value;
          return true;
        }
      }
    }

    function observed(body: Record<string, unknown>): Model {
      const out: Model = { emails: ((body.emails as Email[] | undefined) ?? []).map((e) => ({ value: e.value, type: e.type })) };
      for (const k of ['displayName', 'nickName', 'title'] as const) if (body[k] !== undefined) out[k] = body[k] as string;
      const given = (body.name as { givenName?: string } | undefined)?.givenName;
      if (given !== undefined) out.givenName = given;
      return out;
    }

    it('applies generated add/replace/remove operations on simple and multi-valued attributes like the model (40 runs)', async function () {
      this.timeout(180_000);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(userOp, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), async (requests) => {
          const created = await t.scim.post('/Users', { schemas: [USER], userName: `model-${Math.random().toString(36).slice(2)}@example.com`, title: 'start', emails: [{ value: 'a@example.com', type: 'work' }] }).expect(201);
          const id = created.body.id as string;
          let model: Model = { title: 'start', emails: [{ value: 'a@example.com', type: 'work' }] };
          for (const ops of requests) {
            const next: Model = structuredClone(model);
            const ok = ops.every((o) => apply(next, o));
            const res = await t.scim.patch(`/Users/${id}`, patchOp(...ops.map(toScim)));
            if (!ok) {
              expect(res.status, JSON.stringify(res.body)).to.equal(400);
              expect(res.body.scimType).to.equal('noTarget');
              continue;
            }
            expect(res.status, JSON.stringify({ ops: ops.map(toScim), body: res.body })).to.equal(200);
            model = next;
            expect(observed(res.body)).to.deep.equal(model);
          }
          const read = await t.scim.get(`/Users/${id}`).expect(200);
          expect(observed(read.body)).to.deep.equal(model);
        }),
        params(40),
      );
    });

    // ---- groups: members as a set -------------------------------------------------------------
    type MemberOp =
      | { kind: 'add'; ids: number[] }
      | { kind: 'removeList'; ids: number[] }
      | { kind: 'removeWhere'; id: number }
      | { kind: 'replace'; ids: number[] }
      | { kind: 'replaceWhere'; id: number; with: number[] }
      | { kind: 'clear' };
    const idx = fc.nat(5);
    const idxs = fc.array(idx, { maxLength: 4 });
    const memberOp: fc.Arbitrary<MemberOp> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), ids: fc.array(idx, { minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('removeList' as const), ids: fc.array(idx, { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('removeWhere' as const), id: idx }),
      fc.record({ kind: fc.constant('replace' as const), ids: idxs }),
      fc.record({ kind: fc.constant('replaceWhere' as const), id: idx, with: fc.array(idx, { minLength: 1, maxLength: 2 }) }),
      fc.record({ kind: fc.constant('clear' as const) }),
    );

    it('applies generated member operations, in order, like a set model (40 runs)', async function () {
      this.timeout(180_000);
      const pool: string[] = [];
      for (let i = 0; i < 6; i++) pool.push((await t.scim.post('/Users', { schemas: [USER], userName: `pool${i}@example.com` }).expect(201)).body.id);
      const members = (ids: number[]) => ids.map((i) => ({ value: pool[i] }));
      const toScimOp = (o: MemberOp) => {
        switch (o.kind) {
          case 'add':
            return { op: 'add', path: 'members', value: members(o.ids) };
          case 'removeList':
            return { op: 'remove', path: 'members', value: members(o.ids) };
          case 'removeWhere':
            return { op: 'remove', path: `members[value eq "${pool[o.id]}"]` };
          case 'replace':
            return { op: 'replace', path: 'members', value: members(o.ids) };
          case 'replaceWhere':
            return { op: 'replace', path: `members[value eq "${pool[o.id]}"]`, value: members(o.with) };
          case 'clear':
            return { op: 'remove', path: 'members' };
        }
      };
      const applyMember = (s: Set<number>, o: MemberOp) => {
        switch (o.kind) {
          case 'add':
            o.ids.forEach((i) => s.add(i));
            break;
          case 'removeList':
            o.ids.forEach((i) => s.delete(i));
            break;
          case 'removeWhere':
            s.delete(o.id);
            break;
          case 'replace':
            s.clear();
            o.ids.forEach((i) => s.add(i));
            break;
          case 'replaceWhere':
            s.delete(o.id);
            o.with.forEach((i) => s.add(i));
            break;
          case 'clear':
            s.clear();
            break;
        }
      };
      await fc.assert(
        fc.asyncProperty(idxs, fc.array(fc.array(memberOp, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 }), async (initial, requests) => {
          const g = await t.scim.post('/Groups', { schemas: [GROUP], displayName: `model-${Math.random().toString(36).slice(2)}`, members: members(initial) }).expect(201);
          const model = new Set(initial);
          for (const ops of requests) {
            const res = await t.scim.patch(`/Groups/${g.body.id}`, patchOp(...ops.map(toScimOp)));
            expect(res.status, JSON.stringify({ ops: ops.map(toScimOp), body: res.body })).to.equal(204);
            ops.forEach((o) => applyMember(model, o));
            expect(await memberRows(g.body.id), JSON.stringify(ops)).to.deep.equal([...model].map((i) => pool[i]).sort());
          }
          const row = await t.scim.get(`/Groups/${g.body.id}`).expect(200);
          expect(row.body.members.map((m: { value: string }) => m.value).sort()).to.deep.equal([...model].map((i) => pool[i]).sort());
        }),
        params(40),
      );
    });
  });
});
