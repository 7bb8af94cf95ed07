import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { redactUrl } from '../../logger';

declare module 'http' {
  interface IncomingMessage {
    /** The request id: a sane X-Request-Id of the client's, or a new UUID. */
    id: string;
    /** The app's logger; callers add `reqId: req.id` to what they log. */
    log: Logger;
  }
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Request ids and one access-log line per request, `{req: {id, method, url, remoteAddress},
 * res: {statusCode}, responseTime}` "request completed" (URL secrets redacted, no headers), with
 * `tenantId` and `tokenId` once the request authenticated (ids, never a secret): who did what, for
 * an operator reading the log.
 *
 * This replaced pino-http, which binds a child logger with the serialized request on every
 * request whether or not anything is logged (~5% of a small request's CPU in the benchmark);
 * here the line is built only when its level is enabled, and `req.log` is the app's logger.
 */
export function requestLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    req.id = id;
    req.log = logger;
    res.setHeader('X-Request-Id', id);
    const started = Date.now();
    // 'close' follows 'finish' on every response; a response that never finished was cut off.
    res.once('close', () => {
      const status = res.statusCode;
      const aborted = !res.writableFinished;
      // 501 is a designed answer (/scim/v2/Me for a token that acts as no user), not a failure.
      const level = aborted ? 'warn' : status >= 500 && status !== 501 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const who = req.principal ? { tenantId: req.principal.tenantId, tokenId: req.principal.operator ? null : req.principal.tokenId } : {};
      logger[level](
        {
          req: { id, method: req.method, url: redactUrl(req.originalUrl), remoteAddress: req.ip },
          res: { statusCode: status },
          responseTime: Date.now() - started,
          ...who,
        },
        aborted ? 'request aborted' : 'request completed',
      );
    });
    next();
  };
}
