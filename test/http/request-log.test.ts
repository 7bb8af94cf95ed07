import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import express from 'express';
import pino from 'pino';
import supertest from 'supertest';
import { requestLog } from '../../src/http/common/request-log';
import { redactUrl } from '../../src/logger';
import { cacheOpenApiRouteMatchers } from '../../src/http/common/route-matcher-cache';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level }, stream) };
}

function appWith(level: string) {
  const { lines, logger } = capture(level);
  const app = express();
  app.use(requestLog(logger));
  app.get('/ok', (req, res) => {
    res.json({ id: req.id, sameLogger: req.log === logger });
  });
  app.get('/authenticated', (req, res) => {
    req.principal = { tenantId: 'tenant-1', tokenId: 'token-1', rights: new Set() };
    res.json({});
  });
  app.get('/missing', (_req, res) => {
    res.status(404).json({});
  });
  app.get('/broken', (_req, res) => {
    res.status(500).json({});
  });
  app.get('/me', (_req, res) => {
    res.status(501).json({});
  });
  return { app, lines };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('request log (one access line per request)', () => {
  it('logs method, redacted URL, status and time, with the request id and never a header', async () => {
    const { app, lines } = appWith('info');
    const res = await supertest(app).get('/ok?token=rst_secretsecretsecretsecret&x=1').set('Authorization', 'Bearer rst_abcdefabcdefabcdefabcdef').set('X-Request-Id', 'req-1').expect(200);
    expect(res.body).to.deep.equal({ id: 'req-1', sameLogger: true });
    expect(res.headers['x-request-id']).to.equal('req-1');
    await settle();
    expect(lines).to.have.length(1);
    const [line] = lines;
    expect(line).to.include({ level: 30, msg: 'request completed', responseTime: line.responseTime });
    expect(line.req).to.deep.include({ id: 'req-1', method: 'GET', url: '/ok?token=[REDACTED]&x=1' });
    expect((line.req as { remoteAddress: string }).remoteAddress).to.match(/127\.0\.0\.1|::1/);
    expect(line).to.not.have.property('tenantId');
    expect(line.res).to.deep.equal({ statusCode: 200 });
    expect(line.responseTime).to.be.a('number').and.at.least(0);
    expect(JSON.stringify(line)).not.to.match(/rst_|Bearer|authorization/i);
  });

  it('names the tenant and the token (their ids) of an authenticated request', async () => {
    const { app, lines } = appWith('info');
    await supertest(app).get('/authenticated').expect(200);
    await settle();
    expect(lines[0]).to.include({ tenantId: 'tenant-1', tokenId: 'token-1' });
  });

  it('redacts secret parameters however their names are written, as the server decodes them', () => {
    const url = '/login?login=carol&%70assword=Secret-1&PASSWORD=Secret-2&pass%77ord=Secret-3&client%5Fsecret=s4&Token=t5&x=%zz&note=password';
    const out = redactUrl(url)!;
    for (const secret of ['Secret-1', 'Secret-2', 'Secret-3', 's4', 't5']) expect(out).to.not.contain(secret);
    expect(out).to.equal('/login?login=carol&%70assword=[REDACTED]&PASSWORD=[REDACTED]&pass%77ord=[REDACTED]&client%5Fsecret=[REDACTED]&Token=[REDACTED]&x=%zz&note=password');
    expect(redactUrl('/no/query')).to.equal('/no/query');
    expect(redactUrl('/p?a=rsc_abcdefabcdefabcdefab')).to.equal('/p?a=[REDACTED]');
  });

  it('logs 4xx as warn, 5xx as error, and 501 (a designed answer) as warn', async () => {
    const { app, lines } = appWith('info');
    await supertest(app).get('/missing').expect(404);
    await supertest(app).get('/broken').expect(500);
    await supertest(app).get('/me').expect(501);
    await settle();
    expect(lines.map((l) => [(l.res as { statusCode: number }).statusCode, l.level])).to.deep.equal([
      [404, 40],
      [500, 50],
      [501, 40],
    ]);
  });

  it('writes nothing for a successful request when the level is above info', async () => {
    const { app, lines } = appWith('warn');
    await supertest(app).get('/ok').expect(200);
    await supertest(app).get('/broken').expect(500);
    await settle();
    expect(lines.map((l) => (l.res as { statusCode: number }).statusCode)).to.deep.equal([500]);
  });
});

describe('validator route matchers (memoized path-to-regexp)', () => {
  it('returns the compiled matcher of a route once per option set, and it still matches', () => {
    cacheOpenApiRouteMatchers();
    const validatorDir = path.dirname(require.resolve('express-openapi-validator'));
    const { pathToRegexp } = require(require.resolve('path-to-regexp', { paths: [validatorDir] })) as {
      pathToRegexp: (p: string, o?: Record<string, unknown>) => { regexp: RegExp; keys: { name: string }[] };
    };
    const a = pathToRegexp('/scim/v2/Users/:id', { sensitive: false, strict: false });
    const b = pathToRegexp('/scim/v2/Users/:id', { sensitive: false, strict: false });
    expect(b).to.equal(a);
    expect(a.keys.map((k) => k.name)).to.deep.equal(['id']);
    expect(a.regexp.exec('/scim/v2/users/abc')?.[1]).to.equal('abc');
    const sensitive = pathToRegexp('/scim/v2/Users/:id', { sensitive: true, strict: false });
    expect(sensitive).not.to.equal(a);
    expect(sensitive.regexp.test('/scim/v2/users/abc')).to.equal(false);
    // An option it does not know is passed through uncached.
    expect(pathToRegexp('/x/:y', { decode: String })).not.to.equal(pathToRegexp('/x/:y', { decode: String }));
  });
});
