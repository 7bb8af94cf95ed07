import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../../domain/errors';
import { logUnexpected, normalizeError, retryAfterOf, statusOf } from '../common/errors';
import { SCHEMA } from './schemas';

/** scimType values exactly as RFC 7644 Table 9 spells them (plus the cursor draft's). */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor'
  | 'expiredCursor';

/** A protocol-level SCIM error, thrown by the SCIM adapter itself (not by the core). */
export class ScimError extends DomainError {
  readonly code = 'scim';
  constructor(readonly status: number, readonly scimType: ScimType | undefined, detail: string) {
    super(detail);
  }
}

export const invalidValue = (detail: string) => new ScimError(400, 'invalidValue', detail);
export const invalidSyntax = (detail: string) => new ScimError(400, 'invalidSyntax', detail);
export const invalidPath = (detail: string) => new ScimError(400, 'invalidPath', detail);
export const noTarget = (detail: string) => new ScimError(400, 'noTarget', detail);
export const mutability = (detail: string) => new ScimError(400, 'mutability', detail);
export const invalidFilter = (detail: string) => new ScimError(400, 'invalidFilter', detail);

export interface ScimErrorBody {
  schemas: string[];
  status: string;
  scimType?: ScimType;
  detail: string;
}

/** body-parser's error for a request body that is not valid JSON. */
const isJsonParseError = (err: unknown) => typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'entity.parse.failed';

/** Domain error → SCIM status and scimType (RFC 7644 §3.12). */
export function scimErrorOf(err: unknown): { status: number; body: ScimErrorBody } | null {
  const domain = err instanceof ScimError ? err : normalizeError(err);
  if (!domain) return null;
  let status: number;
  let scimType: ScimType | undefined;
  if (domain instanceof ScimError) {
    status = domain.status;
    scimType = domain.scimType;
  } else {
    status = statusOf[domain.code] ?? 400;
    switch (domain.code) {
      case 'invalid_input':
        // CASE: a body that is not JSON at all is a structural error (RFC 7644 Table 9 invalidSyntax).
        if (domain.details.criteria) scimType = 'invalidFilter';
        else if (domain.details.errors || isJsonParseError(err)) scimType = 'invalidSyntax';
        else scimType = 'invalidValue';
        break;
      case 'already_exists':
        scimType = 'uniqueness';
        break;
      case 'version_mismatch':
        status = 412;
        break;
      // payload_too_large: 413 carries no scimType (RFC 7644 §3.7.3); "tooMany" is about filter results.
      default:
        break;
    }
  }
  const body: ScimErrorBody = { schemas: [SCHEMA.error], status: String(status), detail: domain.message };
  if (scimType) body.scimType = scimType;
  return { status, body };
}

/** Sends a SCIM error body with the SCIM media type. */
export function sendScimError(res: Response, status: number, body: ScimErrorBody): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="roster"');
  if ((status === 503 || status === 429) && !res.get('Retry-After')) res.set('Retry-After', '5');
  res.status(status).type('application/scim+json').json(body);
}

/** Renders every error under /scim/v2 as a SCIM Error (string status, scimType). */
export function scimErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const mapped = scimErrorOf(err);
    if (!mapped) {
      logUnexpected(req, err);
      sendScimError(res, 500, { schemas: [SCHEMA.error], status: '500', detail: 'An internal error occurred' });
      return;
    }
    const domain = err instanceof DomainError ? err : normalizeError(err);
    const retryAfter = domain ? retryAfterOf(domain) : undefined;
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    sendScimError(res, mapped.status, mapped.body);
  };
}
