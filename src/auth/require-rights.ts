import type { NextFunction, Request, Response } from 'express';
import type { Passport } from 'passport';
import { Forbidden } from '../domain/errors';
import type { Principal } from '../domain/principal';
import { satisfiesAny } from '../domain/rights';
import { loadSpec, requiredRights, type OperationObject } from '../spec';
import { authenticate } from './authenticate';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** The principal of an authenticated request (set by `enforceSecurity`). */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('route reached without authentication');
  return req.principal;
}

/**
 * Enforces the matched operation's `security` requirement from the spec: authenticate when it
 * asks for a token, then check that the token's rights satisfy one of the requirement objects.
 * The spec is the only place rights are declared, so enforcement cannot drift from it.
 */
export function enforceSecurity(passport: InstanceType<typeof Passport>) {
  const doc = loadSpec();
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const operation = (req as Request & { openapi?: { schema?: OperationObject } }).openapi?.schema;
    const rights = requiredRights(doc, operation);
    if (rights === null) return next();
    const principal = await authenticate(passport, req, res);
    req.principal = principal;
    if (!satisfiesAny(principal.rights, rights)) {
      const needed = rights.map((set) => set.join(' + ')).filter(Boolean);
      throw new Forbidden(`this operation needs one of the rights: ${needed.join(', ')}`, needed);
    }
    next();
  };
}
