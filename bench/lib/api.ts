/**
 * A small client for seeding and single-request measurements (Node's fetch, keep-alive).
 * Seeding goes through the API itself: SCIM /Bulk with up to 1,000 operations per request for
 * users and groups, SCIM PATCH with large value arrays for members.
 */
import { performance } from 'node:perf_hooks';

export const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  bulk: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
};

export const BULK_MAX = 1000;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
  }
}

export interface Reply {
  status: number;
  text: string;
  ms: number;
  bytes: number;
}

export class Api {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  /** One request, body read to the end; `ms` is the time to the last byte. */
  async send(method: string, path: string, body?: unknown): Promise<Reply> {
    const contentType = path.startsWith('/scim/') ? 'application/scim+json' : 'application/json';
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const t0 = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: this.headers(payload !== undefined ? { 'content-type': contentType } : {}),
        body: payload,
      });
      text = await res.text();
    } catch (err) {
      // undici says only "fetch failed"; the cause (reset, closed, timeout) is what matters.
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new Error(`${method} ${path.split('?')[0]} failed after ${Math.round(performance.now() - t0)} ms${cause}`, { cause: err });
    }
    return { status: res.status, text, ms: performance.now() - t0, bytes: Buffer.byteLength(text) };
  }

  /**
   * A request whose body may be huge: streamed and only measured (bytes, and how often `count`
   * occurs), never held whole.
   */
  async sendStreamed(method: string, path: string, count: string, timeoutMs = 600_000): Promise<{ status: number; ms: number; bytes: number; occurrences: number }> {
    const t0 = performance.now();
    const res = await fetch(this.base + path, { method, headers: this.headers(), signal: AbortSignal.timeout(timeoutMs) });
    let bytes = 0;
    let occurrences = 0;
    let tail = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      const text = tail + decoder.decode(chunk, { stream: true });
      let at = text.indexOf(count);
      while (at >= 0) {
        occurrences++;
        at = text.indexOf(count, at + count.length);
      }
      tail = text.slice(-(count.length - 1));
    }
    return { status: res.status, ms: performance.now() - t0, bytes, occurrences };
  }

  async expect(method: string, path: string, body: unknown, ok: number[], what: string): Promise<Reply> {
    const reply = await this.send(method, path, body);
    if (!ok.includes(reply.status)) throw new HttpError(reply.status, reply.text, what);
    return reply;
  }
}

/** Runs `tasks` with at most `limit` in flight; resolves to their results in order. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

interface BulkOperationResult {
  bulkId?: string;
  status: string;
  location?: string;
  response?: { detail?: string };
}

/** Sends one Bulk request of POSTs; returns the created ids in operation order. */
export async function bulkCreate(api: Api, path: '/Users' | '/Groups', data: Record<string, unknown>[]): Promise<{ ids: string[]; ms: number }> {
  const body = {
    schemas: [SCIM.bulk],
    Operations: data.map((d, i) => ({ method: 'POST', path, bulkId: `b${i}`, data: d })),
  };
  const reply = await api.expect('POST', '/scim/v2/Bulk', body, [200], `Bulk POST ${path}`);
  const results = (JSON.parse(reply.text) as { Operations: BulkOperationResult[] }).Operations;
  const byBulkId = new Map(results.map((r) => [r.bulkId, r]));
  const ids = data.map((_d, i) => {
    const r = byBulkId.get(`b${i}`);
    if (!r || r.status !== '201' || !r.location) {
      throw new Error(`Bulk POST ${path} operation ${i + 1} failed: ${r ? `${r.status} ${r.response?.detail ?? ''}` : 'no result'}`);
    }
    return r.location.slice(r.location.lastIndexOf('/') + 1);
  });
  return { ids, ms: reply.ms };
}

export function userData(userName: string, i: number): Record<string, unknown> {
  return {
    schemas: [SCIM.user],
    userName,
    externalId: `ext-${userName}`,
    name: { givenName: 'Bench', familyName: `User${i}` },
    displayName: `Bench User ${i}`,
    emails: [{ value: `${userName}@example.com`, type: 'work', primary: true }],
    active: true,
  };
}

export const pad = (i: number, width = 7) => String(i).padStart(width, '0');

/** Creates users named `${prefix}${pad(i)}` for i in [from, to) through Bulk; returns ids in order. */
export async function seedUsers(api: Api, prefix: string, from: number, to: number, concurrency: number): Promise<{ ids: string[]; names: string[]; seconds: number }> {
  const names: string[] = [];
  for (let i = from; i < to; i++) names.push(`${prefix}${pad(i)}`);
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += BULK_MAX) chunks.push(names.slice(i, i + BULK_MAX));
  const t0 = performance.now();
  const results = await pool(
    concurrency,
    chunks.map((chunk, c) => () => bulkCreate(api, '/Users', chunk.map((n, k) => userData(n, from + c * BULK_MAX + k)))),
  );
  return { ids: results.flatMap((r) => r.ids), names, seconds: (performance.now() - t0) / 1000 };
}

/** Creates groups with the given display names through Bulk (no members). */
export async function seedGroups(api: Api, names: string[], concurrency: number): Promise<string[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += BULK_MAX) chunks.push(names.slice(i, i + BULK_MAX));
  const results = await pool(
    concurrency,
    chunks.map((chunk) => () => bulkCreate(api, '/Groups', chunk.map((displayName) => ({ schemas: [SCIM.group], displayName })))),
  );
  return results.flatMap((r) => r.ids);
}

export function addMembersBody(ids: string[]): Record<string, unknown> {
  return { schemas: [SCIM.patch], Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] };
}

/** Adds members with SCIM PATCH, `chunk` values per request, one request at a time (same group). */
export async function addMembers(api: Api, groupId: string, ids: string[], chunk: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < ids.length; i += chunk) {
    const reply = await api.expect('PATCH', `/scim/v2/Groups/${groupId}`, addMembersBody(ids.slice(i, i + chunk)), [200, 204], 'PATCH add members');
    times.push(reply.ms);
  }
  return times;
}
