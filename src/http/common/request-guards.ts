import { isUtf8 } from 'node:buffer';
import type { NextFunction, Request, Response } from 'express';
import { InvalidInput, PayloadTooLarge } from '../../domain/errors';

/**
 * Refuses a JSON body that is not valid UTF-8 (RFC 8259 §8.1). The body parser would otherwise
 * replace the bad bytes with U+FFFD and store a corrupted name; used as (part of) the parser's
 * `verify` hook, so the error is a 400 in the dialect's shape and nothing is written.
 */
export function assertUtf8Body(buf: Buffer): void {
  if (!isUtf8(buf)) throw Object.assign(new Error('the request body is not valid UTF-8'), { status: 400, type: 'encoding.invalid' });
}

/** How deeply a JSON body may nest arrays and objects: far more than any document of ours needs. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses a JSON body that nests arrays and objects deeper than MAX_JSON_DEPTH. Free-form
 * fields (Nuxeo `properties`, easydb `frontend_prefs`, v2 images) keep whatever they are given,
 * and a few thousand levels there overflowed the stack of the code that stores them (a 500).
 * One pass over the raw bytes, outside strings, in the parser's `verify` hook: the error is a
 * 400 in the dialect's shape and nothing is written.
 */
export function assertJsonDepth(buf: Buffer, max = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) throw Object.assign(new Error(`the request body nests arrays and objects deeper than ${max} levels`), { status: 400, type: 'entity.too.deep' });
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/** A UTF-16 surrogate without its partner: text that is not Unicode (PostgreSQL would store U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);

/**
 * Whether JSON text holds a `\uD800`–`\uDFFF` escape, the only way a surrogate gets into a body
 * that is valid UTF-8 (an escaped backslash before `u` is a false alarm, which only costs the walk
 * of `rejectLoneSurrogates`). Used in the parser's `verify` hook, on the raw bytes.
 */
export function hasSurrogateEscape(buf: Buffer): boolean {
  for (let i = buf.indexOf('\\u'); i !== -1; i = buf.indexOf('\\u', i + 2)) {
    const [d, x] = [buf[i + 2], buf[i + 3]];
    if ((d === 0x64 || d === 0x44) && x !== undefined && /[89a-fA-F]/.test(String.fromCharCode(x))) return true;
  }
  return false;
}

/**
 * Refuses a JSON body with a lone surrogate in any key or string (RFC 8259 §8.2: such text is not
 * interoperable). The driver would send it to PostgreSQL as U+FFFD, storing a name the client did
 * not send, and jsonb refuses it outright. Walks the parsed body only when the raw text had a
 * surrogate escape (`surrogateEscapes`, set in `verify`); iterative, as bodies may nest deeply.
 */
export function rejectLoneSurrogates(req: Request, _res: Response, next: NextFunction): void {
  if (!(req as Request & { surrogateEscapes?: boolean }).surrogateEscapes) return next();
  const stack: unknown[] = [req.body];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) throw new InvalidInput('the request body is not valid Unicode: a \\uD800-\\uDFFF escape without its pair');
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) stack.push(k, x);
    }
  }
  next();
}

/**
 * express-openapi-validator (5.x on OpenAPI 3.1) coerces `?pageSize=Infinity` or `1e309` to
 * Infinity and lets it through `maximum`, so a handler would page without a bound. Runs after
 * the validator: a non-finite number anywhere in the query is a 400.
 */
export function rejectNonFiniteQuery(req: Request, _res: Response, next: NextFunction): void {
  for (const [name, value] of Object.entries(req.query ?? {})) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v === 'number' && !Number.isFinite(v))) {
      throw new InvalidInput(`query parameter "${name}" must be a finite number`, { errors: [{ path: `/query/${name}`, message: 'must be a finite number' }] });
    }
  }
  next();
}

/**
 * Refuses a body whose Content-Length is over the limit before reading any of it. The body
 * parser would first read the whole declared body off the socket (so a client announcing 10 GB
 * holds the connection until the request timeout) and only then answer 413. The answer closes
 * the connection, so the unread body is never read either.
 */
export function rejectDeclaredOversize(limitBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      res.setHeader('Connection', 'close');
      throw new PayloadTooLarge(`the request body is larger than ${limitBytes} bytes`);
    }
    next();
  };
}

/**
 * express-openapi-validator lets an empty body through a DELETE whose `requestBody` is
 * `required` (the body parser leaves `req.body` undefined). Runs after the validator: an
 * operation that requires a body and got none is a 400, before any handler reads it.
 */
export function requireDeclaredBody(req: Request, _res: Response, next: NextFunction): void {
  const op = (req as Request & { openapi?: { schema?: { requestBody?: { required?: boolean } } } }).openapi?.schema;
  if (op?.requestBody?.required && req.body === undefined) {
    throw new InvalidInput('a request body is required', { errors: [{ path: '/body', message: 'is required' }] });
  }
  next();
}
