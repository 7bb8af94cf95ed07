import { randomBytes } from 'node:crypto';
import type { RawRequest } from './send';
import { enc, fillPath, type Operation, type Parameter } from './spec-ops';
import type { World } from './world';

/**
 * Well-formed requests for any operation of the spec, aimed at a world's objects: the starting
 * point the hostile cases and the isolation suite change one thing of.
 */

export type TargetKind = 'user' | 'group' | 'token' | 'schema' | 'resourceType' | 'other';

/** What a path parameter names, from its name and the path around it. */
export function targetKind(op: Operation, p: Parameter): TargetKind {
  const before = op.path.slice(0, op.path.indexOf(`{${p.name}}`));
  if (/\/Schemas\/$/.test(before)) return 'schema';
  if (/\/ResourceTypes\/$/.test(before)) return 'resourceType';
  if (/user/i.test(p.name) || /\/(Users|user|users)\/$/.test(before)) return 'user';
  if (/token|client/i.test(p.name) || /\/(tokens|clients)\/$/.test(before)) return 'token';
  if (/group/i.test(p.name) || /^(id|uuid)$/.test(p.name)) return 'group';
  return 'other';
}

/** Every form in which a dialect could name this world's objects of a kind. */
export function candidateIds(w: World, kind: TargetKind): string[] {
  if (kind === 'schema') return ['urn:ietf:params:scim:schemas:core:2.0:User'];
  if (kind === 'resourceType') return ['User'];
  if (kind === 'user') return w.users.flatMap((u) => [u.id, String(u.seq), u.userName]);
  if (kind === 'token') return w.tokenIds;
  if (kind === 'other') return ['x'];
  return w.groups.flatMap((g) => [g.id, String(g.seq), ...(g.key ? [g.key] : [])]);
}

/** The id form each dialect uses in paths: integers for v1 and easydb, client keys for Nuxeo, uuids elsewhere. */
export function validId(op: Operation, p: Parameter, w: World, index = 0): string {
  const kind = targetKind(op, p);
  if (kind !== 'user' && kind !== 'group') return candidateIds(w, kind)[0];
  if (kind === 'user') {
    const u = w.users[index % w.users.length];
    return op.dialect === 'nuxeo' ? u.userName : op.dialect === 'v1' || op.dialect === 'easydb' ? String(u.seq) : u.id;
  }
  const g = op.dialect === 'nuxeo' ? w.groups.find((x) => x.key) ?? w.groups[0] : w.groups[index % w.groups.length];
  return op.dialect === 'nuxeo' ? (g.key ?? g.id) : op.dialect === 'v1' || op.dialect === 'easydb' ? String(g.seq) : g.id;
}

/** A random id of the same shape as `id` that names nothing. */
export function unknownLike(id: string): string {
  if (/^\d+$/.test(id)) return String(900_000_000 + (randomBytes(3).readUIntBE(0, 3) % 99_999_999));
  if (/^[0-9a-f-]{36}$/i.test(id)) return `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-4${randomBytes(2).toString('hex').slice(1)}-8${randomBytes(2).toString('hex').slice(1)}-${randomBytes(6).toString('hex')}`;
  if (id.includes('@')) return `nobody-${randomBytes(4).toString('hex')}@example.com`;
  return `nothing-${randomBytes(4).toString('hex')}`;
}

const UNIQUE_KEYS = /^(name|displayName|userName|groupname|grouplabel|login)$/;

/** The spec's example body with names made unique (so repeating a request does not collide). */
export function exampleBody(op: Operation): unknown {
  const suffix = randomBytes(4).toString('hex');
  const walk = (v: unknown, key: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    if (typeof v !== 'string') return v;
    if (UNIQUE_KEYS.test(key)) return v.includes('@') ? `${suffix}.${v}` : `${v}-${suffix}`;
    if (key === 'id' && op.dialect === 'nuxeo') return `${v}-${suffix}`;
    if (key === 'value' && v.includes('@')) return `${suffix}.${v}`;
    return v;
  };
  return walk(op.body?.example ?? (op.body?.types.some((t) => /json/.test(t)) ? {} : undefined), '');
}

/** The first JSON-ish content type of an operation's body. */
export function bodyType(op: Operation): string {
  return op.body?.types.find((t) => /json/.test(t)) ?? op.body?.types[0] ?? 'application/json';
}

/**
 * A well-formed request for the operation against the world: valid path ids, required query
 * parameters from their examples, the example body, and the world's admin token.
 */
export function wellFormed(op: Operation, w: World, opts: { token?: string; path?: (p: Parameter) => string; query?: Record<string, string>; body?: unknown } = {}): RawRequest {
  const url = fillPath(op, opts.path ?? ((p) => validId(op, p, w)));
  const query: Record<string, string> = {};
  for (const p of op.params) {
    if (p.in === 'query' && p.required) query[p.name] = String(p.example ?? (p.schema as { example?: unknown } | undefined)?.example ?? (p.schema as { default?: unknown } | undefined)?.default ?? '1');
  }
  Object.assign(query, opts.query ?? {});
  const qs = Object.entries(query).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const token = opts.token ?? w.admin;
  const body = opts.body !== undefined ? opts.body : op.body ? exampleBody(op) : undefined;
  return {
    op,
    url: qs ? `${url}?${qs}` : url,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    ...(body !== undefined && op.body ? { body: { type: bodyType(op), value: body } } : {}),
  };
}
