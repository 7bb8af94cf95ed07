import type { NextFunction, Request, Response } from 'express';
import type { Services } from '../../container';
import { DomainError } from '../../domain/errors';
import { logUnexpected, normalizeError, retryAfterOf } from '../common/errors';

/** An OAuth 2.0 error response (RFC 6749 §5.2). */
export class OAuthError extends Error {
  constructor(readonly status: number, readonly error: string, readonly description: string) {
    super(description);
  }
}

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or the body. */
function clientCredentials(req: Request): { id: string; secret: string } {
  const header = req.get('authorization');
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (header && /^basic\s+/i.test(header)) {
    if (body.client_id !== undefined || body.client_secret !== undefined) {
      throw new OAuthError(400, 'invalid_request', 'send the client credentials in one place only');
    }
    const decoded = Buffer.from(header.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError(401, 'invalid_client', 'malformed Basic credentials');
    try {
      return { id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')) };
    } catch {
      throw new OAuthError(401, 'invalid_client', 'malformed Basic credentials');
    }
  }
  if (typeof body.client_id !== 'string' || typeof body.client_secret !== 'string') {
    throw new OAuthError(401, 'invalid_client', 'client authentication is required (HTTP Basic, or client_id and client_secret)');
  }
  return { id: body.client_id, secret: body.client_secret };
}

/** POST /oauth/token — client credentials grant only (RFC 6749 §4.4). */
export function tokenHandler(services: Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.grant_type === undefined) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    if (body.grant_type !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'only the client_credentials grant is supported');
    const { id, secret } = clientCredentials(req);
    let issued;
    try {
      issued = await services.oauth.issueAccessToken(id, secret);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'unauthenticated') throw new OAuthError(401, 'invalid_client', 'invalid client credentials');
      throw err;
    }
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    res.json({ access_token: issued.accessToken, token_type: 'Bearer', expires_in: issued.expiresIn, scope: issued.rights.join(' ') });
  };
}

/** Renders errors under /oauth as RFC 6749 §5.2 error bodies. */
export function oauthErrorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    if (err instanceof OAuthError) {
      if (err.status === 401) res.set('WWW-Authenticate', 'Basic realm="roster"');
      res.status(err.status).json({ error: err.error, error_description: err.description });
      return;
    }
    const domain = normalizeError(err);
    if (!domain) {
      logUnexpected(req, err);
      res.status(500).json({ error: 'server_error', error_description: 'An internal error occurred' });
      return;
    }
    const status = domain.code === 'service_unavailable' ? 503 : domain.code === 'rate_limited' ? 429 : domain.code === 'payload_too_large' ? 413 : domain.code === 'unsupported_media_type' ? 415 : 400;
    const retryAfter = retryAfterOf(domain);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    // CASE: RFC 6749 has no error code for 429; temporarily_unavailable says "come back later".
    res.status(status).json({ error: status === 503 || status === 429 ? 'temporarily_unavailable' : 'invalid_request', error_description: domain.message });
  };
}
