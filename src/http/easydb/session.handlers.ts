import type { Request, Response } from 'express';
import type { SessionsService } from '../../domain/sessions/sessions.service';
import { SessionNotFound } from '../../domain/sessions/session.errors';
import { presentSession } from './present';

/** The session token of a request: `Authorization: Bearer`, `?token=`, or a form body `token`. */
function tokenOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const query = typeof req.query.token === 'string' ? req.query.token : undefined;
  const body = typeof (req.body as { token?: unknown } | undefined)?.token === 'string' ? (req.body as { token: string }).token : undefined;
  return bearer || query || body || undefined;
}

/** A parameter from the query string or, as the document allows, from the form body. */
function param(req: Request, name: string): string | undefined {
  const q = req.query[name];
  if (typeof q === 'string') return q;
  const b = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof b === 'string' ? b : undefined;
}

/** Handlers for /api/v1/session. Session bodies carry a token, so they are never cached. */
export function sessionHandlers(sessions: SessionsService) {
  const send = (res: Response, body: unknown) => res.set('Cache-Control', 'no-store').json(body);

  return {
    /** Without a token: starts a session. With one: returns that session. */
    async get(req: Request, res: Response) {
      const token = tokenOf(req);
      send(res, presentSession(token ? await sessions.describeSession(token) : await sessions.startSession()));
    },

    async authenticate(req: Request, res: Response) {
      const token = tokenOf(req);
      if (!token) throw new SessionNotFound();
      const view = await sessions.authenticate({ token, login: param(req, 'login'), password: param(req, 'password'), method: param(req, 'method'), tenant: param(req, 'tenant') });
      send(res, presentSession(view));
    },

    async deauthenticate(req: Request, res: Response) {
      const token = tokenOf(req);
      if (!token) throw new SessionNotFound();
      send(res, presentSession(await sessions.deauthenticate(token)));
    },
  };
}
