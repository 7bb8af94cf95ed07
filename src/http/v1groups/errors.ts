import type { NextFunction, Request, Response } from 'express';
import { logUnexpected, normalizeError, retryAfterOf, statusOf } from '../common/errors';

/** Stable v1 error codes per domain error code. */
const codeOf: Record<string, string> = {
  invalid_input: 'BAD_REQUEST',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  method_not_allowed: 'METHOD_NOT_ALLOWED',
  already_exists: 'CONFLICT',
  conflict: 'CONFLICT',
  version_mismatch: 'CONFLICT',
  payload_too_large: 'PAYLOAD_TOO_LARGE',
  unsupported_media_type: 'UNSUPPORTED_MEDIA_TYPE',
  rate_limited: 'TOO_MANY_REQUESTS',
  service_unavailable: 'SERVICE_UNAVAILABLE',
};

/**
 * The v1 error body: { code, message, status, requestId, details? }. The document names only
 * status codes; the body is ours, with a stable upper-case code per kind of failure.
 */
export function v1ErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json({ code: 'INTERNAL_ERROR', message: 'An internal error occurred', status: 500, requestId: String(req.id) });
      return;
    }
    const status = statusOf[domain.code] ?? 400;
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="roster"');
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    const details = Object.keys(domain.details).length ? { details: domain.details } : {};
    // CASE: name what was not found ("group not found: 17, 18").
    const message = domain.code === 'not_found' && domain.details.id !== undefined ? `${domain.message}: ${String(domain.details.id)}` : domain.message;
    res.status(status).json({ code: codeOf[domain.code] ?? 'BAD_REQUEST', message, status, requestId: String(req.id), ...details });
  };
}
