import { InvalidInput } from '../errors';
import { own } from '../own';

/**
 * What a group's members may do on external objects: the object types and, per type, the
 * per-object permissions (Audience Manager's role-based access control). Listed in display order.
 */
export const OBJECT_PERMISSIONS: Record<string, readonly string[]> = {
  SEGMENT: ['READ', 'WRITE', 'CREATE', 'DELETE', 'MAP_TO_MODELS', 'MAP_TO_DESTINATION'],
  TRAIT: ['READ', 'WRITE', 'CREATE', 'DELETE', 'MAP_TO_MODELS', 'MAP_TO_SEGMENTS'],
  DESTINATION: ['READ', 'WRITE', 'CREATE', 'DELETE'],
};

export const OBJECT_TYPES = Object.keys(OBJECT_PERMISSIONS);

/** Most entries one group's permission list may hold. */
export const MAX_PERMISSION_ENTRIES = 10_000;

/** A permission object: permissions of one group (or a union of groups) on one object. */
export interface ObjectPermission {
  objectType: string;
  /** Canonical decimal form, no leading zeros. */
  objectId: string;
  permissions: string[];
}

/** Accepts an object id given as a number or a numeric string; returns its canonical text. */
export function canonicalObjectId(value: unknown): string {
  const text = typeof value === 'number' ? (Number.isSafeInteger(value) && value >= 0 ? String(value) : '') : typeof value === 'string' ? value.trim() : '';
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidInput(`objectId must be a non-negative integer or a numeric string, got ${JSON.stringify(value)}`, { field: 'objectId' });
  }
  return String(Number(text));
}

export function checkObjectType(value: unknown): string {
  if (typeof value !== 'string' || !own(OBJECT_PERMISSIONS, value)) {
    throw new InvalidInput(`unknown objectType ${JSON.stringify(value)} (known: ${OBJECT_TYPES.join(', ')})`, { field: 'objectType' });
  }
  return value;
}

/** Orders permissions as the catalogue lists them, without duplicates. */
export function sortPermissions(objectType: string, permissions: Iterable<string>): string[] {
  const set = new Set(permissions);
  return (own(OBJECT_PERMISSIONS, objectType) ?? []).filter((p) => set.has(p));
}

/**
 * Validates a full permission list: known types, permissions valid for their type, each object
 * at most once. Entries with no permissions are dropped (no permission is the same as no entry).
 */
export function validatePermissionList(entries: unknown): ObjectPermission[] {
  if (!Array.isArray(entries)) throw new InvalidInput('the body must be an array of {objectType, objectId, permissions}');
  if (entries.length > MAX_PERMISSION_ENTRIES) throw new InvalidInput(`at most ${MAX_PERMISSION_ENTRIES} permission objects per group`);
  const seen = new Set<string>();
  const out: ObjectPermission[] = [];
  entries.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new InvalidInput(`entry ${i} must be an object`);
    const { objectType, objectId, permissions } = e as Record<string, unknown>;
    const type = checkObjectType(objectType);
    const id = canonicalObjectId(objectId);
    if (!Array.isArray(permissions)) throw new InvalidInput(`entry ${i}: permissions must be an array`, { field: 'permissions' });
    const allowed = OBJECT_PERMISSIONS[type]; // checkObjectType: an own entry
    const invalid = permissions.filter((p) => typeof p !== 'string' || !allowed.includes(p));
    if (invalid.length) {
      throw new InvalidInput(`invalid permission ${invalid.map((p) => JSON.stringify(p)).join(', ')} for ${type} (valid: ${allowed.join(', ')})`, { field: 'permissions' });
    }
    const key = `${type}:${id}`;
    if (seen.has(key)) throw new InvalidInput(`${type} ${id} is listed more than once`, { field: 'objectId' });
    seen.add(key);
    if (permissions.length) out.push({ objectType: type, objectId: id, permissions: sortPermissions(type, permissions as string[]) });
  });
  return out;
}
