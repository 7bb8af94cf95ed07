import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { loadSpec, requiredRights, type OperationObject } from '../../src/spec';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Operation {
  method: (typeof METHODS)[number];
  path: string;
  op: OperationObject & {
    parameters?: { name: string; in: string; required?: boolean; example?: unknown; schema?: { example?: unknown } }[];
    requestBody?: { content: Record<string, { example?: unknown }> };
  };
  pathParams: { name: string }[];
}

function operations(): Operation[] {
  const doc = loadSpec();
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = ((item as { parameters?: unknown[] }).parameters ?? []) as { $ref?: string; name?: string; in?: string }[];
    for (const method of METHODS) {
      const op = (item as Record<string, unknown>)[method] as Operation['op'] | undefined;
      if (!op) continue;
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1] }));
      out.push({ method, path, op: { ...op, parameters: [...(op.parameters ?? []), ...(shared.filter((p) => p.name) as never[])] }, pathParams });
    }
  }
  return out;
}

/** A request for the operation with unknown ids, its documented example body and required query. */
function call(o: Operation, token?: string) {
  const url = o.pathParams.reduce((p, { name }) => p.replace(`{${name}}`, randomUUID()), o.path);
  const query: Record<string, string> = {};
  // Required query parameters take the spec's example when it gives one.
  for (const p of o.op.parameters ?? []) if (p.in === 'query' && p.required) query[p.name] = String(p.example ?? p.schema?.example ?? randomUUID());
  let req = api()[o.method](url).query(query);
  if (token) req = req.set(bearer(token));
  const content = o.op.requestBody?.content;
  if (content) {
    const [type, media] = Object.entries(content)[0];
    req = req.set('Content-Type', type).send(JSON.stringify(media.example ?? {}));
  }
  return req;
}

describe('contract: every operation in spec/openapi.yaml is routed and secured as declared', () => {
  let t: TestTenant;
  before(async () => {
    t = await newTenant();
  });

  const ops = operations();

  it('documents the 429 of every rate-limited operation and the outage answer of every one that reads the database', () => {
    // An undocumented status is a 500 under response validation, and a surprise for a client.
    const doc = loadSpec();
    const limited = ops.filter((o) => requiredRights(doc, o.op) !== null || /^\/(?:oauth\/token|api\/v1\/session)/.test(o.path));
    expect(limited.length).to.be.greaterThan(50);
    for (const o of limited) {
      const codes = Object.keys((o.op as { responses: Record<string, unknown> }).responses);
      expect(codes, `${o.method} ${o.path}`).to.include('429');
      // easydb's document answers every server error with 500; every other dialect says 503.
      expect(codes, `${o.method} ${o.path}`).to.include(/^\/api\/v1\/(?:group|session)(?:\/|$)/.test(o.path) ? '500' : '503');
      if (o.pathParams.length || o.op.requestBody) expect(codes, `${o.method} ${o.path}`).to.include('400');
    }
  });

  it('the spec declares operations and every operation has an operationId', () => {
    expect(ops.length).to.be.greaterThan(5);
    for (const o of ops) expect(o.op.operationId, `${o.method} ${o.path}`).to.be.a('string');
  });

  for (const o of ops) {
    const name = `${o.method.toUpperCase()} ${o.path}`;
    const rights = requiredRights(loadSpec(), o.op);

    if (rights === null) {
      it(`${name} needs no token and is routed`, async () => {
        const res = await call(o);
        // Reaching the handler is the point: it may still refuse the example's credentials.
        expect(res.status, JSON.stringify(res.body)).to.not.be.oneOf([404, 405, 500]);
        expect(res.headers['www-authenticate'] ?? '').to.not.match(/^Bearer/);
      });
      continue;
    }

    it(`${name} answers 401 without a token`, async () => {
      const res = await call(o);
      expect(res.status, JSON.stringify(res.body)).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    });

    const needsARight = rights.every((set) => set.length > 0);
    if (needsARight) {
      it(`${name} answers 403 with a token lacking ${rights.map((r) => r.join('+')).join(' or ')}`, async () => {
        const res = await call(o, await t.token([]));
        expect(res.status, JSON.stringify(res.body)).to.equal(403);
      });
    }

    for (const set of rights) {
      it(`${name} is routed and lets a token with [${set.join(', ')}] through`, async () => {
        const res = await call(o, await t.token(set));
        expect(res.status, JSON.stringify(res.body)).to.not.be.oneOf([401, 403, 405, 500]);
        // An unknown resource id is fine (404 from the handler); an unknown route is not.
        expect(JSON.stringify(res.body)).to.not.include('resource not found');
      });
    }
  }

  it('answers 404 for an undocumented path and 405 for an undocumented method', async () => {
    const token = await t.token(['admin']);
    const missing = await api().get('/api/v2/nothing-here').set(bearer(token)).expect(404);
    expect(missing.body).to.include({ status: 404, code: 'not.found' });
    await api().get('/no/such/path').expect(404);
    const wrongMethod = await api().patch(`/api/v2/groups/${randomUUID()}/members`).set(bearer(token)).send({}).expect(405);
    expect(wrongMethod.body).to.include({ status: 405 });
    // RFC 9110 §15.5.6: the answer names the methods the resource has.
    expect(wrongMethod.headers.allow.split(', ').sort()).to.deep.equal(['DELETE', 'GET', 'POST']);
    expect((await api().put('/scim/v2/ServiceProviderConfig').set(bearer(token)).send({})).headers.allow).to.equal('GET');
  });

  it('health checks and the documentation ignore query parameters they do not know (load balancers add cache busters)', async () => {
    expect((await api().get('/healthz?probe=1&t=123').expect(200)).body).to.deep.equal({ status: 'ok' });
    await api().get('/readyz?t=123').expect(200);
    await api().get('/openapi.json?v=2').expect(200);
  });

  it('declares 413 and 415 for every operation with a JSON body (easydb answers every error 400, as its document says)', () => {
    const spec = loadSpec() as { paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
    const missing: string[] = [];
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op || typeof op !== 'object' || !('responses' in op) || !op.requestBody) continue;
        if (/^\/api\/v1\/(group|session)(\/|$)/.test(path)) continue;
        for (const code of ['413', '415']) if (!op.responses[code]) missing.push(`${method.toUpperCase()} ${path} ${code}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
