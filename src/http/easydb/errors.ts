import type { NextFunction, Request, Response } from 'express';
import { ChangeOwnerOnCreation, CustomTypeRequired, InsufficientRights, NoSystemRight, RightNotFound, SystemGroupUndeletable } from '../../domain/access/access.errors';
import { AlreadyExists, NotFound, VersionMismatch, type DomainError } from '../../domain/errors';
import { SessionNotAuthenticated } from '../../domain/sessions/session.errors';
import { logUnexpected, normalizeError, retryAfterOf } from '../common/errors';

/**
 * The easydb error object: { realm, code, parameters } for user errors, { realm, code,
 * description } for API errors, plus `uuid` for server errors. Every user and API error is
 * HTTP 400 and every server error 500, as the document says; the one exception is a request
 * without any token, which is a 401 with WWW-Authenticate like in every other dialect.
 */
type EasydbError =
  | { status: number; body: { realm: 'user'; code: string; parameters?: Record<string, string> } }
  | { status: number; body: { realm: 'api' | 'server'; code: string; description: string; uuid?: string } };

const user = (code: string, parameters?: Record<string, unknown>): EasydbError => ({
  status: 400,
  body: {
    realm: 'user',
    code: `error.user.${code}`,
    ...(parameters ? { parameters: Object.fromEntries(Object.entries(parameters).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])) } : {}),
  },
});

const api = (code: string, description: string): EasydbError => ({ status: 400, body: { realm: 'api', code: `error.api.${code}`, description } });

/** express-openapi-validator error codes → the easydb API error that says the same. */
function apiCodeOf(raw: unknown): string {
  const e = raw as { type?: string; errors?: { errorCode?: string; message?: string }[] };
  if (e?.type === 'entity.parse.failed') return 'invalid_content';
  const code = e?.errors?.[0]?.errorCode ?? '';
  if (code.startsWith('required')) return 'attribute_expected';
  if (code.startsWith('type')) return 'type_mismatch';
  if (code.startsWith('additionalProperties')) return 'attribute_not_accepted';
  if (code.startsWith('unsupported') || code.startsWith('content-type')) return 'invalid_content';
  return 'invalid_value';
}

/** True when the request carried some token (header, query or form body). */
function presentedToken(req: Request): boolean {
  return Boolean(req.headers.authorization || req.query.token || (req.body as { token?: unknown } | undefined)?.token);
}

function translate(domain: DomainError, raw: unknown, req: Request): EasydbError {
  if (domain instanceof SessionNotAuthenticated) return user('not_authenticated');
  if (domain instanceof NoSystemRight) return user('no_system_right', { right: domain.right, extra_info: domain.extraInfo });
  if (domain instanceof InsufficientRights) return user('insufficient_rights', { operation: domain.operation, type: 'group', ids: domain.ids.join(','), right: domain.right });
  if (domain instanceof RightNotFound) return user('right_not_found', { id: domain.right });
  if (domain instanceof CustomTypeRequired) return user('custom_type_required');
  if (domain instanceof ChangeOwnerOnCreation) return user('change_owner_on_creation');
  if (domain instanceof SystemGroupUndeletable) return user('delete_system_group', { group_id: domain.groupSeq });
  if (domain instanceof VersionMismatch) return user('version_mismatch', { provided: domain.provided, expected: domain.current });
  if (domain instanceof AlreadyExists) return user('integrity_constraint_violation', { constraint: `${domain.resource}.${domain.field}` });
  if (domain instanceof NotFound) {
    if (domain.resource === 'group') return user('group_not_found', { id: domain.details.id });
    if (domain.resource === 'user') return user('user_not_found', { id: domain.details.id });
    return api('invalid_api', `no such API call: ${req.method} ${req.baseUrl}${req.path}`);
  }
  switch (domain.code) {
    case 'unauthenticated':
      return presentedToken(req) ? user('session_not_found') : { status: 401, body: { realm: 'user', code: 'error.user.not_authenticated' } };
    case 'session_not_found':
    case 'username_or_password_empty':
    case 'login_failed':
    case 'login_disabled':
    case 'login_blocked':
    case 'authentication_method_not_allowed':
      return user(domain.code, Object.keys(domain.details).length ? domain.details : undefined);
    case 'method_not_allowed':
      return api('invalid_request_method', domain.message);
    case 'payload_too_large':
    case 'unsupported_media_type':
      return api('invalid_content', domain.message);
    case 'rate_limited':
      return { status: 429, body: { realm: 'api', code: 'error.api.too_many_requests', description: domain.message } };
    case 'service_unavailable':
      return { status: 500, body: { realm: 'server', code: 'error.server.database', description: 'the database is not available', uuid: String(req.id) } };
    case 'invalid_input':
      return api(domain.details.required ? 'attribute_expected' : apiCodeOf(raw), domain.message);
    default:
      return api('generic', domain.message);
  }
}

/** Renders every error under the bag and session paths as an easydb error object. */
export function easydbErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json({ realm: 'server', code: 'error.server.generic', description: 'An internal server error occurred', uuid: String(req.id) });
      return;
    }
    const { status, body } = translate(domain, err, req);
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="roster"');
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    res.status(status).json(body);
  };
}
