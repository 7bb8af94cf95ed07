import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { appServerClasses, createAppServer } from '../../src/http/common/app-server';

describe('the app server (request/response classes with the app prototypes)', () => {
  function probeApp() {
    const app = express();
    app.get('/probe', (req, res) => {
      res.set('X-Probe', req.get('x-in') ?? '').json({ path: req.path, query: req.query, app: req.app === app });
    });
    return app;
  }

  async function listening(server: http.Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('hands Express requests and responses that already have its prototypes', async () => {
    const app = probeApp();
    const server = createAppServer(app);
    const seen: boolean[] = [];
    server.prependListener('request', (req, res) => {
      seen.push(Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response);
      seen.push(req instanceof http.IncomingMessage, res instanceof http.ServerResponse);
    });
    try {
      const res = await request(await listening(server)).get('/probe?a=1').set('X-In', 'hello').expect(200);
      expect(res.body).to.deep.equal({ path: '/probe', query: { a: '1' }, app: true });
      expect(res.headers['x-probe']).to.equal('hello');
      expect(seen).to.deep.equal([true, true, true, true]);
    } finally {
      server.close();
    }
  });

  it('differs from a plain server only in those prototypes', async () => {
    const app = probeApp();
    const plain = http.createServer(app);
    const seen: boolean[] = [];
    plain.prependListener('request', (req) => seen.push(Object.getPrototypeOf(req) === app.request));
    try {
      await request(await listening(plain)).get('/probe').expect(200);
      expect(seen).to.deep.equal([false]);
    } finally {
      plain.close();
    }
    const { IncomingMessage, ServerResponse } = appServerClasses(app);
    expect(IncomingMessage?.prototype).to.equal(app.request);
    expect(ServerResponse?.prototype).to.equal(app.response);
  });

  it('builds every request and every response on one hidden class each, with fast properties', () => {
    // V8's own view, in a child process allowed its natives syntax: a fresh hidden class per
    // instance (as Reflect.construct with a plain function as new.target made) misses every
    // inline cache in Express and the middlewares.
    const module = path.resolve(__dirname, '../../src/http/common/app-server');
    const code = `
      const net = require('node:net');
      const app = require('express')();
      const { IncomingMessage: Req, ServerResponse: Res } = require(${JSON.stringify(module)}).appServerClasses(app);
      const socket = new net.Socket();
      const [a, b] = [new Req(socket), new Req(socket)];
      const [x, y] = [new Res(a), new Res(b)];
      process.stdout.write(JSON.stringify([%HaveSameMap(a, b), %HaveSameMap(x, y), %HasFastProperties(a), %HasFastProperties(x), Object.getPrototypeOf(a) === app.request, Object.getPrototypeOf(x) === app.response]));`;
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-r', 'ts-node/register/transpile-only', '-e', code], { encoding: 'utf8' });
    expect(JSON.parse(out)).to.deep.equal([true, true, true, true, true, true]);
  });

  it('keeps the app prototypes whole when the classes are made twice', async () => {
    const app = probeApp();
    appServerClasses(app);
    const { IncomingMessage } = appServerClasses(app);
    // Each class keeps its own constructor: the app's earlier prototype lends its methods, not that.
    expect(app.request.constructor).to.equal(IncomingMessage);
    const server = createAppServer(app);
    try {
      const res = await request(await listening(server)).get('/probe?b=2').set('X-In', 'again').expect(200);
      expect(res.body).to.deep.equal({ path: '/probe', query: { b: '2' }, app: true });
      expect(res.headers['x-probe']).to.equal('again');
    } finally {
      server.close();
    }
  });

  it('passes the other server options through', async () => {
    const server = createAppServer(probeApp(), { maxHeaderSize: 1024 });
    try {
      const base = await listening(server);
      await request(base).get('/probe').set('X-In', 'x'.repeat(2048)).expect(431);
      await request(base).get('/probe').set('X-In', 'short').expect(200);
    } finally {
      server.close();
    }
  });
});
