import type { Request, Response } from 'express';
import type { Passport } from 'passport';
import { Unauthenticated } from '../domain/errors';
import type { Principal } from '../domain/principal';

/**
 * Runs passport's bearer strategy with a custom callback and resolves the Principal, or throws
 * Unauthenticated so each dialect renders the 401 in its own shape. Only the Authorization
 * header counts: tokens in the query string or body are not accepted (RFC 7644 §7.5.2).
 */
export function authenticate(passport: InstanceType<typeof Passport>, req: Request, res: Response): Promise<Principal> {
  const header = req.headers.authorization;
  if (!header) return Promise.reject(new Unauthenticated('authentication required: send Authorization: Bearer <token>'));
  if (!/^Bearer\s+\S+$/i.test(header)) return Promise.reject(new Unauthenticated('the Authorization header must be "Bearer <token>"'));
  return new Promise((resolve, reject) => {
    passport.authenticate('bearer', { session: false }, (err: unknown, principal: Principal | false) => {
      if (err) return reject(err);
      if (!principal) return reject(new Unauthenticated('the token is unknown, revoked or expired'));
      resolve(principal);
    })(req, res, reject);
  });
}
