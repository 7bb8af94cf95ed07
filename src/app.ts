import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { Passport } from 'passport';
import type { Logger } from 'pino';
import { bearerStrategy } from './auth/bearer-strategy';
import { enforceSecurity } from './auth/require-rights';
import type { Deps } from './container';
import { checkReady } from './db/migrate';
import { defaultErrorHandler } from './http/common/default-errors';
import { NotFound } from './domain/errors';
import { tokenRuntimeOf } from './domain/tokens/token-runtime';
import { changesRouter } from './http/changes/router';
import { cors, securityHeaders } from './http/common/hardening';
import { rateLimit } from './http/common/rate-limit';
import { requestLog } from './http/common/request-log';
import { docsRouter } from './http/docs/router';
import { tokensRouter } from './http/tokens/router';
import { createOps, type Ops } from './ops/ops';
import { assertJsonDepth, assertUtf8Body, hasSurrogateEscape, rejectDeclaredOversize, rejectLoneSurrogates, rejectNonFiniteQuery, requireDeclaredBody } from './http/common/request-guards';
import { v2ErrorHandler } from './http/v2/errors';
import { v2Router, v2UuidRouter } from './http/v2/router';
import { v1ErrorHandler } from './http/v1groups/errors';
import { v1GroupsRouter, v1PermissionsRouter } from './http/v1groups/router';
import { nuxeoErrorHandler } from './http/nuxeo/errors';
import { nuxeoRouter } from './http/nuxeo/router';
import { easydbErrorHandler } from './http/easydb/errors';
import { easydbGroupRouter, easydbSessionRouter } from './http/easydb/router';
import { oauthErrorHandler, tokenHandler } from './http/oauth/token.handler';
import { scimErrorHandler } from './http/scim/errors';
import { scimMediaType } from './http/scim/media';
import { scimRouter } from './http/scim/router';
import { VALIDATES_RESPONSES } from './http/common/json-text';
import { cacheOpenApiRouteMatchers, narrowOpenApiRouteLookup } from './http/common/route-matcher-cache';
import { loadSpec } from './spec';

/** What docsRouter answers: `/`, `/docs` (and its assets), `/openapi.yaml`, `/openapi.json`. */
const DOCS_PATHS = /^\/(?:$|docs(?:\/|$)|openapi\.(?:yaml|json)$)/;

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}

/**
 * Builds the Express app from its dependencies; nothing here listens or reads the environment.
 * Order: security headers, metrics, request id/logging → CORS → rate limit (per token / per
 * address, before any body is read) → parsers → OpenAPI validation → security (spec rights) →
 * docs, metrics, change feed, tokens, dialect routers → per-dialect error renderers by path
 * prefix → default renderer. `ops` (metrics registry, rate-limit store) is one per instance.
 */
export function buildApp(deps: Deps, logger: Logger, ops: Ops = createOps(deps)): Express {
  const { config, db, services } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No body-hash ETags: a SCIM resource's ETag is its version (set by its handler); hashing every
  // JSON body (a page of 100 users included) cost CPU for a validator no client of ours uses.
  app.set('etag', false);
  // Handlers that send JSON text (sendJsonText) hand it to the validator as an object when it checks responses.
  app.set(VALIDATES_RESPONSES, config.validateResponses);
  app.set('query parser', 'simple');
  // Read by the SCIM presenters (scimBase): absolute URLs on PUBLIC_URL rather than the Host header.
  if (config.publicUrl) app.locals.publicUrl = config.publicUrl;
  app.set('trust proxy', config.ops.trustProxy);
  app.use(securityHeaders());
  // Answers are about a tenant's identities and are not for shared caches or the browser's disk;
  // the documentation may be cached (its own headers).
  app.use((req, res, next) => {
    if (!DOCS_PATHS.test(req.path)) res.set('Cache-Control', 'no-store');
    next();
  });
  app.use(ops.metrics.observe);

  app.use(requestLog(logger));

  app.use(cors(config.ops.corsOrigins));
  // CASE: with METRICS_PORT set, metrics are served on that listener only.
  if (config.ops.metricsPort !== undefined) {
    app.use('/metrics', () => {
      throw new NotFound('resource');
    });
  }
  // Before body parsing: a refused request costs one counter update and nothing else.
  app.use(rateLimit(ops.rateLimitStore, { token: config.ops.rateLimit, unauth: config.ops.rateLimitUnauth, syncMs: config.ops.rateLimitSyncMs }, logger));

  // CASE: SCIM clients send trailing slashes (/Users/); the spec has none.
  app.use('/scim/v2', (req, _res, next) => {
    const [path, query] = splitUrl(req.url);
    if (path.length > 1 && path.endsWith('/')) req.url = path.replace(/\/+$/, '') + query;
    next();
  });
  app.use('/scim/v2', scimMediaType);

  const limit = config.bodyLimitBytes;
  app.use(rejectDeclaredOversize(limit));
  app.use(
    express.json({
      limit,
      type: ['application/json', 'application/*+json'],
      verify: (req, _res, buf) => {
        (req as Request & { rawBodyLength?: number }).rawBodyLength = buf.length;
        assertUtf8Body(buf);
        assertJsonDepth(buf);
        (req as Request & { surrogateEscapes?: boolean }).surrogateEscapes = hasSurrogateEscape(buf);
      },
    }),
  );
  app.use(rejectLoneSurrogates);
  app.use(express.urlencoded({ limit, extended: false }));

  cacheOpenApiRouteMatchers();
  narrowOpenApiRouteLookup();
  app.use(
    OpenApiValidator.middleware({
      apiSpec: loadSpec() as never,
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false },
      validateResponses: config.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: false,
      ignoreUndocumented: false,
    }),
  );
  app.use(rejectNonFiniteQuery);
  app.use(requireDeclaredBody);

  const passport = new Passport();
  passport.use(bearerStrategy(services.tokens));
  // Verified tokens are cached while this process listens for revocations (server.ts stops it).
  tokenRuntimeOf(db).listen(logger, { ttlSeconds: config.tokenCacheTtlSeconds });
  // No passport.initialize(): authenticate() sets up what it needs itself since passport 0.6, and
  // the custom callback never logs in a session.
  app.use(enforceSecurity(passport));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (req: Request, res) => {
    try {
      await checkReady(db);
      res.json({ status: 'ok' });
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });

  // The docs router only sees its own paths: every other request skips its layers.
  const docs = docsRouter();
  app.use((req, res, next) => (DOCS_PATHS.test(req.path) ? docs(req, res, next) : next()));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await ops.metrics.render();
    res.type(contentType).send(body);
  });
  app.use('/api/v2/changes', changesRouter(ops.changes));
  app.use('/api/v2/tokens', tokensRouter(services.tokenAdmin));
  app.use('/api/v2', v2Router(services));
  app.use('/v2', v2UuidRouter(services));
  app.use('/api/v1/groups', v1GroupsRouter(deps));
  app.use('/api/v1/permissions', v1PermissionsRouter(deps));
  app.use('/group', nuxeoRouter(deps));
  app.use('/api/v1/group', easydbGroupRouter(deps));
  app.use('/api/v1/session', easydbSessionRouter(deps));
  app.use('/scim/v2', scimRouter(services));
  app.post('/oauth/token', tokenHandler(services));

  // RFC 9110 §15.5.6: a 405 names the methods the resource has (the spec's, as the validator found them).
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err as { status?: number; headers?: { Allow?: unknown } } | null;
    if (e?.status === 405 && typeof e.headers?.Allow === 'string' && e.headers.Allow) res.set('Allow', e.headers.Allow.toUpperCase());
    next(err);
  });
  app.use('/api/v2', v2ErrorHandler());
  app.use('/v2', v2ErrorHandler());
  app.use('/api/v1/groups', v1ErrorHandler());
  app.use('/api/v1/permissions', v1ErrorHandler());
  app.use('/group', nuxeoErrorHandler());
  app.use('/api/v1/group', easydbErrorHandler());
  app.use('/api/v1/session', easydbErrorHandler());
  app.use('/scim/v2', scimErrorHandler());
  app.use('/oauth', oauthErrorHandler());
  app.use(defaultErrorHandler());
  return app;
}
