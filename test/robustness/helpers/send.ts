import { expect } from 'chai';
import { rapi } from './app';
import { wellFormed, type Operation } from './spec-ops';

export { enc } from './spec-ops';

/** A request as the fuzz and isolation suites build it, before it is sent. */
export interface RawRequest {
  op: Operation;
  /** Path and query, already encoded. */
  url: string;
  headers: Record<string, string>;
  /** A JSON value (serialised for the content type) or raw text/bytes sent as they are. */
  body?: { type: string; value?: unknown; raw?: string | Buffer };
}

export interface Answer {
  status: number;
  text: string;
  body: unknown;
  headers: Record<string, string>;
  ms: number;
}


/** Serialises a body for its content type. */
export function serialise(body: NonNullable<RawRequest['body']>): string | Buffer {
  if (body.raw !== undefined) return body.raw;
  if (/x-www-form-urlencoded/.test(body.type)) {
    const v = body.value;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return new URLSearchParams(Object.entries(v).map(([k, x]): [string, string] => [wellFormed(k), wellFormed(typeof x === 'string' ? x : (JSON.stringify(x) ?? ''))])).toString();
    }
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
  }
  return JSON.stringify(body.value) ?? 'null';
}

/** The longest any request may take before the suite calls it a hang. */
export const HANG_MS = Number(process.env.ROBUSTNESS_HANG_MS ?? 10_000);

/** Sends a request to the robustness app and collects the answer (never throws on HTTP errors). */
export async function send(r: RawRequest): Promise<Answer> {
  const started = Date.now();
  let req = (await rapi())[r.op.method](r.url).timeout(HANG_MS).buffer(true).ok(() => true);
  for (const [k, v] of Object.entries(r.headers)) req = req.set(k, v);
  // The body goes out exactly as serialised (superagent would JSON-encode a Buffer as an object).
  if (r.body) req = req.set('Content-Type', r.body.type).serialize((x: unknown) => x as string).send(serialise(r.body) as string);
  const res = await req;
  let body: unknown = res.body;
  if ((body === undefined || (typeof body === 'object' && body !== null && !Object.keys(body).length)) && res.text) {
    try {
      body = JSON.parse(res.text);
    } catch {
      body = res.text;
    }
  }
  return { status: res.status, text: res.text ?? '', body, headers: res.headers as Record<string, string>, ms: Date.now() - started };
}

/** Describes a request for failure messages (bodies cut short). */
export function describeRequest(r: RawRequest): string {
  const body = r.body ? ` ${r.body.type} ${String(serialise(r.body)).slice(0, 400)}` : '';
  return `${r.op.method.toUpperCase()} ${r.url.slice(0, 300)} ${JSON.stringify(r.headers)}${body}`;
}

/** Asserts an error answer is in the dialect's documented error shape. */
export function expectDialectError(dialect: string, a: Answer, context: string): void {
  if (a.status < 400) return;
  const b = (a.body ?? {}) as Record<string, unknown>;
  const msg = `${context} → ${a.status} ${a.text.slice(0, 300)}`;
  switch (dialect) {
    case 'scim':
      expect(a.headers['content-type'], msg).to.match(/^application\/scim\+json/);
      expect(b.schemas, msg).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(b.status, msg).to.equal(String(a.status));
      break;
    case 'v2':
      expect(b, msg).to.include({ status: a.status });
      expect(b.code, msg).to.be.a('string');
      expect(b.message, msg).to.be.a('string');
      break;
    case 'v1':
      expect(b, msg).to.include({ status: a.status });
      expect(b.code, msg).to.be.a('string').and.match(/^[A-Z_]+$/);
      break;
    case 'nuxeo':
      expect(b, msg).to.include({ 'entity-type': 'exception', status: a.status });
      break;
    case 'easydb':
      expect(b.realm, msg).to.be.oneOf(['user', 'api', 'server']);
      expect(b.code, msg).to.be.a('string').and.match(/^error\./);
      break;
    case 'oauth':
      expect(b.error, msg).to.be.a('string');
      break;
    default:
      expect(a.headers['content-type'] ?? '', msg).to.match(/json/);
  }
}
