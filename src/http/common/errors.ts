import type { Request } from 'express';
import { translateDbError } from '../../db/pg-errors';
import {
  DomainError,
  InvalidInput,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  Unauthenticated,
  UnsupportedMediaType,
} from '../../domain/errors';

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  errors?: { path?: string; message?: string; errorCode?: string }[];
  expose?: boolean;
}

/** Readable summary of validator errors: "body/name must be string; query/pageSize must be <= 500". */
function describeValidation(e: HttpishError): string {
  const items = (e.errors ?? []).map((x) => `${(x.path ?? '').replace(/^\./, '').replace(/\./g, '/')} ${x.message ?? ''}`.trim());
  return items.length ? items.join('; ') : (e.message ?? 'invalid request');
}

/**
 * Turns anything thrown while handling a request into a DomainError a dialect can render, or
 * null when it is unexpected (a bug or an outage): those become a 500 with no internals.
 * Covers body-parser errors, express-openapi-validator errors and database errors.
 */
export function normalizeError(err: unknown): DomainError | null {
  const translated = translateDbError(err);
  if (translated instanceof DomainError) return translated;
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpishError;
  // body-parser (express.json / urlencoded)
  switch (e.type) {
    case 'entity.parse.failed':
      return new InvalidInput('the request body is not valid JSON');
    case 'entity.too.large':
      return new PayloadTooLarge('the request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType('unsupported body encoding or charset');
    case 'encoding.invalid':
      return new InvalidInput('the request body is not valid UTF-8');
    case 'entity.too.deep':
      return new InvalidInput(e.message ?? 'the request body nests too deeply');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new InvalidInput('the request body could not be read');
    default:
      break;
  }
  const status = e.status ?? e.statusCode;
  switch (status) {
    case 400:
      return new InvalidInput(describeValidation(e), { errors: (e.errors ?? []).map((x) => ({ path: x.path, message: x.message })) });
    case 401:
      return new Unauthenticated();
    case 404:
      return new NotFound('resource');
    case 405:
      return new MethodNotAllowed('method not allowed on this resource');
    case 413:
      return new PayloadTooLarge('the request body is too large');
    case 415:
      // CASE: the validator names a missing Content-Type "unsupported media type undefined".
      return new UnsupportedMediaType(
        !e.message || /\bundefined$/.test(e.message)
          ? 'the request body has no Content-Type: send it as application/json (SCIM: application/scim+json)'
          : `${e.message}: send the body as application/json (SCIM: application/scim+json)`,
      );
    default:
      return null;
  }
}

/** HTTP status for each domain error code, shared by dialects that use plain status semantics. */
export const statusOf: Record<string, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  already_exists: 409,
  conflict: 409,
  version_mismatch: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  service_unavailable: 503,
};

/**
 * The integer `Retry-After` (seconds) for an error that asks the client to come back later:
 * a RateLimited error's own delay, 5 for an outage; undefined for everything else.
 * (Okta honours only integer values.)
 */
export function retryAfterOf(err: DomainError): number | undefined {
  if (err instanceof RateLimited) return Math.max(1, Math.ceil(err.retryAfterSeconds));
  if (err.code === 'service_unavailable') return 5;
  return undefined;
}

/** Logs an unexpected error once, with the request id, at error level. */
export function logUnexpected(req: Request, err: unknown): void {
  req.log?.error({ err, reqId: req.id }, 'unexpected error');
}
