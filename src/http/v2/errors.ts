import type { NextFunction, Request, Response } from 'express';
import type { DomainError } from '../../domain/errors';
import { logUnexpected, normalizeError, retryAfterOf, statusOf } from '../common/errors';

/** Genesys Cloud error codes per domain error. */
const codeOf: Record<string, string> = {
  invalid_input: 'bad.request',
  unauthenticated: 'authentication.required',
  forbidden: 'missing.any.permissions',
  not_found: 'not.found',
  method_not_allowed: 'method.not.allowed',
  already_exists: 'general.conflict',
  conflict: 'general.conflict',
  version_mismatch: 'version.mismatch',
  payload_too_large: 'request.entity.too.large',
  unsupported_media_type: 'unsupported.media.type',
  rate_limited: 'too.many.requests',
  service_unavailable: 'service.unavailable',
};

/** The Groups v2 error body: { message, code, status, messageParams, contextId, details, errors }. */
function body(status: number, code: string, message: string, req: Request, err?: DomainError) {
  const details = err && Object.keys(err.details).length ? [err.details] : [];
  return { message, code, status, messageParams: {}, contextId: String(req.id), details, errors: [] };
}

/** Renders every error under the v2 mounts in the Groups v2 shape. */
export function v2ErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json(body(500, 'internal.server.error', 'An internal server error occurred', req));
      return;
    }
    const status = statusOf[domain.code] ?? 400;
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="roster"');
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    res.status(status).json(body(status, codeOf[domain.code] ?? 'bad.request', domain.message, req, domain));
  };
}
