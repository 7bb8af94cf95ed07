import { invalidValue } from './errors';
import { canonicalPath } from './filter';
import { findAttr, SCHEMA, type AttributeDef, type ResourceKind, resourceSchemas } from './schemas';

/**
 * Input coercion and output projection for SCIM resources, driven by the schema definitions:
 * attribute names are matched case-insensitively and written back in canonical case, readOnly
 * attributes are ignored on input (RFC 7643 §2.2), types and canonical values are checked, and
 * booleans sent as strings ("True") are accepted, as Entra ID sends them.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const MAX_STRING = 65_536;
const MAX_VALUES = 10_000;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a key case-insensitively. */
export function getKey(obj: JsonObject, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

/**
 * Whether a message body's `schemas` (the key in any case) is an array naming `urn` (in any
 * case), as a PatchOp, BulkRequest or SearchRequest must; with `onlyStrings`, an array of
 * nothing but strings.
 */
export function declaresSchema(body: JsonObject, urn: string, onlyStrings = false): boolean {
  const key = getKey(body, 'schemas');
  const schemas = key === undefined ? undefined : body[key];
  if (!Array.isArray(schemas) || (onlyStrings && !schemas.every((s) => typeof s === 'string'))) return false;
  return schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase());
}

/** Coerces one value to an attribute's type; undefined means "unassigned". */
export function coerceValue(def: AttributeDef, value: unknown, path: string, ignoreReadOnly = true): Json | undefined {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    if (items.length > MAX_VALUES) throw invalidValue(`"${path}" has more than ${MAX_VALUES} values`);
    const out = items.map((v) => coerceSingle(def, v, path, ignoreReadOnly)).filter((v): v is Json => v !== undefined);
    if (def.type === 'complex' && findAttr(def.subAttributes, 'primary')) {
      const primaries = out.filter((v) => isObject(v) && v.primary === true).length;
      if (primaries > 1) throw invalidValue(`at most one value of "${path}" may be primary`);
    }
    return out;
  }
  if (Array.isArray(value)) {
    // CASE: some clients wrap a single value in an array; take it when it is the only one.
    if (value.length === 1) return coerceSingle(def, value[0], path, ignoreReadOnly);
    throw invalidValue(`"${path}" is single-valued`);
  }
  return coerceSingle(def, value, path, ignoreReadOnly);
}

function coerceSingle(def: AttributeDef, value: unknown, path: string, ignoreReadOnly: boolean): Json | undefined {
  if (value === null || value === undefined) return undefined;
  switch (def.type) {
    case 'complex': {
      if (!isObject(value)) throw invalidValue(`"${path}" must be an object`);
      const out: JsonObject = {};
      for (const [key, v] of Object.entries(value)) {
        const sub = findAttr(def.subAttributes, key);
        if (!sub || (ignoreReadOnly && sub.mutability === 'readOnly')) continue;
        const coerced = coerceSingle(sub, v, `${path}.${sub.name}`, ignoreReadOnly);
        if (coerced !== undefined) out[sub.name] = coerced;
      }
      return out;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      throw invalidValue(`"${path}" must be a boolean`);
    }
    case 'integer':
    case 'decimal': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n))) {
        throw invalidValue(`"${path}" must be ${def.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return n;
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidValue(`"${path}" must be an xsd:dateTime`);
      return value;
    }
    default: {
      if (typeof value === 'number') value = String(value);
      if (typeof value !== 'string') throw invalidValue(`"${path}" must be a string`);
      if (value.length > MAX_STRING) throw invalidValue(`"${path}" is longer than ${MAX_STRING} characters`);
      if (def.canonicalValues) {
        const canonical = def.canonicalValues.find((c) => c.toLowerCase() === (value as string).toLowerCase());
        if (!canonical) throw invalidValue(`"${path}" must be one of ${def.canonicalValues.join(', ')}`);
        return canonical;
      }
      return value;
    }
  }
}

export interface CoercedResource {
  /** Core attributes in canonical case (id, meta and readOnly attributes dropped). */
  core: JsonObject;
  /** Extension objects by schema URN. */
  extensions: Record<string, JsonObject>;
  externalId?: string;
  /** Write-only password, if one was sent; null when it was sent as null (cleared). */
  password?: string | null;
}

/** An empty array or object: the same state as unassigned (RFC 7643 §2.5), so neither stored nor shown. */
function isEmptyValue(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0;
}

/** A user's multi-valued attribute without its empty elements (`"addresses": [{}]`); group members are checked one by one instead. */
function withoutEmptyElements(def: AttributeDef, v: Json | undefined): Json | undefined {
  return Array.isArray(v) && def.name !== 'members' ? v.filter((e) => !isEmptyValue(e)) : v;
}

/**
 * Coerces a whole resource body (POST/PUT, and a PATCH's result) against its resource type's
 * schemas. Empty arrays and objects (`"roles": []` as Entra ID sends on create, `"name": {}`)
 * are unassigned and left out.
 */
export function coerceResource(kind: ResourceKind, body: unknown): CoercedResource {
  if (!isObject(body)) throw invalidValue('the request body must be a JSON object');
  const { core: coreSchema, extensions } = resourceSchemas[kind];
  const schemasKey = getKey(body, 'schemas');
  if (schemasKey !== undefined) {
    const schemas = body[schemasKey];
    if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) throw invalidValue('"schemas" must be an array of URIs');
    if (!schemas.some((s) => (s as string).toLowerCase() === coreSchema.id.toLowerCase())) {
      throw invalidValue(`"schemas" must include ${coreSchema.id}`);
    }
  }
  const out: CoercedResource = { core: {}, extensions: {} };
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta') continue;
    if (lower === 'externalid') {
      if (value === null) continue;
      if (typeof value !== 'string' && typeof value !== 'number') throw invalidValue('"externalId" must be a string');
      out.externalId = String(value);
      continue;
    }
    const ext = extensions.find((e) => e.id.toLowerCase() === lower);
    if (ext) {
      if (value === null) continue;
      if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object`);
      const extOut: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const def = findAttr(ext.attributes, k);
        if (!def || def.mutability === 'readOnly') continue;
        // CASE: Entra ID sends the manager as a bare id string.
        const input = def.name === 'manager' && typeof v === 'string' ? { value: v } : v;
        const coerced = withoutEmptyElements(def, coerceValue(def, input, `${ext.id}:${def.name}`));
        if (coerced !== undefined && !isEmptyValue(coerced)) extOut[def.name] = coerced;
      }
      if (Object.keys(extOut).length) out.extensions[ext.id] = extOut;
      continue;
    }
    // CASE: a core attribute sent with its URN prefix ("urn:…:core:2.0:User:userName").
    const name = lower.startsWith('urn:') ? canonicalPath(key) : key;
    const def = findAttr(coreSchema.attributes, name);
    if (!def || def.mutability === 'readOnly') continue;
    if (def.mutability === 'writeOnly' && def.name === 'password') {
      if (value === undefined) continue;
      if (value === null) {
        out.password = null;
        continue;
      }
      if (typeof value !== 'string' || !value.length || value.length > 1024) throw invalidValue('"password" must be a string of 1 to 1024 characters');
      out.password = value;
      continue;
    }
    const coerced = withoutEmptyElements(def, coerceValue(def, value, def.name));
    if (coerced !== undefined && !isEmptyValue(coerced)) out.core[def.name] = coerced;
  }
  for (const def of coreSchema.attributes) {
    const v = out.core[def.name];
    if (def.required && (v === undefined || (typeof v === 'string' && !v.trim()))) {
      throw invalidValue(`"${def.name}" is required`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Projection: attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9)

export interface ProjectionPath {
  /** Lower-cased key of the top-level object: a core attribute, or an extension URN. */
  top: string;
  /** Lower-cased attribute inside an extension, when the path names one. */
  inner?: string;
  /** Lower-cased sub-attribute. */
  sub?: string;
}

const ALWAYS = new Set(['id', 'schemas']);

export function parseAttributeList(value: unknown): ProjectionPath[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const raw = (Array.isArray(value) ? value : [value]).flatMap((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)).split(','));
  return raw.map((s) => s.trim()).filter(Boolean).map(toProjectionPath);
}

function toProjectionPath(text: string): ProjectionPath {
  const path = canonicalPath(text);
  const ext = [SCHEMA.enterprise].find((e) => path.toLowerCase().startsWith(e.toLowerCase()));
  if (ext) {
    const rest = path.slice(ext.length + 1);
    if (!rest) return { top: ext.toLowerCase() };
    const [inner, sub] = rest.split('.');
    return { top: ext.toLowerCase(), inner: inner.toLowerCase(), sub: sub?.toLowerCase() };
  }
  const [top, sub] = path.split('.');
  return { top: top.toLowerCase(), sub: sub?.toLowerCase() };
}

function pick(obj: JsonObject, lowerKey: string): string | undefined {
  return Object.keys(obj).find((k) => k.toLowerCase() === lowerKey);
}

function copyPath(from: JsonObject, to: JsonObject, p: ProjectionPath): void {
  const key = pick(from, p.top);
  if (!key) return;
  const value = from[key];
  if (p.inner !== undefined) {
    if (!isObject(value)) return;
    const target = (isObject(to[key]) ? to[key] : (to[key] = {})) as JsonObject;
    copyPath(value, target, { top: p.inner, sub: p.sub });
    if (!Object.keys(target).length) delete to[key];
    return;
  }
  if (p.sub === undefined) {
    to[key] = value;
    return;
  }
  if (Array.isArray(value)) {
    const existing = Array.isArray(to[key]) ? (to[key] as Json[]) : value.map(() => ({}) as Json);
    value.forEach((item, i) => {
      if (!isObject(item)) return;
      const sk = pick(item, p.sub!);
      if (sk) (existing[i] as JsonObject)[sk] = item[sk];
    });
    to[key] = existing;
  } else if (isObject(value)) {
    const sk = pick(value, p.sub);
    if (!sk) return;
    const target = (isObject(to[key]) ? to[key] : (to[key] = {})) as JsonObject;
    target[sk] = value[sk];
  }
}

function deletePath(obj: JsonObject, p: ProjectionPath): void {
  if (ALWAYS.has(p.top) && p.sub === undefined) return;
  const key = pick(obj, p.top);
  if (!key) return;
  if (p.inner !== undefined) {
    const value = obj[key];
    if (isObject(value)) deletePath(value, { top: p.inner, sub: p.sub });
    if (isObject(value) && isEmptyValue(value)) delete obj[key];
    return;
  }
  if (p.sub === undefined) {
    delete obj[key];
    return;
  }
  const value = obj[key];
  for (const item of Array.isArray(value) ? value : [value]) {
    if (!isObject(item)) continue;
    const sk = pick(item, p.sub);
    if (sk) delete item[sk];
  }
  // CASE: a complex value left with nothing is unassigned, not `{}` (excludedAttributes=…manager.value).
  if (isObject(value) && isEmptyValue(value)) delete obj[key];
}

/** Applies `attributes` (only these, plus always-returned ones) or `excludedAttributes`. */
export function project(resource: JsonObject, attributes?: ProjectionPath[], excluded?: ProjectionPath[]): JsonObject {
  if (attributes?.length) {
    const out: JsonObject = {};
    for (const k of Object.keys(resource)) if (ALWAYS.has(k.toLowerCase())) out[k] = resource[k];
    for (const p of attributes) copyPath(resource, out, p);
    return out;
  }
  if (excluded?.length) {
    const out = structuredClone(resource);
    for (const p of excluded) deletePath(out, p);
    return out;
  }
  return resource;
}

/** Whether a projection will show an attribute at all (so it need not be loaded when not). */
export function wants(attrName: string, attributes?: ProjectionPath[], excluded?: ProjectionPath[]): boolean {
  const lower = attrName.toLowerCase();
  if (attributes?.length) return attributes.some((p) => p.top === lower);
  if (excluded?.length) return !excluded.some((p) => p.top === lower && p.sub === undefined);
  return true;
}
