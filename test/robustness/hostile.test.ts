import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { MAX_JSON_DEPTH } from '../../src/http/common/request-guards';
import { robustUrl } from './helpers/app';
import { HOSTILE_STRINGS } from './helpers/arbitraries';
import { bodyType, exampleBody, wellFormed } from './helpers/requests';
import { describeRequest, expectDialectError, send, type Answer, type RawRequest } from './helpers/send';
import { enc, fillPath, operations } from './helpers/spec-ops';
import { buildWorld, fingerprint, type World } from './helpers/world';

/**
 * Guarantee 5 (hostile input), the named cases: each one sent to every operation of the spec it
 * applies to. Never a 5xx, never a hang, errors in the dialect's shape, and a refused request
 * writes nothing.
 */

const ops = operations();
const withBody = ops.filter((o) => o.body?.types.some((t) => /json/.test(t)));
/** One operation with a JSON body per dialect (for the expensive cases). */
const onePerDialect = [...new Map(withBody.map((o) => [o.dialect, o])).values()];

const SQL_INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "1); SELECT pg_sleep(10); --",
  "%' OR 'x' LIKE '%",
  "\\'; DELETE FROM groups; --",
  "admin'--",
  "1' UNION SELECT token_hash FROM api_tokens --",
];

/**
 * A 5xx is a failure; /Me may answer 501 (RFC 7644 §3.11) to a token acting as nobody. A request
 * line over Node's 16 kB header limit is refused by the HTTP parser itself (431, no body), before
 * any dialect sees it.
 */
function expectSane(r: RawRequest, a: Answer): void {
  const context = describeRequest(r);
  if (a.status === 431 && r.url.length > 8192) return;
  if (!(a.status === 501 && r.op.path.startsWith('/scim/v2/Me'))) {
    expect(a.status, `${context} → ${a.status} ${a.text.slice(0, 400)}`).to.be.below(500);
    expectDialectError(r.op.dialect, a, context);
  }
}

/** Sends, checks sanity, and checks a refused write left the tenant unchanged (reads are the fuzz's to check). */
async function sendChecked(w: World, r: RawRequest): Promise<Answer> {
  const write = r.op.method !== 'get';
  const before = write ? await fingerprint(w.tenant.id) : '';
  const a = await send(r);
  expectSane(r, a);
  if (write && a.status >= 400) expect(await fingerprint(w.tenant.id), `${describeRequest(r)} → ${a.status} wrote something`).to.equal(before);
  return a;
}

/** Replaces every string leaf of a JSON value. */
function replaceStrings(v: unknown, by: (s: string, key: string) => unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => replaceStrings(x, by, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'schemas' ? x : replaceStrings(x, by, k)]));
  return typeof v === 'string' ? by(v, key) : v;
}

/** Raw HTTP exchange on a socket (for bytes no HTTP client would send); `headersOnly` returns as soon as the status and headers are in. */
async function rawExchange(payload: Buffer, waitMs = 5000, headersOnly = false): Promise<{ status: number; text: string }> {
  const { host, port } = await robustUrl();
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
      socket.destroy();
    };
    const timer = setTimeout(() => {
      socket.destroy();
      if (!settled) reject(new Error(`no answer within ${waitMs} ms`));
      settled = true;
    }, waitMs);
    socket.on('data', (c) => {
      chunks.push(c);
      if (headersOnly && Buffer.concat(chunks).includes('\r\n\r\n')) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', finish);
    socket.write(payload);
  });
}

describe('robustness: named hostile inputs against every operation of the spec', function () {
  this.timeout(600_000);
  let w: World;
  let canary: World;
  let canaryBefore: string;

  before(async () => {
    w = await buildWorld('hostile');
    canary = await buildWorld('canary');
    canaryBefore = await fingerprint(canary.tenant.id);
  });

  after(async () => {
    expect(await fingerprint(canary.tenant.id), 'another tenant was changed').to.equal(canaryBefore);
  });

  describe('SQL injection strings', () => {
    it('in every text field of every request body, every query parameter and every path id, answer 4xx or store them as text; nothing is executed', async () => {
      for (const [i, op] of ops.entries()) {
        // Two strings per operation, rotating, so every string meets every dialect.
        for (const inj of [0, 1].map((k) => SQL_INJECTIONS[(2 * i + k) % SQL_INJECTIONS.length])) {
          const tag = randomBytes(3).toString('hex');
          const base = wellFormed(op, w);
          const variants: RawRequest[] = [];
          if (base.body) variants.push({ ...base, body: { ...base.body, value: replaceStrings(exampleBody(op), (s, key) => (key === 'grant_type' ? s : `${inj}${tag}`)) } });
          const strParams = op.params.filter((p) => p.in === 'query' && (p.schema as { type?: string } | undefined)?.type !== 'integer');
          if (strParams.length) {
            const qs = strParams.map((p) => `${enc(p.name)}=${enc(/filter/i.test(p.name) ? `userName eq "${inj}"` : inj)}`).join('&');
            variants.push({ ...base, url: `${base.url.split('?')[0]}?${qs}` });
          }
          if (op.pathParams.length) variants.push({ ...base, url: fillPath(op, () => inj) });
          for (const r of variants) {
            const a = await sendChecked(w, r);
            expect(a.ms, `${describeRequest(r)} took ${a.ms} ms: was pg_sleep executed?`).to.be.below(8000);
          }
        }
      }
      const { db } = (await import('../helpers/context')).testContext();
      for (const table of ['users', 'groups', 'group_members', 'api_tokens', 'audit_events']) expect(Number((await db(table).count({ n: '*' }))[0].n)).to.be.greaterThan(0);
    });

    it('are stored and found verbatim: a user named with one is read back exactly and a filter for it matches only it', async () => {
      const scim = (op: string) => ops.find((o) => o.operationId === op)!;
      for (const inj of SQL_INJECTIONS) {
        const userName = `${inj}${randomBytes(3).toString('hex')}`;
        const created = await send(wellFormed(scim('scimCreateUser'), w, { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, displayName: inj } }));
        expect(created.status, created.text).to.equal(201);
        const id = (created.body as { id: string }).id;
        const read = await send(wellFormed(scim('scimGetUser'), w, { path: () => id }));
        expect(read.body).to.include({ userName, displayName: inj });
        const found = await send(wellFormed(scim('scimListUsers'), w, { query: { filter: `userName eq ${JSON.stringify(userName)}` } }));
        expect((found.body as { Resources: { id: string }[] }).Resources.map((x) => x.id)).to.deep.equal([id]);
        const like = await send(wellFormed(scim('scimListUsers'), w, { query: { filter: `userName co ${JSON.stringify(inj)}` } }));
        expect((like.body as { Resources: { userName: string }[] }).Resources.every((x) => x.userName.includes(inj)), like.text).to.equal(true);
      }
    });
  });

  describe('nesting 10,000 deep', () => {
    const deepFilter = (n: number) => `${'('.repeat(n)}userName eq "a"${')'.repeat(n)}`;

    it('SCIM filters nested 10,000 deep, in a query string or a SearchRequest, answer 4xx quickly', async () => {
      for (const op of ops.filter((o) => o.dialect === 'scim' && o.params.some((p) => p.name === 'filter'))) {
        for (const depth of [100, 2000, 10_000]) await sendChecked(w, wellFormed(op, w, { query: { filter: deepFilter(depth) } }));
      }
      for (const op of ops.filter((o) => o.dialect === 'scim' && /search/i.test(o.path))) {
        const a = await sendChecked(w, wellFormed(op, w, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: deepFilter(10_000) } }));
        expect(a.status).to.equal(400);
        expect(a.body).to.include({ scimType: 'invalidFilter' });
      }
    });

    it('SCIM PATCH paths with a value filter nested 10,000 deep answer 400', async () => {
      for (const op of ops.filter((o) => /^scimPatch/.test(o.operationId))) {
        const path = `emails[${deepFilter(10_000)}].value`;
        const a = await sendChecked(w, wellFormed(op, w, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path, value: 'x' }] } }));
        if (!op.path.endsWith('/Me')) expect(a.status).to.equal(400);
      }
    });

    it('search criteria nested 10,000 deep answer 400', async () => {
      // Written as text: JSON.stringify itself overflows the stack at this depth.
      const criterion = `${'{"operator":"AND","group":['.repeat(10_000)}{"type":"EXACT","fields":["name"],"value":"a"}${']}'.repeat(10_000)}`;
      for (const op of ops.filter((o) => o.method === 'post' && /\/search$/.test(o.path) && o.dialect !== 'scim')) {
        const a = await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw: `{"query":[${criterion}]}` } });
        expect(a.status, a.text.slice(0, 300)).to.equal(400);
      }
    });

    it(`a value nested deeper than ${MAX_JSON_DEPTH} levels inside an otherwise well-formed body (a free-form field) answers 400 in the dialect shape and writes nothing, for every operation with a body`, async () => {
      // 5,000 levels in Nuxeo properties, easydb frontend_prefs or v2 images used to overflow the stack of the code storing them.
      const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      for (const op of withBody) {
        const text = JSON.stringify(exampleBody(op));
        if (!text.includes('{')) continue;
        const raw = text.replace('{', `{"deep":${deep},`).replace(',}', '}');
        const a = await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw } });
        expect(a.status, `${op.name}: ${a.status} ${a.text.slice(0, 200)}`).to.equal(400);
      }
    });

    it(`keeps a free-form value nested ${MAX_JSON_DEPTH - 2} levels deep as it was sent`, async () => {
      let value: unknown = 'bottom';
      for (let i = 0; i < MAX_JSON_DEPTH - 2; i++) value = { a: value };
      const { host, port } = await robustUrl();
      const url = `http://${host}:${port}`;
      const token = w.admin;
      const created = await fetch(`${url}/group`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ 'entity-type': 'group', id: 'deep-but-fine', properties: { shape: value } }),
      });
      expect(created.status).to.equal(201);
      const read = await fetch(`${url}/group/deep-but-fine`, { headers: { Authorization: `Bearer ${token}` } });
      expect(((await read.json()) as { properties: { shape: unknown } }).properties.shape).to.deep.equal(value);
      expect((await fetch(`${url}/group/deep-but-fine`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status).to.equal(204);
    });

    it('JSON bodies nested 10,000 deep (objects and arrays) never answer 5xx, for every operation with a body', async () => {
      const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      for (const op of withBody) {
        for (const raw of [deepObject, deepArray]) {
          const a = await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw } });
          expect(a.ms).to.be.below(5000);
        }
      }
    });
  });

  describe('10 MB bodies', () => {
    // The easydb document makes every API error a 400 (error.api.invalid_content for this one).
    const tooLarge = (dialect: string) => (dialect === 'easydb' ? 400 : 413);

    it('answer 413 in the dialect shape (easydb: its 400), with or without Content-Length, within seconds, for every dialect', async () => {
      const huge = 'x'.repeat(10 * 1024 * 1024);
      const { port } = await robustUrl();
      const bodyOf = (op: (typeof withBody)[number]) => {
        const value = replaceStrings(exampleBody(op), () => huge);
        return JSON.stringify(value).includes(huge) ? JSON.stringify(value) : JSON.stringify({ big: huge });
      };
      const headOf = (op: (typeof withBody)[number], framing: string) => {
        const r = wellFormed(op, w);
        return `${op.method.toUpperCase()} ${r.url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${r.headers.Authorization}\r\nContent-Type: ${bodyType(op)}\r\n${framing}\r\nConnection: close\r\n\r\n`;
      };
      const targets = [...onePerDialect, ...withBody.filter((o) => /Bulk/.test(o.operationId) && !onePerDialect.includes(o))];
      for (const op of targets) {
        // Content-Length says 10 MB: refused from the header, without waiting for (or reading) the body.
        const text = bodyOf(op);
        const started = Date.now();
        const res = await rawExchange(Buffer.concat([Buffer.from(headOf(op, `Content-Length: ${Buffer.byteLength(text)}`)), Buffer.from(text.slice(0, 256 * 1024))]), 10_000, true).catch((err: Error) => {
          throw new Error(`${op.name}: ${err.message}`);
        });
        expect(res.status, `${op.name}: ${res.text.slice(0, 300)}`).to.equal(tooLarge(op.dialect));
        expect(Date.now() - started).to.be.below(5000);
      }
      // The whole 10 MB through an HTTP client, and chunked without Content-Length (the limit is
      // enforced while reading), for the SCIM Bulk: the largest body a client legitimately sends.
      const bulk = withBody.find((o) => /Bulk/.test(o.operationId)) ?? withBody[0];
      const whole = await sendChecked(w, { ...wellFormed(bulk, w), body: { type: bodyType(bulk), raw: bodyOf(bulk) } });
      expect(whole.status).to.equal(tooLarge(bulk.dialect));
      const chunk = Buffer.from(bodyOf(bulk));
      const started = Date.now();
      const res = await rawExchange(Buffer.concat([Buffer.from(headOf(bulk, 'Transfer-Encoding: chunked')), Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n0\r\n\r\n')]), 15_000, true);
      expect(res.status, res.text.slice(0, 300)).to.equal(tooLarge(bulk.dialect));
      expect(Date.now() - started).to.be.below(10_000);
    });
  });

  describe('invalid UTF-8', () => {
    const BAD = [Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0xfe]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])];

    it('in a JSON body is refused with 400 in the dialect shape and writes nothing, for every operation with a body', async () => {
      for (const op of withBody) {
        const text = JSON.stringify(replaceStrings(exampleBody(op), (s, key) => (key === 'grant_type' ? s : `${s}\u0001MARK\u0001`)));
        if (!text.includes('\\u0001MARK\\u0001')) continue;
        for (const bad of BAD) {
          const [head, ...rest] = text.split('\\u0001MARK\\u0001');
          const raw = Buffer.concat([Buffer.from(head), ...rest.flatMap((part) => [bad, Buffer.from(part)])]);
          const a = await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw } });
          expect(a.status, `${op.name} with bytes ${bad.toString('hex')}: ${a.status} ${a.text.slice(0, 200)}`).to.equal(400);
        }
      }
    });

    it('a lone surrogate escape (\\uD800-\\uDFFF without its pair) in a JSON body is refused with 400 in the dialect shape and writes nothing, for every operation with a body', async () => {
      // Valid UTF-8 JSON text, but not Unicode: PostgreSQL would have stored U+FFFD (or jsonb refused it).
      for (const op of withBody) {
        for (const lone of ['\uD800', '\uDFFF']) {
          const text = JSON.stringify(replaceStrings(exampleBody(op), (s, key) => (key === 'grant_type' ? s : `${s}${lone}`)));
          if (!/\\ud[89a-f]/i.test(text)) continue;
          const a = await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw: Buffer.from(text) } });
          expect(a.status, `${op.name} with ${JSON.stringify(lone)}: ${a.status} ${a.text.slice(0, 200)}`).to.equal(400);
        }
      }
    });

    it('in paths, query strings and headers answers 4xx and never 5xx', async () => {
      for (const op of ops) {
        const r = wellFormed(op, w);
        const path = r.url.split('?')[0];
        const variants = [
          ...(op.pathParams.length ? [fillPath(op, () => 'x%C3%28').replace(/x%25C3%2528/g, '%C3%28')] : []),
          `${path}?${op.params.find((p) => p.in === 'query')?.name ?? 'q'}=%FF%FE%C3%28`,
        ];
        for (const url of variants) await sendChecked(w, { ...r, url });
        // Raw bytes in a header value and in the request line.
        const { port } = await robustUrl();
        const bad = Buffer.concat([Buffer.from(`${op.method.toUpperCase()} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer `), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('\r\nX-Request-Id: '), Buffer.from([0xc0, 0xaf]), Buffer.from('\r\nConnection: close\r\n\r\n')]);
        const res = await rawExchange(bad);
        // A token of bytes that are not UTF-8 is no token: refused (401, or 4xx for the missing body first) where one is needed.
        if (op.rights === null) expect(res.status, `${op.name}: ${res.text.slice(0, 200)}`).to.be.below(500);
        else expect(res.status, `${op.name}: ${res.text.slice(0, 200)}`).to.be.within(400, 499);
      }
    });
  });

  describe('prototype pollution keys', () => {
    const probe = () => ({} as Record<string, unknown>);
    const POLLUTERS = ['{"__proto__":{"polluted":"yes","admin":true,"rights":["admin"]},"constructor":{"prototype":{"polluted":"yes","isAdmin":true}}}'];

    it('in every JSON body (top level and nested) pollute nothing and answer without a 5xx', async () => {
      for (const op of withBody) {
        const base = exampleBody(op);
        for (const polluter of POLLUTERS) {
          const inner = polluter.slice(1, -1);
          const text = JSON.stringify(base);
          const raws = [
            text.startsWith('{') ? `{${inner},${text.slice(1)}` : polluter,
            text.replace(/\{"/, `{${inner},"`),
            text.startsWith('[') ? `[${polluter},${text.slice(1)}` : text.replace(/"properties":\{/, `"properties":{${inner},`),
          ];
          for (const raw of raws) {
            await sendChecked(w, { ...wellFormed(op, w), body: { type: bodyType(op), raw } });
            expect(probe().polluted, `${op.name} ${raw.slice(0, 200)}`).to.equal(undefined);
            expect(probe().admin).to.equal(undefined);
            expect(probe().isAdmin).to.equal(undefined);
            expect(probe().rights).to.equal(undefined);
          }
        }
      }
    });

    it('as values where text is expected ({"toString": …, "valueOf": …}) break no String() or template literal: never a 5xx', async () => {
      const booby = { toString: 1, valueOf: 1, constructor: 1, hasOwnProperty: 1 };
      for (const op of withBody) {
        // Every text leaf at once, then every text leaf alone (where it gets past the others).
        const leaves: string[][] = [];
        const walk = (v: unknown, path: string[]) => {
          if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
          else if (typeof v === 'string' && path[path.length - 1] !== 'schemas') leaves.push(path);
        };
        const base = exampleBody(op);
        walk(base, []);
        const variants = [replaceStrings(base, () => booby), ...leaves.map((path) => {
          const copy = structuredClone(base) as Record<string, unknown>;
          let node = copy;
          for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
          node[path[path.length - 1]] = booby;
          return copy;
        })];
        for (const value of variants) await sendChecked(w, wellFormed(op, w, { body: value }));
      }
    });

    it('in SCIM PATCH paths, Nuxeo properties, easydb rights and query strings pollute nothing', async () => {
      const find = (id: string) => ops.find((o) => o.operationId === id);
      const cases: RawRequest[] = [];
      for (const id of ['scimPatchUser', 'scimPatchGroup']) {
        const op = find(id);
        if (!op) continue;
        for (const path of ['__proto__.polluted', 'constructor.prototype.polluted', '__proto__', 'name.__proto__.polluted', 'emails[type eq "__proto__"].value'])
          cases.push(wellFormed(op, w, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path, value: 'yes' }, { op: 'replace', value: { __proto__: { polluted: 'yes' } } }] } }));
      }
      const nuxeoUpdate = find('nuxeoUpdateGroup');
      if (nuxeoUpdate) cases.push({ ...wellFormed(nuxeoUpdate, w), body: { type: 'application/json', raw: '{"entity-type":"group","properties":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x","hasOwnProperty":"y"}}' } });
      const easydbCreate = find('easydbCreateGroups');
      if (easydbCreate) cases.push({ ...wellFormed(easydbCreate, w), body: { type: 'application/json', raw: `[{"_basetype":"group","group":{"_version":1,"name":"p-${randomBytes(3).toString('hex')}"},"_system_rights":{"__proto__":{"polluted":{}},"constructor":{"prototype":{}}}}]` } });
      for (const op of ops.filter((o) => o.method === 'get')) cases.push({ ...wellFormed(op, w), url: `${wellFormed(op, w).url.split('?')[0]}?__proto__[polluted]=yes&constructor[prototype][polluted]=yes` });
      for (const r of cases) {
        await sendChecked(w, r);
        expect(probe().polluted, describeRequest(r)).to.equal(undefined);
      }
    });
  });

  describe('duplicate JSON keys', () => {
    it('are read one way only: what the answer shows is what is stored (the last key wins, as JSON.parse reads it)', async () => {
      const find = (id: string) => ops.find((o) => o.operationId === id)!;
      const tag = randomBytes(3).toString('hex');
      const created = await sendChecked(w, { ...wellFormed(find('scimCreateUser'), w), body: { type: 'application/scim+json', raw: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first-${tag}","userName":"second-${tag}","active":true,"active":false}` } });
      expect(created.status, created.text).to.equal(201);
      expect(created.body).to.include({ userName: `second-${tag}`, active: false });
      const id = (created.body as { id: string }).id;
      expect((await send(wellFormed(find('scimGetUser'), w, { path: () => id }))).body).to.include({ userName: `second-${tag}`, active: false });

      // SCIM attribute names are case-insensitive: two spellings of one attribute must not split.
      const mixed = await sendChecked(w, { ...wellFormed(find('scimCreateUser'), w), body: { type: 'application/scim+json', raw: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"lower-${tag}","USERNAME":"upper-${tag}"}` } });
      if (mixed.status === 201) {
        const stored = (await send(wellFormed(find('scimGetUser'), w, { path: () => (mixed.body as { id: string }).id }))).body as { userName: string };
        expect(stored.userName).to.equal((mixed.body as { userName: string }).userName);
      }

      const v2 = ops.find((o) => o.operationId === 'postGroups');
      if (v2) {
        const g = await sendChecked(w, { ...wellFormed(v2, w), body: { type: 'application/json', raw: `{"name":"a-${tag}","name":"b-${tag}"}` } });
        expect(g.body).to.include({ name: `b-${tag}` });
        // The validator and the handler read the same (last) value: a valid first and invalid last is refused.
        const bad = await sendChecked(w, { ...wellFormed(v2, w), body: { type: 'application/json', raw: `{"name":"c-${tag}","name":5}` } });
        expect(bad.status).to.equal(400);
      }
    });
  });

  describe('huge counts and negative indexes', () => {
    const EXTREMES = ['-1', '0', '-9999999999', '2147483648', '9007199254740993', '99999999999999999999999', '1e309', '-1e309', 'NaN', 'Infinity', '1.5', '0x10', ' 7', ''];

    it('in every integer and paging query parameter of every operation answer 4xx or a bounded page, never 5xx', async () => {
      for (const op of ops) {
        const paging = op.params.filter((p) => p.in === 'query' && ((p.schema as { type?: string } | undefined)?.type === 'integer' || /^(count|startIndex|page|pageSize|pageNumber|offset|limit)$/.test(p.name)));
        for (const p of paging) {
          for (const v of EXTREMES) {
            const a = await sendChecked(w, wellFormed(op, w, { query: { [p.name]: v } }));
            const b = a.body as Record<string, unknown>;
            if (a.status === 200 && op.dialect === 'scim' && Array.isArray(b.Resources)) {
              expect(Number(b.itemsPerPage)).to.be.at.most(1000);
              if (b.startIndex !== undefined) expect(Number(b.startIndex)).to.be.at.least(1);
            }
            if (a.status === 200 && Array.isArray(b)) expect(b.length).to.be.at.most(1000);
          }
        }
      }
    });

    it('in SCIM SearchRequest bodies answer a page of at most 1000 starting at 1, or 400', async () => {
      for (const op of ops.filter((o) => o.dialect === 'scim' && /search/i.test(o.path))) {
        for (const [startIndex, count] of [[-5, 10], [0, 2 ** 31], [2 ** 53, 5], [1, -1], [1, 1e308], [-(2 ** 63), 2 ** 63]]) {
          const a = await sendChecked(w, wellFormed(op, w, { body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], startIndex, count } }));
          if (a.status === 200) {
            expect(Number((a.body as { itemsPerPage: number }).itemsPerPage)).to.be.at.most(1000);
            expect(Number((a.body as { startIndex: number }).startIndex)).to.be.at.least(1);
          }
        }
      }
    });
  });

  describe('Unicode look-alike user names', () => {
    const LOOKALIKES: [string, string][] = [
      ['admin', 'аdmin'], // Cyrillic а
      ['admin', 'ａｄｍｉｎ'], // fullwidth
      ['admin', 'ADMİN'], // Turkish dotted capital I
      ['admin', 'admın'], // Turkish dotless i
      ['kevin', '\u212Aevin'], // Kelvin sign
      ['jose', 'jose\u200B'], // zero-width space
      ['josé', 'jose\u0301'], // NFC vs NFD
      ['strasse', 'straße'],
      ['office', 'oﬃce'], // ligature
      ['admin', 'admin '],
      ['admin', '\u202Enimda'], // right-to-left override
    ];

    it('never resolve to another user: each either collides with the original (409) and finds it, or is a distinct user found only by its own name', async () => {
      const find = (id: string) => ops.find((o) => o.operationId === id)!;
      const nuxeoAdd = ops.find((o) => o.operationId === 'nuxeoAddGroupUser');
      const { db } = (await import('../helpers/context')).testContext();
      const t = await buildWorld('lookalike');
      for (const [original, lookalike] of LOOKALIKES) {
        const domain = `@${randomBytes(4).toString('hex')}.example.com`;
        const a = await send(wellFormed(find('scimCreateUser'), t, { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: original + domain } }));
        expect(a.status, a.text).to.equal(201);
        const originalId = (a.body as { id: string }).id;
        const b = await sendChecked(t, wellFormed(find('scimCreateUser'), t, { body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: lookalike + domain } }));
        expect(b.status, `${lookalike}: ${b.text}`).to.be.oneOf([201, 400, 409]);
        const lookup = async (name: string) =>
          ((await send(wellFormed(find('scimListUsers'), t, { query: { filter: `userName eq ${JSON.stringify(name + domain)}` } }))).body as { Resources: { id: string }[] }).Resources.map((r) => r.id);
        if (b.status === 201) {
          const lookalikeId = (b.body as { id: string }).id;
          expect(await lookup(lookalike), `${lookalike} finds`).to.deep.equal([lookalikeId]);
          expect(await lookup(original), `${original} finds`).to.deep.equal([originalId]);
          if (nuxeoAdd) {
            // Adding the look-alike by user name adds the look-alike, not the original.
            const g = t.groups.find((x) => x.key)!;
            const added = await send(wellFormed(nuxeoAdd, t, { path: (p) => (/user/i.test(p.name) ? lookalike + domain : g.key!) }));
            expect(added.status, added.text).to.equal(201);
            const members = (await db('group_members').where({ tenant_id: t.tenant.id, group_id: g.id, member_kind: 'user' }).pluck('member_id')) as string[];
            expect(members).to.include(lookalikeId);
            expect(members).to.not.include(originalId);
          }
        } else if (b.status === 409) {
          // The service treats them as one name: lookups agree with uniqueness.
          expect(await lookup(lookalike)).to.deep.equal([originalId]);
        }
        const rows = (await db('users').where({ tenant_id: t.tenant.id }).whereRaw('lower(user_name) = lower(?)', [lookalike + domain]).count({ n: '*' }))[0];
        expect(Number(rows.n)).to.be.at.most(1);
      }
    });
  });
});


