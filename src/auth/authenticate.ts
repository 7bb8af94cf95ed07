import type { Request, Response } from 'express';
import type { Passport } from 'passport';
import { Unauthenticated } from '../domain/errors';
import type { Principal } from '../domain/principal';
import { SessionNotAuthenticated } from '../domain/sessions/session.errors';
import { pendingSessionPrincipal } from '../domain/sessions/sessions.service';

/** The easydb dialect's paths: its document passes the session token as `?token=`. */
const EASYDB_PATHS = /^\/api\/v1\/(?:group|session)(?:\/|$)/i;
/** Session calls that work on a session that is not authenticated yet (and may carry the token in a form body). */
const SESSION_CALLS = /^\/api\/v1\/session\/(?:authenticate|deauthenticate)\/?$/;

/** The `token` an easydb request carries in its query (or, for session calls, its form body). */
function easydbToken(req: Request): string | undefined {
  if (!EASYDB_PATHS.test(req.path)) return undefined;
  const fromQuery = req.query.token;
  if (typeof fromQuery === 'string' && fromQuery) return fromQuery;
  const fromBody = (req.body as { token?: unknown } | undefined)?.token;
  if (SESSION_CALLS.test(req.path) && typeof fromBody === 'string' && fromBody) return fromBody;
  return undefined;
}

/**
 * Runs passport's bearer strategy with a custom callback and resolves the Principal, or throws
 * Unauthenticated so each dialect renders the 401 in its own shape. Only the Authorization
 * header counts (RFC 7644 §7.5.2), except on the easydb paths, whose document requires `?token=`.
 */
export function authenticate(passport: InstanceType<typeof Passport>, req: Request, res: Response): Promise<Principal> {
  const queryToken = req.headers.authorization ? undefined : easydbToken(req);
  if (queryToken) req.headers.authorization = `Bearer ${queryToken}`;
  const header = req.headers.authorization;
  if (!header) return Promise.reject(new Unauthenticated('authentication required: send Authorization: Bearer <token>'));
  const presented = /^Bearer\s+(\S+)$/i.exec(header);
  if (!presented) return Promise.reject(new Unauthenticated('the Authorization header must be "Bearer <token>"'));
  // CASE: RFC 6750 allows any number of spaces after "Bearer" (and rate limiting reads it so);
  // passport-http-bearer splits on one and called the token unknown.
  if (header.length !== presented[1].length + 7 || header.charCodeAt(6) !== 32) req.headers.authorization = `Bearer ${presented[1]}`;
  return new Promise((resolve, reject) => {
    passport.authenticate('bearer', { session: false }, (err: unknown, principal: Principal | false) => {
      // CASE: authenticate/deauthenticate act on sessions that are not authenticated yet.
      if (err instanceof SessionNotAuthenticated && SESSION_CALLS.test(req.path)) return resolve(pendingSessionPrincipal(err));
      if (err) return reject(err);
      if (!principal) return reject(new Unauthenticated('the token is unknown, revoked or expired'));
      resolve(principal);
    })(req, res, reject);
  });
}
