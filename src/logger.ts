import pino, { type Logger } from 'pino';

/** Strips secrets from a URL before it is logged (the easydb dialect accepts ?token=; a token pasted anywhere else is recognised by its prefix). */
const SECRET_PARAMS = new Set(['token', 'access_token', 'password', 'client_secret']);

/** A query parameter's name as the server reads it (percent-decoded, `+` a space); the raw text if it is malformed. */
function paramName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/**
 * A URL fit for the log: the values of secret query parameters replaced, their names compared
 * as the server decodes them (`%70assword=` is a password too), and anything shaped like a
 * Roster token or client secret anywhere.
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  const redacted =
    q < 0
      ? url
      : url.slice(0, q + 1) +
        url
          .slice(q + 1)
          .split('&')
          .map((pair) => {
            const eq = pair.indexOf('=');
            return eq >= 0 && SECRET_PARAMS.has(paramName(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
          })
          .join('&');
  return redacted.replace(/rs[tc]_[A-Za-z0-9_-]{16,}/g, '[REDACTED]');
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
