import path from 'node:path';
import { expect } from 'chai';
import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import supertest from 'supertest';
import { candidateRoutes, literalPrefix, lookupKey, narrowOpenApiRouteLookup } from '../../src/http/common/route-matcher-cache';
import { loadSpec } from '../../src/spec';

type RouteMap = Record<string, Record<string, unknown>>;
type Apply = (context: { expressRouteMap: RouteMap }, responseApiDoc: unknown) => unknown;

const validatorDir = path.dirname(require.resolve('express-openapi-validator'));
const meta = require(path.join(validatorDir, 'middlewares', 'openapi.metadata.js')) as { applyOpenApiMetadata: Apply };
const pathToRegexpModule = require(require.resolve('path-to-regexp', { paths: [validatorDir] })) as {
  pathToRegexp: (p: string, o?: Record<string, unknown>) => { regexp: RegExp };
};
const { pathToRegexp } = pathToRegexpModule;

describe('validator route lookup (narrowed to the routes a path can match)', () => {
  it('takes the literal start of a route, lowercased, up to its first parameter', () => {
    expect(literalPrefix('/scim/v2/Users/:id')).to.equal('/scim/v2/users/');
    expect(literalPrefix('/scim/v2/Users/.search')).to.equal('/scim/v2/users/.search');
    expect(literalPrefix('/:tenant/x')).to.equal('/');
    expect(literalPrefix('/files/*rest')).to.equal('/files/');
    expect(literalPrefix('/a{/:b}')).to.equal('/a');
  });

  it('keys a path by its first three segments, lowercased, without the query', () => {
    expect(lookupKey('/scim/v2/Users/abc?x=1')).to.equal('/scim/v2/users/');
    expect(lookupKey('/api/v2/groups/1/members')).to.equal('/api/v2/groups/');
    expect(lookupKey('/healthz?probe=1')).to.equal('/healthz');
    expect(lookupKey('/group/Admins')).to.equal('/group/admins');
  });

  it('keeps, in the map order, every route whose literal start fits the key', () => {
    const map: RouteMap = { '/b/:id': {}, '/a/x/:id': {}, '/:any': {}, '/a/x': {}, '/a/y/:id': {} };
    const prefixes = new Map(Object.keys(map).map((r) => [r, literalPrefix(r)]));
    expect(Object.keys(candidateRoutes(map, prefixes, '/a/x/'))).to.deep.equal(['/a/x/:id', '/:any', '/a/x']);
    expect(Object.keys(candidateRoutes(map, prefixes, '/a/'))).to.deep.equal(['/a/x/:id', '/:any', '/a/x', '/a/y/:id']);
  });

  it('finds, for a path of every spec route (any case, trailing slash), the operation the full scan finds', async () => {
    narrowOpenApiRouteLookup();
    let context: { expressRouteMap: RouteMap } | undefined;
    const narrowed = meta.applyOpenApiMetadata;
    meta.applyOpenApiMetadata = (c, r) => {
      context = c;
      return narrowed(c, r);
    };
    try {
      const app = express();
      app.use(
        OpenApiValidator.middleware({
          apiSpec: loadSpec() as never,
          validateRequests: false,
          validateResponses: false,
          validateSecurity: false,
          ignoreUndocumented: true,
        }),
      );
      app.use((req, res) => {
        res.json({ route: (req as unknown as { openapi?: { openApiRoute: string } }).openapi?.openApiRoute ?? null });
      });
      await supertest(app).get('/healthz').expect(200);
      const map = context!.expressRouteMap;
      const routes = Object.keys(map);
      expect(routes.length).to.be.greaterThan(30);
      const firstMatch = (p: string) => routes.find((r) => pathToRegexp(r, { sensitive: false, strict: false }).regexp.test(p));
      let checked = 0;
      for (const route of routes) {
        const sample = route.replace(/:\w+/g, 'p1');
        for (const p of [sample, sample.toUpperCase(), `${sample}/`]) {
          const expected = firstMatch(p);
          expect(expected, p).to.be.a('string');
          const method = Object.keys(map[expected!]).find((k) => /^[A-Z]+$/.test(k))!;
          const res = await supertest(app)[method.toLowerCase() as 'get'](p);
          expect(res.body.route, `${method} ${p}`).to.equal(map[expected!]._openApiRoute);
          checked++;
        }
      }
      expect(checked).to.equal(routes.length * 3);

      // The lookup tests only the routes under the path's first three segments, not all of them.
      const tried: string[] = [];
      const compile = pathToRegexpModule.pathToRegexp;
      pathToRegexpModule.pathToRegexp = (p, o) => {
        tried.push(p);
        return compile(p, o);
      };
      try {
        await supertest(app).get('/scim/v2/Users/p1').expect(200, { route: '/scim/v2/Users/{id}' });
      } finally {
        pathToRegexpModule.pathToRegexp = compile;
      }
      expect(tried.length).to.be.greaterThan(0).and.lessThan(10);
      expect(tried.every((r) => r.toLowerCase().startsWith('/scim/v2/users') || !/^\/[a-z]/i.test(r))).to.equal(true);
    } finally {
      meta.applyOpenApiMetadata = narrowed;
    }
  });
});
