import type { NextFunction, Request, Response } from 'express';
import { logUnexpected, normalizeError, retryAfterOf, statusOf } from './errors';

/** Error renderer for paths outside every dialect (health, unknown paths): { error, message }. */
export function defaultErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json({ error: 'internal_error', message: 'An internal error occurred', requestId: String(req.id) });
      return;
    }
    const status = statusOf[domain.code] ?? 400;
    if (status === 401) res.set('WWW-Authenticate', 'Bearer');
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    res.status(status).json({ error: domain.code, message: domain.message, requestId: String(req.id) });
  };
}
