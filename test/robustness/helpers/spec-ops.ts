import { loadSpec, requiredRights, type OpenApiDocument } from '../../../src/spec';

/**
 * Every operation of spec/openapi.yaml with its parameters and request body resolved, so the
 * robustness suites iterate over the contract itself: an operation added to the spec is fuzzed
 * and isolation-tested without touching the tests.
 */

export const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type Method = (typeof METHODS)[number];

export type Schema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
  example?: unknown;
  allowEmptyValue?: boolean;
}

export interface Operation {
  method: Method;
  path: string;
  operationId: string;
  /** Path, query and header parameters, shared path-level ones included. */
  params: Parameter[];
  pathParams: Parameter[];
  body?: { required: boolean; types: string[]; schema?: Schema; example?: unknown };
  /** null: no authentication; otherwise alternatives of right sets (see src/spec.ts). */
  rights: string[][] | null;
  /** "scim", "v2", "v1", "nuxeo", "easydb", "oauth" or "other", from the path. */
  dialect: string;
  name: string;
}

/** Resolves a local JSON pointer ($ref: '#/components/...'). */
export function resolveRef<T = Schema>(doc: OpenApiDocument, value: unknown): T {
  let v = value as Record<string, unknown> | undefined;
  for (let guard = 0; v && typeof v.$ref === 'string' && guard < 20; guard++) {
    const parts = (v.$ref as string).replace(/^#\//, '').split('/');
    v = parts.reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc) as Record<string, unknown>;
  }
  return v as T;
}

/** The dialect an operation belongs to, by mount point (DESIGN.md's table). */
export function dialectOf(path: string): string {
  if (path.startsWith('/scim/v2')) return 'scim';
  if (path.startsWith('/api/v2') || path.startsWith('/v2/')) return 'v2';
  if (path.startsWith('/api/v1/groups') || path.startsWith('/api/v1/permissions')) return 'v1';
  if (path.startsWith('/api/v1/group') || path.startsWith('/api/v1/session')) return 'easydb';
  if (path === '/group' || path.startsWith('/group/')) return 'nuxeo';
  if (path.startsWith('/oauth')) return 'oauth';
  return 'other';
}

let cache: Operation[] | undefined;

/** All operations of the spec, in document order. */
export function operations(): Operation[] {
  if (cache) return cache;
  const doc = loadSpec();
  const out: Operation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths)) {
    const item = rawItem as Record<string, unknown>;
    const shared = ((item.parameters as unknown[]) ?? []).map((p) => resolveRef<Parameter>(doc, p));
    for (const method of METHODS) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const own = ((op.parameters as unknown[]) ?? []).map((p) => resolveRef<Parameter>(doc, p));
      const params = [...own, ...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in))];
      const rb = resolveRef<{ required?: boolean; content?: Record<string, { schema?: Schema; example?: unknown }> } | undefined>(doc, op.requestBody);
      const content = rb?.content ?? {};
      const types = Object.keys(content);
      const firstWithExample = types.find((t) => content[t].example !== undefined) ?? types[0];
      out.push({
        method,
        path,
        operationId: String(op.operationId),
        params,
        pathParams: params.filter((p) => p.in === 'path'),
        ...(types.length
          ? { body: { required: Boolean(rb?.required), types, schema: content[firstWithExample]?.schema, example: content[firstWithExample]?.example } }
          : {}),
        rights: requiredRights(doc, op),
        dialect: dialectOf(path),
        name: `${method.toUpperCase()} ${path}`,
      });
    }
  }
  cache = out;
  return out;
}

/** Lone surrogates → U+FFFD (what a browser sends for them). */
export function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** encodeURIComponent that never throws. */
export function enc(value: string): string {
  return encodeURIComponent(wellFormed(value));
}

/** Fills a path template: each `{param}` gets `value(param)`, URI-encoded. */
export function fillPath(op: Operation, value: (p: Parameter) => string): string {
  return op.pathParams.reduce((url, p) => url.replace(`{${p.name}}`, enc(value(p))), op.path);
}

/** Resolves a schema's $ref and allOf into one object schema (enough for generating values). */
export function flattenSchema(schema: unknown, depth = 0): Schema {
  const doc = loadSpec();
  const s = resolveRef<Schema>(doc, schema) ?? {};
  if (depth > 8 || !Array.isArray(s.allOf)) return s;
  const merged: Schema = { type: 'object', properties: {}, required: [] };
  for (const part of s.allOf as unknown[]) {
    const f = flattenSchema(part, depth + 1);
    Object.assign(merged.properties as Schema, (f.properties as Schema) ?? {});
    (merged.required as string[]).push(...((f.required as string[]) ?? []));
    if (f.additionalProperties === false) merged.additionalProperties = false;
  }
  return merged;
}

/** True for operations that list or search (no path id, answer a collection). */
export function isCollectionRead(op: Operation): boolean {
  return (op.method === 'get' && op.pathParams.length === 0) || /search/i.test(op.path) || /search/i.test(op.operationId);
}
