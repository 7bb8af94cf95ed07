import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

/**
 * helmet's headers with a Content-Security-Policy that the API reference (swagger-ui: scripts and
 * styles from /docs, inline styles, data: images) works under. No upgrade-insecure-requests, so
 * a plain-HTTP deployment (a private network, a test) still loads its own assets.
 */
export function securityHeaders() {
  return helmet({
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
  });
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
