import pino, { type Logger } from 'pino';

/** Strips secrets from a URL before it is logged (the easydb dialect accepts ?token=; a token pasted anywhere else is recognised by its prefix). */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/([?&](?:token|access_token|password|client_secret)=)[^&]*/gi, '$1[REDACTED]').replace(/rs[tc]_[A-Za-z0-9_-]{16,}/g, '[REDACTED]');
}

/** Structured JSON logs; secrets (Authorization, cookies, tokens in URLs) are never written. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]'],
      censor: '[REDACTED]',
    },
  });
}
