import type { NextFunction, Request, Response } from 'express';
import { logUnexpected, normalizeError, retryAfterOf, statusOf } from '../common/errors';

/**
 * Nuxeo's exception entity: { "entity-type": "exception", status, message }, plus a stable
 * `code` (the domain error code) so clients need not parse messages.
 */
export function nuxeoErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json({ 'entity-type': 'exception', status: 500, code: 'internal_error', message: 'An internal error occurred' });
      return;
    }
    const status = statusOf[domain.code] ?? 400;
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="roster"');
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    const message = domain.code === 'not_found' && domain.details.id !== undefined ? `${domain.message}: ${String(domain.details.id)}` : domain.message;
    res.status(status).json({ 'entity-type': 'exception', status, code: domain.code, message });
  };
}
