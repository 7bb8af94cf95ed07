import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { candidateIds, exampleBody, targetKind, unknownLike, wellFormed } from './helpers/requests';
import { describeRequest, send, type Answer, type RawRequest } from './helpers/send';
import { enc, fillPath, isCollectionRead, operations, type Operation, type Parameter } from './helpers/spec-ops';
import { buildWorld, fingerprint, type World } from './helpers/world';

/**
 * Guarantee 6 (tenant isolation): for every operation of spec/openapi.yaml, tenant A's token
 * (holding every right, admin included) aimed at tenant B's objects — by id in the path, in the
 * body, in the query, in a filter, in Bulk operations, through B's cursors and page links — gets
 * exactly the answer it gets for an id that does not exist: same status (so never a 403 that
 * confirms existence), same body apart from the id itself, none of B's data, and B unchanged.
 * Every id form is checked against a control: with B's own token the same request does find
 * the object, so the test cannot pass by using ids no dialect understands.
 */

const ops = operations();

/** Keys whose values differ between any two answers (request ids, timestamps, generated ids). */
const VOLATILE_KEYS = /^(contextId|requestId|uuid|id|dateModified|created|lastModified|time|date_created|_version)$/;

/** The body with every id we sent replaced by <ID> and request ids dropped, for comparison. */
function normalise(a: Answer, sent: string[]): string {
  const strip = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(strip) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => !VOLATILE_KEYS.test(k)).map(([k, x]) => [k, strip(x)])) : v;
  let text: string;
  try {
    text = JSON.stringify(strip(JSON.parse(a.text)));
  } catch {
    text = a.text;
  }
  // Opaque cursors encode the request (and so the id in it): compare them as placeholders.
  text = text.replace(/(q64=|cursor=|"(?:next|previous)Cursor":")[A-Za-z0-9_.%-]+/g, '$1<CURSOR>');
  for (const id of [...sent].sort((x, y) => y.length - x.length)) {
    for (const form of new Set([id, enc(id), JSON.stringify(id).slice(1, -1)])) {
      // Integer ids only where they stand alone ("4" must not eat the 4 of "404").
      text = /^\d+$/.test(form) ? text.replace(new RegExp(`(?<![\\w-])${form}(?![\\w-])`, 'g'), '<ID>') : text.split(form).join('<ID>');
    }
  }
  return text;
}

/** B's identifiers that must never appear in an answer to A (except an id A itself sent). */
function leaks(a: Answer, b: World, sent: string[]): string[] {
  return b.identifiers().filter((x) => !sent.some((s) => s.includes(x)) && a.text.includes(x));
}

function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((x) => [...prefix, x])), [[]]);
}

/** Id-valued fields of request bodies, by name. */
const REF_KEYS = /^(id|ids|_id|value|memberIds|members|users|ownerIds|memberUsers|memberGroups|parentGroups|groupId|userId|owner|_owner|who|user|group)$/;

/** Replaces every id-looking leaf under a reference key with `to(original)`. */
function replaceRefs(v: unknown, to: (original: string | number) => string | number, key = '', under = false): unknown {
  const ref = under || REF_KEYS.test(key);
  if (Array.isArray(v)) return v.map((x) => replaceRefs(x, to, key, ref));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceRefs(x, to, k, ref && !/^(schemas|type|_basetype|entity-type|op|path|method)$/.test(k))]));
  if (!ref || (typeof v !== 'string' && typeof v !== 'number')) return v;
  if (typeof v === 'string' && !/^[0-9a-f-]{36}$/i.test(v) && !/^\d+$/.test(v)) return v;
  return to(v);
}

describe('robustness: tenant isolation over every operation of the spec', function () {
  this.timeout(600_000);
  let a: World;
  let b: World;
  let bFingerprint: string;

  /** Set when a test may have left B changed (a control that wrote, or a failure midway). */
  let bDirty = true;

  before(async () => {
    a = await buildWorld('tenantA');
  });

  beforeEach(async () => {
    if (bDirty) b = await buildWorld('tenantB');
    bDirty = false;
    bFingerprint = await fingerprint(b.tenant.id);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'passed') bDirty = true;
  });

  /** A's request with B's ids vs the same request with unknown ids: indistinguishable, no leak. */
  async function expectIndistinguishable(op: Operation, withB: RawRequest, withUnknown: RawRequest, sent: string[]): Promise<Answer> {
    const unknown = await send(withUnknown);
    const foreign = await send(withB);
    const context = `${describeRequest(withB)} → ${foreign.status} ${foreign.text.slice(0, 300)} | unknown ids → ${unknown.status} ${unknown.text.slice(0, 300)}`;
    expect(foreign.status, `status differs from an unknown id: ${context}`).to.equal(unknown.status);
    expect(foreign.status, context).to.be.below(500);
    expect(normalise(foreign, sent), `body differs from an unknown id: ${context}`).to.equal(normalise(unknown, sent));
    expect(leaks(foreign, b, sent), `B's data in the answer: ${context}`).to.deep.equal([]);
    expect(await fingerprint(b.tenant.id), `A changed B: ${context}`).to.equal(bFingerprint);
    return unknown;
  }

  for (const op of ops) {
    const kinds = op.pathParams.map((p) => targetKind(op, p));
    const tenantData = kinds.length > 0 && kinds.every((k) => k === 'user' || k === 'group' || k === 'token');

    if (tenantData) {
      it(`${op.name}: B's ids in the path answer A like unknown ids, and find B's object with B's own token`, async () => {
        const candidates = op.pathParams.map((p) => candidateIds(b, targetKind(op, p)));
        let controlled = false;
        const combos = product(candidates).slice(0, 12);
        for (const combo of combos) {
          const byParam = new Map(op.pathParams.map((p, i) => [p.name, combo[i]]));
          const unknownIds = new Map(op.pathParams.map((p, i) => [p.name, unknownLike(combo[i])]));
          const body = op.body ? exampleBody(op) : undefined;
          const withB = wellFormed(op, a, { path: (p: Parameter) => byParam.get(p.name)!, body });
          const withUnknown = wellFormed(op, a, { path: (p: Parameter) => unknownIds.get(p.name)!, body });
          const notFound = await expectIndistinguishable(op, withB, withUnknown, [...combo, ...unknownIds.values()]);
          if (!controlled) {
            // Control: B's own token on the same ids is answered differently from an unknown id.
            const own = await send(wellFormed(op, b, { path: (p: Parameter) => byParam.get(p.name)!, body, token: b.admin }));
            if (op.method !== 'get') {
              bDirty = true;
              bFingerprint = await fingerprint(b.tenant.id);
            }
            if (own.status !== notFound.status || normalise(own, combo) !== normalise(notFound, [...combo, ...unknownIds.values()])) controlled = true;
          }
        }
        expect(controlled, `no id form of B's objects was understood by ${op.name} even with B's token: the isolation check proved nothing`).to.equal(true);
      });
    }

    if (op.body && op.body.example !== undefined) {
      it(`${op.name}: B's ids referenced in the body answer A like unknown ids`, async () => {
        for (const kind of ['user', 'group'] as const) {
          const bIds = candidateIds(b, kind);
          const pick = (original: string | number) => {
            const text = String(original);
            const form = /^\d+$/.test(text) ? bIds.find((x) => /^\d+$/.test(x))! : bIds.find((x) => /^[0-9a-f-]{36}$/i.test(x))!;
            return typeof original === 'number' ? Number(form) : form;
          };
          const base = exampleBody(op);
          const bodyB = replaceRefs(base, pick);
          const unknownMap = new Map<string, string>();
          const bodyU = replaceRefs(base, (original) => {
            const id = String(pick(original));
            if (!unknownMap.has(id)) unknownMap.set(id, unknownLike(id));
            return typeof original === 'number' ? Number(unknownMap.get(id)) : unknownMap.get(id)!;
          });
          if (JSON.stringify(bodyB) === JSON.stringify(base)) return; // the example names no object
          const sent = [...unknownMap.keys(), ...unknownMap.values()];
          await expectIndistinguishable(op, wellFormed(op, a, { body: bodyB }), wellFormed(op, a, { body: bodyU }), sent);
        }
      });
    }

    const idQuery = op.params.filter((p) => p.in === 'query' && /(^|[a-z])(id|ids|Id|Ids|filter|userId|objectId|resourceId)$/.test(p.name));
    if (idQuery.length) {
      it(`${op.name}: B's ids and names in query parameters and filters answer A like unknown ones`, async () => {
        for (const p of idQuery) {
          const values = /filter/i.test(p.name)
            ? [
                [`id eq "${b.users[0].id}"`, `id eq "${unknownLike(b.users[0].id)}"`],
                [`userName eq "${b.users[0].userName}"`, `userName eq "${unknownLike(b.users[0].userName)}"`],
                [`displayName eq "${b.groups[0].name}"`, `displayName eq "nothing ${randomBytes(3).toString('hex')}"`],
                [`members.value eq "${b.users[0].id}"`, `members.value eq "${unknownLike(b.users[0].id)}"`],
                [`externalId eq "${b.marker}-ext-u0"`, `externalId eq "nothing-${randomBytes(3).toString('hex')}"`],
                [`userName co "${b.marker}" or displayName co "${b.marker}"`, `userName co "zz${randomBytes(3).toString('hex')}" or displayName co "zz"`],
              ]
            : [...candidateIds(b, /user/i.test(p.name) ? 'user' : 'group'), ...candidateIds(b, /group/i.test(p.name) ? 'group' : 'user')].map((id) => [id, unknownLike(id)]);
          for (const [foreign, unknown] of values) {
            const withB = wellFormed(op, a, { query: { [p.name]: foreign } });
            const withUnknown = wellFormed(op, a, { query: { [p.name]: unknown } });
            await expectIndistinguishable(op, withB, withUnknown, [foreign, unknown, ...b.identifiers().filter((x) => foreign.includes(x))]);
          }
        }
      });
    }

    if (isCollectionRead(op)) {
      it(`${op.name}: A's listings and searches show none of B's data, and B's cursors and page links give A nothing of B`, async () => {
        const mine = await send(wellFormed(op, a));
        // /Me answers 501 to a token acting as no user (RFC 7644 §3.11).
        if (!(mine.status === 501 && op.path.endsWith('/Me'))) expect(mine.status, mine.text.slice(0, 300)).to.be.below(500);
        expect(leaks(mine, b, []), `B's data in A's ${op.name}`).to.deep.equal([]);
        // B's own answer: collect every cursor, q64 and page link it hands out, and replay them as A.
        const theirs = await send(wellFormed(op, b, { token: b.admin }));
        const handles = new Set<string>();
        const collect = (v: unknown, key = '') => {
          if (Array.isArray(v)) v.forEach((x) => collect(x, key));
          else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => collect(x, k));
          else if (typeof v === 'string' && /cursor|q64|next|previous|prev|current|first|last|after|self/i.test(key)) handles.add(v);
        };
        collect(theirs.body);
        for (const h of theirs.text.match(/q64=[A-Za-z0-9_.%-]+/g) ?? []) handles.add(h);
        for (const handle of handles) {
          const replays: RawRequest[] = [];
          if (handle.startsWith('/') || /^https?:/.test(handle)) {
            const path = handle.replace(/^https?:\/\/[^/]+/, '');
            const target = ops.find((o) => o.method === 'get' && new RegExp(`^${o.path.replace(/\{\w+\}/g, '[^/]+')}(\\?|$)`).test(path));
            if (target) replays.push({ ...wellFormed(target, a), url: path });
          } else if (handle.startsWith('q64=')) {
            const target = ops.find((o) => o.method === 'get' && o.params.some((p) => p.name === 'q64'));
            if (target) replays.push({ ...wellFormed(target, a), url: `${fillPath(target, () => '')}?${handle}` });
          } else {
            for (const p of op.params.filter((x) => x.in === 'query' && /cursor|q64|after/i.test(x.name))) replays.push(wellFormed(op, a, { query: { [p.name]: handle } }));
          }
          for (const r of replays) {
            const res = await send(r);
            expect(res.status, `${describeRequest(r)} → ${res.status} ${res.text.slice(0, 300)}`).to.be.below(500);
            // An id A itself put in the URL may be echoed back ("group not found: <id>"); nothing else of B may appear.
            const inUrl = b.identifiers().filter((x) => r.url.includes(x) || decodeURIComponent(r.url).includes(x));
            expect(leaks(res, b, inUrl), `${describeRequest(r)} (B's handle replayed by A) leaked B's data: ${res.text.slice(0, 300)}`).to.deep.equal([]);
          }
        }
      });
    }
  }

  it('SCIM Bulk operations that reference B\'s users and groups fail for A exactly like unknown ids, and change nothing of B', async () => {
    const bulkOp = ops.find((o) => /^scim.*Bulk/.test(o.operationId));
    if (!bulkOp) return;
    const bulk = (user: string, group: string) => ({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'PATCH', path: `/Users/${user}`, data: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] } },
        { method: 'PUT', path: `/Users/${user}`, data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `taken-${randomBytes(3).toString('hex')}` } },
        { method: 'PATCH', path: `/Groups/${group}`, data: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: a.users[0].id }] }] } },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `bulk-${randomBytes(3).toString('hex')}`, members: [{ value: user }, { value: group }] } },
        { method: 'PATCH', path: `/Groups/${a.groups[0].id}`, data: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: user }] }] } },
        { method: 'DELETE', path: `/Groups/${group}` },
        { method: 'DELETE', path: `/Users/${user}` },
      ],
    });
    const [uB, gB] = [b.users[0].id, b.groups[0].id];
    const [uU, gU] = [unknownLike(uB), unknownLike(gB)];
    const foreign = await send(wellFormed(bulkOp, a, { body: bulk(uB, gB) }));
    const unknown = await send(wellFormed(bulkOp, a, { body: bulk(uU, gU) }));
    const statuses = (x: Answer) => ((x.body as { Operations?: { status: string }[] }).Operations ?? []).map((o) => o.status);
    expect(foreign.status).to.equal(200);
    expect(statuses(foreign)).to.deep.equal(statuses(unknown));
    expect(statuses(foreign).every((s) => Number(s) >= 400), JSON.stringify(foreign.body)).to.equal(true);
    expect(leaks(foreign, b, [uB, gB])).to.deep.equal([]);
    expect(await fingerprint(b.tenant.id)).to.equal(bFingerprint);
  });
});
