import type { Criteria, Scalar } from '../../domain/criteria';
import type { GroupMutation, MemberInput } from '../../domain/memberships/group-directory.service';
import { invalidPath, invalidSyntax, invalidValue, mutability, noTarget } from './errors';
import { canonicalPath, parseFilter } from './filter';
import { coerceValue, declaresSchema, getKey, isObject, type Json, type JsonObject } from './resource';
import { commonAttributes, findAttr, SCHEMA, type AttributeDef, type ResourceKind, resourceSchemas } from './schemas';

/**
 * SCIM PATCH (RFC 7644 §3.5.2). One normaliser accepts what identity providers really send
 * (op names in any case, booleans as strings, dotted or URN-qualified keys in a no-path value,
 * `remove` of `members` with a value list, `"$ref": null`, client-sent `meta`, extra `schemas`
 * URIs, the resource's own `id`); then users are patched as JSON documents and groups are turned
 * into a set-based GroupMutation (members are never loaded to be changed).
 */

export type PatchOpName = 'add' | 'remove' | 'replace';

export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: unknown;
}

export const MAX_PATCH_OPERATIONS = 1000;
/** Longest accepted operation `path` (a value filter of a few dozen terms fits). */
export const MAX_PATH_LENGTH = 1000;

/** Validates a PatchOp body and normalises its operations. */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('the PATCH body must be a JSON object');
  if (!declaresSchema(body, SCHEMA.patchOp)) throw invalidSyntax(`"schemas" must include ${SCHEMA.patchOp}`);
  const opsKey = getKey(body, 'Operations');
  const ops = opsKey ? body[opsKey] : undefined;
  if (!Array.isArray(ops) || !ops.length) throw invalidSyntax('"Operations" must be a non-empty array');
  if (ops.length > MAX_PATCH_OPERATIONS) throw invalidValue(`at most ${MAX_PATCH_OPERATIONS} operations per PATCH`);
  return ops.map((raw, i) => {
    if (!isObject(raw)) throw invalidSyntax(`operation ${i + 1} must be an object`);
    const opKey = getKey(raw, 'op');
    const op = opKey ? raw[opKey] : undefined;
    if (typeof op !== 'string' || !/^(add|remove|replace)$/i.test(op)) throw invalidSyntax(`operation ${i + 1}: "op" must be add, remove or replace`);
    const pathKey = getKey(raw, 'path');
    const path = pathKey ? raw[pathKey] : undefined;
    if (path !== undefined && path !== null && typeof path !== 'string') throw invalidPath(`operation ${i + 1}: "path" must be a string`);
    if (typeof path === 'string' && path.length > MAX_PATH_LENGTH) throw invalidPath(`operation ${i + 1}: "path" is longer than ${MAX_PATH_LENGTH} characters`);
    const valueKey = getKey(raw, 'value');
    const name = op.toLowerCase() as PatchOpName;
    const value = valueKey ? raw[valueKey] : undefined;
    if (name !== 'remove' && value === undefined) throw invalidValue(`operation ${i + 1}: "${name}" needs a value`);
    return { op: name, ...(typeof path === 'string' && path.trim() ? { path: path.trim() } : {}), ...(value !== undefined ? { value } : {}) };
  });
}

// ---------------------------------------------------------------------------------------------
// Paths

export interface PatchPath {
  /** Extension URN when the attribute belongs to an extension. */
  ext?: string;
  /** Attribute name as sent (resolved against the schema later); undefined = the whole extension. */
  attr?: string;
  filter?: Criteria;
  sub?: string;
  /** The path names a schema this service does not have (a custom extension an IdP maps to). */
  unknownSchema?: string;
}

/** Parses `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, with optional URN prefix. */
export function parsePath(text: string): PatchPath {
  let rest = text;
  let filter: Criteria | undefined;
  let sub: string | undefined;
  const open = rest.indexOf('[');
  if (open >= 0) {
    const close = rest.lastIndexOf(']');
    if (close < open) throw invalidPath(`unbalanced brackets in "${text}"`);
    try {
      filter = parseFilter(rest.slice(open + 1, close));
    } catch {
      throw invalidPath(`invalid value filter in "${text}"`);
    }
    const after = rest.slice(close + 1);
    if (after && !/^\.[A-Za-z$][\w$-]*$/.test(after)) throw invalidPath(`invalid path "${text}"`);
    sub = after ? after.slice(1) : undefined;
    rest = rest.slice(0, open);
  }
  const canonical = canonicalPath(rest);
  let ext: string | undefined;
  let attrText = canonical;
  const extension = [SCHEMA.enterprise].find((u) => canonical.toLowerCase().startsWith(u.toLowerCase()));
  if (extension) {
    ext = extension;
    attrText = canonical.slice(extension.length).replace(/^:/, '');
    if (!attrText) {
      if (filter || sub) throw invalidPath(`invalid path "${text}"`);
      return { ext };
    }
  } else if (/^urn:/i.test(canonical)) {
    return { unknownSchema: canonical };
  }
  if (!/^[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?$/.test(attrText)) throw invalidPath(`invalid path "${text}"`);
  const [attr, dotted] = attrText.split('.');
  if (dotted && (filter || sub)) throw invalidPath(`invalid path "${text}"`);
  return { ext, attr, filter, sub: sub ?? dotted };
}

/** Expands a no-path value object into single-attribute operations (dotted and URN keys too). */
function expandNoPath(op: PatchOpName, value: unknown): PatchOperation[] {
  if (!isObject(value)) throw invalidValue(`a "${op}" without a path needs an object value`);
  const out: PatchOperation[] = [];
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'meta') continue;
    if (lower === SCHEMA.enterprise.toLowerCase() && isObject(v)) {
      for (const [k, inner] of Object.entries(v)) out.push({ op, path: `${SCHEMA.enterprise}:${k}`, value: inner });
      continue;
    }
    out.push({ op, path: key, value: v });
  }
  return out;
}

/** Ids are UUIDs, compared without regard to case (a client may send them upper-cased). */
const sameId = (value: unknown, resourceId: string) => typeof value === 'string' && value.toLowerCase() === resourceId.toLowerCase();

// ---------------------------------------------------------------------------------------------
// In-memory evaluation of value filters on multi-valued elements

function compareValues(a: Json | undefined, op: string, b: Scalar, caseExact: boolean): boolean {
  if (b === null) return op === 'eq' ? a === undefined || a === null : op === 'ne' ? a !== undefined && a !== null : false;
  if (a === undefined || a === null) return op === 'ne';
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const bb = typeof b === 'string' ? b.toLowerCase() === 'true' : b;
    return op === 'eq' ? a === bb : op === 'ne' ? a !== bb : false;
  }
  const norm = (x: Json | Scalar) => (typeof x === 'string' && !caseExact ? x.toLowerCase() : x);
  const [l, r] = [norm(a as Json), norm(b)];
  const ls = String(l);
  const rs = String(r);
  switch (op) {
    case 'eq':
      return l === r || ls === rs;
    case 'ne':
      return ls !== rs;
    case 'co':
      return ls.includes(rs);
    case 'sw':
      return ls.startsWith(rs);
    case 'ew':
      return ls.endsWith(rs);
    case 'gt':
      return ls > rs;
    case 'ge':
      return ls >= rs;
    case 'lt':
      return ls < rs;
    case 'le':
      return ls <= rs;
    default:
      return false;
  }
}

/** Whether one element of a multi-valued attribute matches a value filter. */
export function matchesElement(c: Criteria, element: Json, def: AttributeDef): boolean {
  switch (c.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return c.items.every((i) => matchesElement(i, element, def));
    case 'or':
      return c.items.some((i) => matchesElement(i, element, def));
    case 'not':
      return !matchesElement(c.item, element, def);
    case 'any':
      throw invalidPath('value filters cannot be nested');
    case 'pr':
    case 'cmp': {
      const sub = def.type === 'complex' ? findAttr(def.subAttributes, c.field) : c.field.toLowerCase() === 'value' ? def : undefined;
      if (!sub) throw invalidPath(`unknown sub-attribute "${c.field}" of "${def.name}"`);
      const v = isObject(element) ? element[getKey(element, sub.name) ?? sub.name] : def.type !== 'complex' ? element : undefined;
      if (c.op === 'pr') return v !== undefined && v !== null && v !== '';
      return compareValues(v, c.cmp, c.value, sub.caseExact);
    }
  }
}

/** The element a filtered add/replace creates when nothing matched: the filter's `eq` terms. */
function seedFromFilter(c: Criteria | undefined): JsonObject {
  const out: JsonObject = {};
  const visit = (n: Criteria) => {
    if (n.op === 'cmp' && n.cmp === 'eq' && n.value !== null) out[n.field] = n.value;
    if (n.op === 'and') n.items.forEach(visit);
  };
  if (c) visit(c);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Users: PATCH as a JSON document

interface Target {
  container: JsonObject;
  def: AttributeDef;
  key: string;
}

/** The attribute a path names: undefined when it has no value to work on, null when the schema has no such attribute. */
function resolveTarget(doc: JsonObject, kind: ResourceKind, path: PatchPath, create: boolean): Target | undefined | null {
  const { core, extensions } = resourceSchemas[kind];
  let container = doc;
  let defs = core.attributes;
  // CASE: an extension's attribute without its URN (`manager`, `department`, as older Entra ID
  // mappings send them) names it when no core attribute has that name: RFC 7644 §3.10 only says
  // clients SHOULD qualify them, and dropping the change silently lost the manager.
  const extOf = (name: string) =>
    findAttr(core.attributes, name) || findAttr(commonAttributes, name) ? undefined : extensions.find((e) => findAttr(e.attributes, name))?.id;
  const extId = path.ext ?? extOf(path.attr!);
  if (extId) {
    const ext = extensions.find((e) => e.id === extId);
    if (!ext) throw invalidPath(`unknown schema "${path.ext}"`);
    const extKey = getKey(doc, ext.id) ?? ext.id;
    if (!isObject(doc[extKey])) {
      if (!create) return undefined;
      doc[extKey] = {};
    }
    container = doc[extKey] as JsonObject;
    defs = ext.attributes;
  }
  const def = findAttr(defs, path.attr!) ?? (extId ? undefined : findAttr(commonAttributes, path.attr!));
  if (!def) return null;
  return { container, def, key: getKey(container, def.name) ?? def.name };
}

/** JSON text with object keys sorted, so equal values compare equal whatever their key order. */
function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function setPrimaryExclusive(list: Json[], chosen: Set<Json>): void {
  if (![...chosen].some((e) => isObject(e) && e.primary === true)) return;
  for (const e of list) if (isObject(e) && !chosen.has(e) && e.primary === true) e.primary = false;
}

function applyUserOp(doc: JsonObject, op: PatchOperation, resourceId: string): void {
  if (!op.path) {
    if (op.op === 'remove') throw noTarget('"remove" needs a path');
    for (const expanded of expandNoPath(op.op, op.value)) applyUserOp(doc, expanded, resourceId);
    return;
  }
  const path = parsePath(op.path);
  // CASE: an attribute this service does not have is ignored, as POST and PUT ignore it: an IdP
  // mapping a custom attribute must not make every update of the user fail (its deactivation too).
  if (path.unknownSchema) return;
  if (!path.attr) {
    // The whole extension object.
    if (op.op === 'remove') {
      delete doc[getKey(doc, path.ext!) ?? path.ext!];
      return;
    }
    if (!isObject(op.value)) throw invalidValue(`"${path.ext}" must be an object`);
    for (const [k, v] of Object.entries(op.value)) applyUserOp(doc, { op: op.op, path: `${path.ext}:${k}`, value: v }, resourceId);
    return;
  }
  const lowerAttr = path.attr.toLowerCase();
  if (!path.ext && (lowerAttr === 'schemas' || lowerAttr === 'meta')) return;
  if (!path.ext && lowerAttr === 'id') {
    if (op.op !== 'remove' && sameId(op.value, resourceId)) return;
    throw mutability('"id" is readOnly');
  }
  const target = resolveTarget(doc, 'User', path, op.op !== 'remove');
  if (target === null) return;
  if (!target) {
    if (path.filter) throw noTarget(`no value matches "${op.path}"`);
    return;
  }
  const { container, def, key } = target;
  if (def.mutability === 'readOnly') throw mutability(`"${def.name}" is readOnly`);
  const label = op.path;

  if (def.multiValued) {
    const list: Json[] = Array.isArray(container[key]) ? (container[key] as Json[]) : [];
    const subDef = path.sub ? findAttr(def.subAttributes, path.sub) : undefined;
    if (path.sub && !subDef) throw invalidPath(`unknown sub-attribute "${path.sub}" of "${def.name}"`);
    const matched = path.filter ? list.filter((e) => matchesElement(path.filter!, e, def)) : list;

    if (op.op === 'remove') {
      if (path.filter && !matched.length) throw noTarget(`no value matches "${label}"`);
      if (subDef) {
        for (const e of matched) if (isObject(e)) delete e[getKey(e, subDef.name) ?? subDef.name];
      } else if (path.filter) {
        container[key] = list.filter((e) => !matched.includes(e));
      } else if (Array.isArray(op.value)) {
        // CASE: remove with a value list (as IdPs send for members) removes exactly those values.
        const doomed = op.value
          .map((v) => (isObject(v) ? v[getKey(v, 'value') ?? 'value'] : v))
          .filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v))
          .map((v) => String(v).toLowerCase());
        container[key] = list.filter((e) => !(isObject(e) && e.value !== undefined && doomed.includes(String(e.value).toLowerCase())));
      } else {
        delete container[key];
      }
      if (Array.isArray(container[key]) && !(container[key] as Json[]).length) delete container[key];
      return;
    }

    if (subDef) {
      const coerced = coerceValue(subDef, op.value, `${def.name}.${subDef.name}`);
      if (coerced === undefined) return;
      const targets = matched.length ? matched : [seedFromFilter(path.filter)];
      if (!matched.length) list.push(targets[0]);
      for (const e of targets) if (isObject(e)) e[subDef.name] = coerced;
      if (subDef.name === 'primary') setPrimaryExclusive(list, new Set(targets));
      container[key] = list;
      return;
    }
    const values = (coerceValue(def, op.value, def.name) ?? []) as Json[];
    if (path.filter) {
      if (!matched.length) {
        const seeded = values.map((v) => (isObject(v) ? { ...seedFromFilter(path.filter), ...v } : v));
        list.push(...seeded);
        setPrimaryExclusive(list, new Set(seeded));
      } else {
        const replacement = values[0];
        for (const e of matched) if (isObject(e) && isObject(replacement)) Object.assign(e, replacement);
        setPrimaryExclusive(list, new Set(matched));
      }
      container[key] = list;
      return;
    }
    if (op.op === 'replace') {
      container[key] = values;
      return;
    }
    // CASE: stored elements come back from jsonb with their keys reordered; compare key-sorted.
    const known = new Set(list.map(canonicalJson));
    const fresh = values.filter((v) => {
      const key = canonicalJson(v);
      if (known.has(key)) return false;
      known.add(key);
      return true;
    });
    list.push(...fresh);
    setPrimaryExclusive(list, new Set(fresh));
    container[key] = list;
    return;
  }

  if (path.filter) throw invalidPath(`"${def.name}" is not multi-valued`);
  if (op.op === 'remove') {
    if (def.required) throw mutability(`"${def.name}" is required and cannot be removed`);
    if (path.sub) {
      const obj = container[key];
      if (isObject(obj)) delete obj[getKey(obj, path.sub) ?? path.sub];
    } else {
      delete container[key];
    }
    return;
  }
  if (path.sub) {
    if (def.type !== 'complex') throw invalidPath(`"${def.name}" has no sub-attributes`);
    const subDef = findAttr(def.subAttributes, path.sub);
    if (!subDef) throw invalidPath(`unknown sub-attribute "${path.sub}" of "${def.name}"`);
    const obj = (isObject(container[key]) ? container[key] : (container[key] = {})) as JsonObject;
    const v = coerceValue(subDef, op.value, `${def.name}.${subDef.name}`);
    if (v === undefined) delete obj[subDef.name];
    else obj[subDef.name] = v;
    return;
  }
  // CASE: Entra ID sends the enterprise manager as a bare id string.
  const input = def.name === 'manager' && typeof op.value === 'string' ? { value: op.value } : op.value;
  if (def.name === 'password') {
    // CASE: replace with null clears the password, as remove does.
    if (input === null) {
      delete container[key];
      return;
    }
    if (typeof input !== 'string') throw invalidValue('"password" must be a string');
    container[key] = input;
    return;
  }
  if (def.name === 'externalId') {
    // CASE: a number is taken as its text; an object or array is not an id (it used to be stored as "[object Object]").
    if (input === null) delete container[key];
    else if (typeof input === 'string' || typeof input === 'number') container[key] = String(input);
    else throw invalidValue('"externalId" must be a string');
    return;
  }
  const v = coerceValue(def, input, def.name);
  if (v === undefined) {
    delete container[key];
  } else if (def.type === 'complex' && isObject(v) && isObject(container[key])) {
    Object.assign(container[key] as JsonObject, v);
  } else {
    container[key] = v;
  }
}

/** Applies PATCH operations to a user document (the full SCIM view, without meta). */
export function patchUserDocument(doc: JsonObject, ops: PatchOperation[], resourceId: string): JsonObject {
  const copy = structuredClone(doc);
  for (const op of ops) applyUserOp(copy, op, resourceId);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Groups: PATCH → GroupMutation

function memberInputs(value: unknown, label: string): MemberInput[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((item, i) => {
    const v = isObject(item) ? item[getKey(item, 'value') ?? 'value'] : item;
    if (typeof v !== 'string' || !v) throw invalidValue(`${label}: member ${i + 1} needs a "value"`);
    const typeKey = isObject(item) ? getKey(item, 'type') : undefined;
    const type = typeKey && isObject(item) ? item[typeKey] : undefined;
    if (type !== undefined && type !== null && (typeof type !== 'string' || !/^(user|group)$/i.test(type))) {
      throw invalidValue(`${label}: member type must be User or Group`);
    }
    return { id: v, ...(typeof type === 'string' ? { kind: type.toLowerCase() as MemberInput['kind'] } : {}) };
  });
}

const idsOf = (list: MemberInput[]) => new Set(list.map((x) => x.id.toLowerCase()));

/** Adds members, cancelling earlier removals of the same ids (operations apply in order). */
function addTo(m: GroupMutation, members: MemberInput[]): void {
  const ids = idsOf(members);
  m.removeMembers = (m.removeMembers ?? []).filter((x) => !ids.has(x.id.toLowerCase()));
  (m.addMembers ??= []).push(...members);
}

/** Removes members, cancelling earlier additions of the same ids. */
function removeFrom(m: GroupMutation, members: MemberInput[]): void {
  const ids = idsOf(members);
  m.addMembers = (m.addMembers ?? []).filter((x) => !ids.has(x.id.toLowerCase()));
  if (m.replaceMembers) m.replaceMembers = m.replaceMembers.filter((x) => !ids.has(x.id.toLowerCase()));
  else (m.removeMembers ??= []).push(...members);
}

/** The root mutation (attribute changes) and the stage membership changes currently go to. */
interface GroupPatchState {
  root: GroupMutation;
  stage: GroupMutation;
}

/** Whether a stage adds members that a later filtered removal would have to see. */
const addsMembers = (m: GroupMutation) => Boolean(m.replaceMembers || m.addMembers?.length);

/** Starts a new stage when the current one has additions a filtered removal must come after. */
function stageForFilteredRemoval(s: GroupPatchState): GroupMutation {
  if (addsMembers(s.stage)) s.stage = s.stage.next = {};
  return s.stage;
}

function applyGroupOp(s: GroupPatchState, op: PatchOperation, resourceId: string): void {
  if (!op.path) {
    if (op.op === 'remove') throw noTarget('"remove" needs a path');
    for (const expanded of expandNoPath(op.op, op.value)) applyGroupOp(s, expanded, resourceId);
    return;
  }
  const path = parsePath(op.path);
  // CASE: attributes a Group does not have (custom or User extensions) are ignored, as POST and PUT ignore them.
  if (path.unknownSchema || path.ext || !path.attr) return;
  const attr = path.attr.toLowerCase();
  const changes = (s.root.changes ??= {});
  switch (attr) {
    case 'schemas':
    case 'meta':
      return;
    case 'id':
      if (op.op !== 'remove' && sameId(op.value, resourceId)) return;
      throw mutability('"id" is readOnly');
    case 'displayname': {
      if (path.filter || path.sub) throw invalidPath(`invalid path "${op.path}"`);
      if (op.op === 'remove') throw mutability('"displayName" is required and cannot be removed');
      if (typeof op.value !== 'string' || !op.value.trim()) throw invalidValue('"displayName" must be a non-empty string');
      changes.name = op.value;
      return;
    }
    case 'externalid': {
      if (path.filter || path.sub) throw invalidPath(`invalid path "${op.path}"`);
      if (op.op === 'remove' || op.value === null) changes.externalId = null;
      else if (typeof op.value === 'string' || typeof op.value === 'number') changes.externalId = String(op.value);
      else throw invalidValue('"externalId" must be a string');
      return;
    }
    case 'members': {
      if (path.sub) throw invalidPath(`"${op.path}": members can only be added, removed or replaced whole`);
      if (path.filter) {
        // Validate the filter's attributes now; it runs as SQL over the membership rows.
        const check = (c: Criteria): void => {
          if (c.op === 'and' || c.op === 'or') c.items.forEach(check);
          else if (c.op === 'not') check(c.item);
          else if ((c.op === 'cmp' || c.op === 'pr') && !/^(value|type)$/i.test(c.field)) throw invalidPath(`members can be filtered by value and type only`);
        };
        check(path.filter);
        if (op.op === 'add') {
          addTo(s.stage, memberInputs(op.value, op.path));
          return;
        }
        // CASE: members added earlier in this request must be seen by the filter, so it runs after them.
        const m = stageForFilteredRemoval(s);
        m.removeMembersWhere = m.removeMembersWhere ? { op: 'or', items: [m.removeMembersWhere, path.filter] } : path.filter;
        // CASE: a filtered replace on members: the matched members go, the given ones come.
        if (op.op === 'replace') addTo(m, memberInputs(op.value, op.path));
        return;
      }
      const m = s.stage;
      if (op.op === 'add') {
        addTo(m, memberInputs(op.value, op.path));
      } else if (op.op === 'replace') {
        m.replaceMembers = memberInputs(op.value, op.path);
        m.addMembers = [];
        m.removeMembers = [];
        m.removeMembersWhere = undefined;
      } else if (op.value === undefined || op.value === null) {
        m.replaceMembers = [];
        m.addMembers = [];
        m.removeMembers = [];
        m.removeMembersWhere = undefined;
      } else {
        // CASE: remove `members` with a value list removes exactly those (Entra ID, Okta).
        removeFrom(m, memberInputs(op.value, op.path));
      }
      return;
    }
    default:
      if (findAttr(resourceSchemas.Group.core.attributes, path.attr) || findAttr(commonAttributes, path.attr)) throw mutability(`"${path.attr}" cannot be changed`);
      return;
  }
}

/** Turns group PATCH operations into one GroupMutation (applied atomically by the core). */
export function groupMutationFromPatch(ops: PatchOperation[], resourceId: string): GroupMutation {
  const root: GroupMutation = {};
  const state: GroupPatchState = { root, stage: root };
  for (const op of ops) applyGroupOp(state, op, resourceId);
  return root;
}
