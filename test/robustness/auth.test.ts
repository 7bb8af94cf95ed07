import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { hashToken } from '../../src/domain/tokens/token';
import { testContext } from '../helpers/context';
import { hasSecretShape } from '../helpers/log-scan';
import { closeRobustServer, knownSecrets, leakedLines, logLines, rememberSecret, robustUrl } from './helpers/app';
import { targetKind, wellFormed } from './helpers/requests';
import { describeRequest, send, type Answer, type RawRequest } from './helpers/send';
import { operations, type Operation } from './helpers/spec-ops';
import { buildWorld, fingerprint, type World } from './helpers/world';

/**
 * Guarantee 7 (authentication attacks): revoked, expired, malformed and other-tenant tokens;
 * tokens in places they are not accepted; guessing OAuth client secrets and session passwords
 * is throttled and then blocked; token checks take as long whatever part of the token is right
 * (asserted by design — the lookup is by SHA-256 of the whole token — and measured); and no
 * secret appears in any log line of the robustness app, which logs at `trace`.
 */

const secured = operations().filter((o) => o.rights !== null);

/** Refused for want of a valid token, in the dialect's way (easydb: its 400 Session Not Found once a token was sent). */
function expectUnauthenticated(op: Operation, a: Answer, context: string): void {
  const msg = `${context} → ${a.status} ${a.text.slice(0, 300)}`;
  if (op.dialect === 'easydb' && a.status === 400) {
    expect((a.body as { code?: string }).code, msg).to.be.oneOf(['error.user.session_not_found', 'error.user.not_authenticated']);
    return;
  }
  expect(a.status, msg).to.equal(401);
  expect(a.headers['www-authenticate'], msg).to.match(/^Bearer/);
}

/** One request from a chosen loopback address (rate limits count per client address). */
function fromAddress(localAddress: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return robustUrl().then(
    ({ host, port }) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host, port, method, path, localAddress, headers: { ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        });
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      }),
  );
}

describe('robustness: authentication attacks', function () {
  this.timeout(300_000);
  let w: World;
  let other: World;

  before(async () => {
    w = await buildWorld('auth', { passwords: true });
    other = await buildWorld('authother');
  });

  it('revoked and expired tokens are refused by every secured operation, from the next request on', async () => {
    const { services } = testContext().deps;
    const revoked = rememberSecret(await w.tenant.token(['all']));
    const expired = rememberSecret(await w.tenant.token(['all'], { expiresInMs: 1 }));
    // Used once while valid (a cache would have to notice the revocation).
    expect((await send(wellFormed(secured.find((o) => o.operationId === 'getGroups') ?? secured[0], w, { token: revoked }))).status).to.be.below(400);
    const rows = await testContext().db('api_tokens').where({ tenant_id: w.tenant.id }).whereIn('token_hash', [hashToken(revoked)]).pluck('id');
    expect(await services.tokens.revokeToken({ id: rows[0] })).to.equal(1);
    await new Promise((r) => setTimeout(r, 5));
    const before = await fingerprint(w.tenant.id);
    // Alternating over the operations: each kind meets every dialect.
    for (const [i, op] of secured.entries()) {
      const r = wellFormed(op, w, { token: i % 2 ? revoked : expired });
      expectUnauthenticated(op, await send(r), describeRequest(r));
    }
    expect(await fingerprint(w.tenant.id), 'a refused token changed data').to.equal(before);
  });

  it('malformed, truncated, extended and look-alike tokens and Authorization headers are refused everywhere', async () => {
    const good = rememberSecret(await w.tenant.token(['all']));
    const variants = [
      good.slice(0, -1),
      `${good}x`,
      good.toUpperCase(),
      good.replace(/^rst_/, ''),
      `rst_${'A'.repeat(43)}`,
      hashToken(good),
      'x'.repeat(600),
      `${good} ${good}`,
      good.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
    ];
    const headers = [...variants.map((v) => `Bearer ${v}`), 'Bearer', 'Bearer ', `Basic ${Buffer.from(`x:${good}`).toString('base64')}`, good, `Token ${good}`, `Bearer\t${good}x`, `MAC ${good}`];
    for (const [i, op] of secured.entries()) {
      // Every header against a rotating subset of operations keeps the run short and still covers all dialects.
      for (const h of headers.filter((_, k) => (k + i) % 3 === 0)) {
        const r = { ...wellFormed(op, w, { token: '' }), headers: { Authorization: h } };
        expectUnauthenticated(op, await send(r), describeRequest(r));
      }
    }
  });

  it('only the first of two Authorization headers counts, so a valid second one cannot smuggle access', async () => {
    const good = rememberSecret(await w.tenant.token(['all']));
    const { host, port } = await robustUrl();
    const raw = await new Promise<string>((resolve, reject) => {
      const net = require('node:net') as typeof import('node:net');
      const socket = net.connect(port, host, () => socket.write(`GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nAuthorization: Bearer ${good}\r\nConnection: close\r\n\r\n`));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
    });
    expect(raw).to.match(/^HTTP\/1\.1 401/);
  });

  it("another tenant's valid token never reaches this tenant's objects (its own tenant is all it sees)", async () => {
    const foreign = rememberSecret(await other.tenant.token(['all']));
    const byId = secured.filter((o) => o.pathParams.length && o.method === 'get' && o.pathParams.every((p) => ['user', 'group', 'token'].includes(targetKind(o, p))));
    for (const op of byId) {
      const r = wellFormed(op, w, { token: foreign });
      const a = await send(r);
      // easydb answers an empty array for a group that is not the caller's (its document says so).
      if (a.status === 200) expect(a.body, `${op.name}: ${a.text.slice(0, 200)}`).to.deep.equal([]);
      expect(a.status).to.not.equal(403);
      // Only what the request itself named may be echoed ("group not found: <id>").
      const echoed = (x: string) => r.url.includes(x) || decodeURIComponent(r.url).includes(x);
      for (const x of w.identifiers()) if (!echoed(x) && !w.groups.some((g) => g.key && echoed(g.key) && g.key.includes(x))) expect(a.text, op.name).to.not.include(x);
    }
  });

  it('tokens in the wrong place (query, body, cookie, other headers, no scheme) are not accepted outside the easydb paths', async () => {
    const good = rememberSecret(await w.tenant.token(['all']));
    for (const op of secured.filter((o) => o.dialect !== 'easydb')) {
      const base = wellFormed(op, w, { token: '' });
      const [path, query] = base.url.split('?');
      const join = (extra: string) => `${path}?${[query, extra].filter(Boolean).join('&')}`;
      const attempts: RawRequest[] = [
        { ...base, url: join(`access_token=${good}`) },
        { ...base, url: join(`token=${good}`) },
        { ...base, headers: { Cookie: `token=${good}; access_token=${good}` } },
        { ...base, headers: { 'X-Api-Key': good, 'X-Auth-Token': good, 'Proxy-Authorization': `Bearer ${good}` } },
        { ...base, headers: { Authorization: good } },
      ];
      if (base.body && typeof base.body.value === 'object' && base.body.value && !Array.isArray(base.body.value)) {
        attempts.push({ ...base, body: { ...base.body, value: { ...(base.body.value as object), access_token: good } } });
      }
      for (const r of attempts) {
        const a = await send(r);
        // 400 is fine where the validator refuses the unknown parameter first; never a success.
        expect(a.status, `${describeRequest(r)} → ${a.status} ${a.text.slice(0, 200)}`).to.be.oneOf([400, 401, 413, 415]);
        if (a.status === 401) expect(a.headers['www-authenticate']).to.match(/^Bearer/);
      }
    }
  });

  it('guessing OAuth client secrets from one address is throttled: past the burst, 429 with an integer Retry-After and at most the configured rate gets checked; other addresses are unaffected', async function () {
    const limit = testContext().deps.config.ops?.rateLimitUnauth;
    if (!limit || limit.rps <= 0) this.skip();
    const address = '127.0.0.2';
    const form = (secret: string) => `grant_type=client_credentials&client_id=${w.oauth.clientId}&client_secret=${encodeURIComponent(secret)}`;
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const guess = () => fromAddress(address, 'POST', '/oauth/token', headers, form(`rsc_${randomBytes(32).toString('base64url')}`));
    let throttled: Awaited<ReturnType<typeof fromAddress>> | undefined;
    const started = Date.now();
    let sent = 0;
    while (!throttled && Date.now() - started < 60_000) {
      const batch = await Promise.all(Array.from({ length: 25 }, guess));
      sent += batch.length;
      for (const res of batch) expect(res.status, res.text).to.be.oneOf([401, 429]);
      throttled = batch.find((res) => res.status === 429);
    }
    expect(throttled, `no 429 after ${sent} wrong secrets`).to.not.equal(undefined);
    expect(throttled!.headers['retry-after']).to.match(/^[1-9]\d*$/);
    expect(JSON.parse(throttled!.text)).to.have.property('error');
    // Keep guessing for 3 s as fast as possible: only about rps × 3 guesses are even checked.
    const windowStart = Date.now();
    let checked = 0;
    let refused = 0;
    while (Date.now() - windowStart < 3000) {
      for (const res of await Promise.all(Array.from({ length: 25 }, guess))) {
        if (res.status === 429) refused++;
        else checked++;
      }
    }
    const seconds = (Date.now() - windowStart) / 1000;
    expect(refused).to.be.greaterThan(0);
    expect(checked, `${checked} guesses checked in ${seconds.toFixed(1)} s at ${limit.rps}/s`).to.be.at.most(Math.ceil(limit.rps * (seconds + 1)));
    // Another address is not affected.
    expect((await fromAddress('127.0.0.3', 'POST', '/oauth/token', headers, form(w.oauth.clientSecret))).status).to.equal(200);
  });

  it('guessing a session password blocks that login after five failures, even for the right password', async () => {
    const user = w.users[1];
    const start = async () => JSON.parse((await fromAddress('127.0.0.4', 'GET', '/api/v1/session', {})).text).token as string;
    const authenticate = async (token: string, password: string) =>
      fromAddress('127.0.0.4', 'POST', `/api/v1/session/authenticate?token=${encodeURIComponent(token)}&login=${encodeURIComponent(user.userName)}&password=${encodeURIComponent(password)}&tenant=${encodeURIComponent(w.tenant.name)}`, {});
    const session = rememberSecret(await start());
    for (let i = 0; i < 5; i++) {
      const res = await authenticate(session, `wrong-${i}-${randomBytes(4).toString('hex')}`);
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.text).code).to.equal('error.user.login_failed');
    }
    const blocked = await authenticate(session, user.password);
    expect(blocked.status).to.equal(400);
    expect(JSON.parse(blocked.text).code).to.equal('error.user.login_blocked');
    // The block is per login: another user of the tenant still logs in.
    const other = w.users[2];
    const ok = await fromAddress('127.0.0.4', 'POST', `/api/v1/session/authenticate?token=${encodeURIComponent(await start())}&login=${encodeURIComponent(other.userName)}&password=${encodeURIComponent(other.password)}&tenant=${encodeURIComponent(w.tenant.name)}`, {});
    expect(ok.status, ok.text).to.equal(200);
  });

  describe('timing of token checks', () => {
    it('looks a token up by the SHA-256 of all of it: the presented token never reaches SQL, so no prefix can be matched', async () => {
      const { db, deps } = testContext();
      const good = rememberSecret(await w.tenant.token(['all']));
      const probe = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
      const queries: { sql: string; bindings: unknown[] }[] = [];
      const listener = (q: { sql: string; bindings?: unknown[] }) => queries.push({ sql: q.sql, bindings: q.bindings ?? [] });
      db.on('query', listener);
      try {
        expect(await deps.services.tokens.verifyToken(probe)).to.equal(undefined);
        expect(await deps.services.tokens.verifyToken(good)).to.not.equal(undefined);
      } finally {
        db.removeListener('query', listener);
      }
      const text = JSON.stringify(queries);
      expect(text).to.not.include(probe);
      expect(text).to.not.include(good);
      expect(text).to.include(hashToken(probe));
      expect(queries.some((q) => /token_hash/.test(q.sql) && q.bindings.includes(hashToken(probe)))).to.equal(true);
      expect(queries.every((q) => !/\blike\b|substr|left\(|starts_with/i.test(q.sql) || !/token/.test(q.sql))).to.equal(true);
    });

    it('takes as long for a token wrong in its first character as for one wrong only in its last (medians over interleaved tries)', async () => {
      const { deps } = testContext();
      const good = rememberSecret(await w.tenant.token(['all']));
      const flip = (c: string) => (c === 'A' ? 'B' : 'A');
      const nearlyRight = good.slice(0, -1) + flip(good.slice(-1));
      const wrongEarly = `rst_${flip(good[4])}${good.slice(5)}`;
      const time = async (t: string) => {
        const s = process.hrtime.bigint();
        await deps.services.tokens.verifyToken(t);
        return Number(process.hrtime.bigint() - s) / 1e6;
      };
      for (let i = 0; i < 20; i++) await time(i % 2 ? nearlyRight : wrongEarly); // warm up
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 2) {
          a.push(await time(nearlyRight));
          b.push(await time(wrongEarly));
        } else {
          b.push(await time(wrongEarly));
          a.push(await time(nearlyRight));
        }
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      const [ma, mb] = [median(a), median(b)];
      // A generous bound: a prefix-dependent comparison on a 47-character token would show as a
      // steady difference far beyond scheduling noise; equal work differs by noise only.
      expect(Math.abs(ma - mb), `medians ${ma.toFixed(3)} ms vs ${mb.toFixed(3)} ms`).to.be.below(Math.max(ma, mb) * 0.5 + 0.5);
    });
  });

  it('writes no secret to any log line, wherever a request carried one', async () => {
    const good = rememberSecret(await w.tenant.token(['all']));
    const secret = w.oauth.clientSecret;
    const password = w.users[0].password;
    const session = rememberSecret(JSON.parse((await fromAddress('127.0.0.5', 'GET', '/api/v1/session', {})).text).token as string);
    const attempts: [string, string, Record<string, string>, string?][] = [
      ['GET', `/scim/v2/Users?access_token=${good}`, {}],
      ['GET', `/scim/v2/Users?token=${good}&apikey=${good}`, {}],
      ['GET', `/api/v1/group?token=${good}`, {}],
      ['GET', `/api/v1/group?token=${session}`, {}],
      ['GET', `/no/such/path?secret=${good}`, {}],
      ['GET', `/scim/v2/Users/${good}`, { Authorization: `Bearer ${good}` }],
      ['GET', '/scim/v2/Users', { Authorization: `Bearer ${good}`, Cookie: `session=${good}` }],
      ['POST', '/oauth/token', { 'Content-Type': 'application/x-www-form-urlencoded' }, `grant_type=client_credentials&client_id=${w.oauth.clientId}&client_secret=${secret}`],
      ['POST', '/oauth/token', { Authorization: `Basic ${Buffer.from(`${w.oauth.clientId}:${secret}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials'],
      ['POST', '/oauth/token', { 'Content-Type': 'application/json' }, `{"grant_type":"client_credentials","client_id":"${w.oauth.clientId}","client_secret":"${secret}x"}`],
      ['POST', `/api/v1/session/authenticate?token=${session}&login=${encodeURIComponent(w.users[0].userName)}&password=${encodeURIComponent(password)}&tenant=${w.tenant.name}`, {}],
      ['POST', '/api/v1/session/authenticate', { 'Content-Type': 'application/x-www-form-urlencoded' }, `token=${session}&login=${encodeURIComponent(w.users[0].userName)}&password=${encodeURIComponent(password)}x&tenant=${w.tenant.name}`],
      ['POST', '/scim/v2/Users', { Authorization: `Bearer ${good}`, 'Content-Type': 'application/scim+json' }, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"pw-${randomBytes(3).toString('hex')}","password":"${password}"}`],
      ['POST', '/scim/v2/Users', { Authorization: `Bearer ${good}`, 'Content-Type': 'application/scim+json' }, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":${JSON.stringify(good)},"password":"${password}"`],
    ];
    for (const [method, path, headers, body] of attempts) await fromAddress('127.0.0.5', method, path, headers, body);
    const leaked = leakedLines();
    expect(leaked.length, `secrets in log lines:\n${leaked.slice(0, 5).join('\n')}`).to.equal(0);
    expect(logLines().length).to.be.greaterThan(attempts.length);
    expect(knownSecrets().size).to.be.greaterThan(5);
    // The whole-run scan (test/hooks.ts) knows secrets only by their shape: every token, session
    // token, OAuth client secret and access token minted here has it.
    const minted = [...knownSecrets()].filter((s) => /^rs[tc]_/.test(s));
    expect(minted.filter((s) => s.startsWith('rst_')).length).to.be.greaterThan(2);
    expect(minted.filter((s) => s.startsWith('rsc_')).length).to.be.greaterThan(0);
    for (const s of minted) expect(hasSecretShape(s), `${s.slice(0, 4)}… has no secret shape`).to.equal(true);
  });
});

after(async function () {
  // Root hook: after every suite of the run, the robustness app's whole log is clean.
  await closeRobustServer();
  const leaked = leakedLines();
  if (leaked.length) throw new Error(`secrets in ${leaked.length} log line(s) of the robustness app, e.g.:\n${leaked.slice(0, 3).join('\n')}`);
});
