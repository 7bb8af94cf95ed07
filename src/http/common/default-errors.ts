import type { NextFunction, Request, Response } from 'express';
import { logUnexpected, normalizeError, statusOf } from './errors';

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
    if (status === 503) res.set('Retry-After', '5');
    res.status(status).json({ error: domain.code, message: domain.message, requestId: String(req.id) });
  };
}
