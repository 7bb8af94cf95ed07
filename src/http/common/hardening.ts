import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/** helmet's options: a Content-Security-Policy that the API reference (swagger-ui: scripts and
 * styles from /docs, inline styles, data: images) works under. No upgrade-insecure-requests, so
 * a plain-HTTP deployment (a private network, a test) still loads its own assets. */
export const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      'script-src': ["'self'"],
      'style-src': ["'self'", "'unsafe-inline'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'upgrade-insecure-requests': null,
    },
  },
};

type Middleware = (req: Request, res: Response, next: NextFunction) => void;
type HeaderStep = readonly ['set', string, string | number | readonly string[]] | readonly ['remove', string];

/** helmet's headers (HELMET_OPTIONS), decided once: see helmetHeaders. */
export function securityHeaders(): Middleware {
  return helmetHeaders(HELMET_OPTIONS);
}

/** Whether a value holds a function anywhere (helmet calls a directive written as one per request). */
function holdsFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(holdsFunction);
}

/**
 * helmet's middleware for `options`, run once at start-up against a recorder when its answer
 * cannot depend on the request; every response then gets the same headers set and removed, in
 * the same order. helmet is a dozen middlewares, one per header, and writes its
 * Content-Security-Policy afresh on every request: a few per cent of a small request's CPU.
 * Options holding a function (a directive computed per request, a nonce) keep helmet's
 * middleware on every request, as does one that reads the request or the response, or does not
 * call `next` at once without an error.
 */
export function helmetHeaders(options: Parameters<typeof helmet>[0]): Middleware {
  const middleware = helmet(options) as Middleware;
  if (holdsFunction(options)) return middleware;
  const steps: HeaderStep[] = [];
  let pure = true;
  let nextCalled = false;
  const refuse = () => {
    pure = false;
    return undefined;
  };
  const req = new Proxy({}, { get: refuse, has: () => !!refuse(), set: () => !!refuse(), ownKeys: () => (refuse(), []) });
  const res = new Proxy(
    {},
    {
      get: (_t, prop) => {
        if (prop === 'setHeader') return (name: string, value: string | number | readonly string[]) => void steps.push(['set', name, value]);
        if (prop === 'removeHeader') return (name: string) => void steps.push(['remove', name]);
        return refuse();
      },
      has: () => !!refuse(),
      set: () => !!refuse(),
      ownKeys: () => (refuse(), []),
    },
  );
  try {
    middleware(req as Request, res as Response, (err?: unknown) => {
      if (err !== undefined) pure = false;
      nextCalled = true;
    });
  } catch {
    pure = false;
  }
  if (!pure || !nextCalled) return middleware;
  return function replayedHelmetHeaders(_req, res, next) {
    for (const step of steps) {
      // A list is copied: a later res.append must not change what the next response gets.
      if (step[0] === 'set') res.setHeader(step[1], Array.isArray(step[2]) ? [...step[2]] : step[2]);
      else res.removeHeader(step[1]);
    }
    next();
  };
}

const ALLOWED_HEADERS = 'Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id';
const EXPOSED_HEADERS = 'ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id';

/**
 * CORS for the configured origins only (`*` for any); with none configured it does nothing, so
 * browsers keep the same-origin policy. Tokens travel in the Authorization header, never in
 * cookies, so credentials are not allowed. Preflights are answered here, before validation.
 */
export function cors(origins: readonly string[]) {
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!origins.length) return next();
    const origin = req.headers.origin;
    res.vary('Origin');
    if (!origin || !(any || allowed.has(origin.toLowerCase()))) return next();
    res.set('Access-Control-Allow-Origin', any ? '*' : origin);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.set({
        'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
      });
      res.status(204).end();
      return;
    }
    res.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    next();
  };
}
