import { expect } from 'chai';
import fc from 'fast-check';
import { rememberSecret } from './helpers/app';
import { anyText, bodyFor, fuzzParameters, headerText, parameterValue, rarely, type WorldRef } from './helpers/arbitraries';
import { describeRequest, enc, expectDialectError, HANG_MS, send, type RawRequest } from './helpers/send';
import { fillPath, operations, type Operation } from './helpers/spec-ops';
import { buildWorld, fingerprint, type World } from './helpers/world';

/**
 * Guarantee 5 (hostile input), the random half: arbitrary bodies, filters, search requests, PATCH
 * paths, query strings, ids and headers against every operation of spec/openapi.yaml. Whatever
 * arrives, the answer is never a 5xx, never slower than HANG_MS, an error is in the dialect's
 * shape, and a refused request changes nothing the tenant owns.
 *
 * FUZZ_RUNS sets the number of requests per run (default 1000, spread over the dialects by their
 * number of operations); CI uses a fixed seed, a local run a random one (FUZZ_SEED replays).
 */

const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const REBUILD_EVERY = 200;

/** /Me answers 501 for a token that acts as no user (RFC 7644 §3.11 says so): the one 5xx allowed. */
const allowed5xx = (op: Operation, status: number) => status === 501 && op.path.startsWith('/scim/v2/Me');

const RAW_QUERY_JUNK = ['%', '%ZZ', '%C3%28', '%FF%FE', '%00=%00', 'a[b]=1', 'a[__proto__][x]=1', '__proto__=1', 'constructor[prototype][x]=1', '&&&', '==', 'count=1&count=2', 'filter', 'filter=&filter='];

const CONTENT_TYPES = [
  'application/json',
  'application/scim+json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/vnd.anything+json',
];

/** Who sends the request; resolved to a token of the current world when it is sent. */
type Caller = 'admin' | 'scim' | 'none' | { garbage: string };

function requestFor(ops: Operation[], w: WorldRef): fc.Arbitrary<RawRequest & { caller: Caller }> {
  return fc.constantFrom(...ops).chain((op) => {
    const pathValues = fc.tuple(...op.pathParams.map((p) => parameterValue(p, w)));
    const query = fc.tuple(
      ...op.params.filter((p) => p.in === 'query').map((p) => fc.option(parameterValue(p, w).map((v) => [p.name, v] as const), { freq: 2 })),
    );
    const extraQuery = rarely(fc.oneof(fc.constantFrom(...RAW_QUERY_JUNK), fc.tuple(anyText, anyText).map(([k, v]) => `${enc(k)}=${enc(v)}`)), 10);
    const headerParams = fc.tuple(...op.params.filter((p) => p.in === 'header').map((p) => fc.option(headerText.map((v) => [p.name, v] as const), { freq: 2 })));
    const extraHeaders = fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record(
      {
        'If-Match': headerText,
        'If-None-Match': headerText,
        'X-Request-Id': headerText,
        Accept: fc.constantFrom('application/json', 'application/scim+json', 'text/html', '*/*', 'application/xml'),
        'Accept-Encoding': fc.constantFrom('gzip', 'br', 'identity', 'x-unknown'),
      },
      { requiredKeys: [] },
    ) });
    const auth = fc.oneof(
      { weight: 10, arbitrary: fc.constant<Caller>('admin') },
      { weight: 2, arbitrary: fc.constant<Caller>('scim') },
      { weight: 1, arbitrary: fc.constant<Caller>('none') },
      { weight: 1, arbitrary: headerText.map((garbage): Caller => ({ garbage })) },
    );
    const body = op.body
      ? fc.oneof(
          { weight: 12, arbitrary: fc.tuple(fc.constantFrom(...op.body.types), bodyFor(op, w)).map(([type, value]) => ({ type, value })) },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: 'binary', maxLength: 200 })).map(([type, raw]) => ({ type, raw })) },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...op.body.types), bodyFor(op, w)).map(([type, value]) => ({ type: type.replace(/json$/, 'json; charset=utf-8'), raw: (JSON.stringify(value) ?? '').slice(0, -1) })) },
        )
      : rarely(fc.tuple(fc.constantFrom(...CONTENT_TYPES), fc.jsonValue({ maxDepth: 2 })).map(([type, value]) => ({ type, value })), 10);
    return fc.tuple(pathValues, query, extraQuery, headerParams, extraHeaders, auth, body).map(([pv, q, xq, hp, xh, caller, b]) => {
      let i = 0;
      const path = fillPath(op, () => pv[i++]);
      const qs = [...q.filter((x): x is readonly [string, string] => x !== null).map(([k, v]) => `${enc(k)}=${enc(v)}`), ...(xq ? [xq] : [])].join('&');
      const headers: Record<string, string> = { ...(xh as Record<string, string>) };
      for (const h of hp) if (h) headers[h[0]] = h[1];
      return { op, url: qs ? `${path}?${qs}` : path, headers, caller, ...(b ? { body: b } : {}) };
    });
  });
}

describe('robustness: fuzzing every operation of the spec with hostile input', function () {
  this.timeout(600_000);
  const ops = operations();
  const dialects = [...new Set(ops.map((o) => o.dialect))];
  let bystander: World;
  let bystanderBefore: string;

  before(async () => {
    bystander = await buildWorld('bystander');
    bystanderBefore = await fingerprint(bystander.tenant.id);
  });

  for (const dialect of dialects) {
    const mine = ops.filter((o) => o.dialect === dialect);
    const runs = Math.max(200, Math.round((TOTAL_RUNS * mine.length) / ops.length));
    it(`${dialect}: ${runs} random requests over its ${mine.length} operations never answer 5xx, never hang, answer errors in the dialect's shape and change nothing when refused`, async () => {
      // A fresh world every REBUILD_EVERY requests: random deletes would otherwise empty it.
      let w = await buildWorld(`fz${dialect}`);
      let scim = rememberSecret(await w.tenant.token(['scim_provisioning']));
      let before = await fingerprint(w.tenant.id);
      let sent = 0;
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requestFor(mine, () => w), async (req) => {
          const { caller, ...r } = req;
          const token = caller === 'admin' ? w.admin : caller === 'scim' ? scim : caller === 'none' ? '' : caller.garbage;
          if (token) r.headers = { ...r.headers, Authorization: `Bearer ${token}` };
          const a = await send(r);
          seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
          if (process.env.FUZZ_DEBUG) console.log('FZ', r.op.name, a.status, a.ms, a.text.slice(0, 160));
          const context = describeRequest(r);
          if (a.status >= 500) expect(allowed5xx(r.op, a.status), `${context} → ${a.status} ${a.text.slice(0, 500)}`).to.equal(true);
          expect(a.ms, `${context} took ${a.ms} ms`).to.be.below(HANG_MS);
          if (!allowed5xx(r.op, a.status)) expectDialectError(r.op.dialect, a, context);
          // Reads are checked for changes too, but only every few requests (they are most of the traffic).
          if (r.op.method !== 'get' || sent % 10 === 0) {
            const after = await fingerprint(w.tenant.id);
            if (a.status >= 300) expect(after, `${context} → ${a.status} ${a.text.slice(0, 300)} changed the tenant's data`).to.equal(before);
            before = after;
          }
          if (++sent % REBUILD_EVERY === 0) {
            w = await buildWorld(`fz${dialect}`);
            scim = rememberSecret(await w.tenant.token(['scim_provisioning']));
            before = await fingerprint(w.tenant.id);
          }
        }),
        fuzzParameters(runs),
      );
      // The run must have reached the handlers, not only the validator: some requests succeed.
      const ok = [...seen].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
      expect(ok, `statuses: ${JSON.stringify(Object.fromEntries(seen))}`).to.be.greaterThan(0);
    });
  }

  it('changed nothing of a bystander tenant', async () => {
    expect(await fingerprint(bystander.tenant.id)).to.equal(bystanderBefore);
  });
});
