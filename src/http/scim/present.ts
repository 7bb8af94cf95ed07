import type { Request } from 'express';
import type { Group } from '../../domain/groups/group';
import type { NewUser, User, UserGroupRef } from '../../domain/users/user';
import type { CoercedResource, Json, JsonObject } from './resource';
import { SCHEMA } from './schemas';

/** Absolute base URL of the SCIM service for this request (meta.location, $ref). */
export function scimBase(req: Request): string {
  return `${req.protocol}://${req.get('host')}/scim/v2`;
}

/** The weak ETag of a version (RFC 7644 §3.14). */
export const etagOf = (version: number) => `W/"${version}"`;

/** Columns the core keeps outside `resource`. */
const COLUMN_ATTRS = new Set(['userName', 'externalId', 'displayName', 'active']);

/**
 * Copies the user's document attributes into `out`, in document order: `resource` (everything but
 * the column attributes), then userName, externalId, displayName, active. Plain assignments,
 * not object spreads: this runs for every user of every list page.
 */
function assignDocument(out: JsonObject, u: User): JsonObject {
  const resource = u.resource as JsonObject;
  for (const k in resource) {
    // CASE: a stored "__proto__" key stays an own property, as an object spread would keep it.
    if (k === '__proto__') Object.defineProperty(out, k, { value: resource[k], enumerable: true, writable: true, configurable: true });
    else out[k] = resource[k];
  }
  out.userName = u.userName;
  if (u.externalId !== null) out.externalId = u.externalId;
  if (u.displayName !== null) out.displayName = u.displayName;
  out.active = u.active;
  return out;
}

/** The user as a SCIM document without id/meta/groups: what PATCH operates on. */
export function userDocument(u: User): JsonObject {
  return assignDocument({}, u);
}

/** Coerced SCIM input → the core's user fields (full replacement semantics). */
export function userInput(c: CoercedResource): NewUser {
  const resource: JsonObject = {};
  for (const [k, v] of Object.entries(c.core)) if (!COLUMN_ATTRS.has(k)) resource[k] = v;
  for (const [urn, ext] of Object.entries(c.extensions)) resource[urn] = ext;
  return {
    userName: c.core.userName as string,
    externalId: c.externalId ?? null,
    displayName: (c.core.displayName as string | undefined) ?? null,
    active: (c.core.active as boolean | undefined) ?? true,
    resource,
    ...(c.password !== undefined ? { password: c.password } : {}),
  };
}

/** Domain user → SCIM User resource (RFC 7643 §4.1), with its direct groups. */
export function presentUser(u: User, groups: UserGroupRef[] | undefined, base: string): JsonObject {
  const schemas: Json[] = (u.resource as JsonObject)[SCHEMA.enterprise] ? [SCHEMA.user, SCHEMA.enterprise] : [SCHEMA.user];
  const out = assignDocument({ schemas, id: u.id }, u);
  if (groups?.length) out.groups = groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.name, type: 'direct' }));
  out.meta = {
    resourceType: 'User',
    created: u.createdAt.toISOString(),
    lastModified: u.updatedAt.toISOString(),
    location: `${base}/Users/${u.id}`,
    version: etagOf(u.version),
  };
  return out;
}

/** Domain group → SCIM Group resource (RFC 7643 §4.2); with an empty `members` for a streamed list to fill. */
export function presentGroup(g: Group, base: string, withMembers = false): JsonObject {
  return {
    schemas: [SCHEMA.group],
    id: g.id,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    displayName: g.name,
    // The members themselves are streamed in this place (stream.ts: StreamedMembers).
    ...(withMembers ? { members: [] } : {}),
    meta: {
      resourceType: 'Group',
      created: g.createdAt.toISOString(),
      lastModified: g.updatedAt.toISOString(),
      location: `${base}/Groups/${g.id}`,
      version: etagOf(g.version),
    },
  };
}

/** ListResponse (RFC 7644 §3.4.2), with the cursor draft's nextCursor/previousCursor when given. */
export function listResponse(
  resources: JsonObject[],
  page: { totalResults?: number; startIndex?: number; nextCursor?: string; previousCursor?: string },
): JsonObject {
  return {
    schemas: [SCHEMA.listResponse],
    ...(page.totalResults !== undefined ? { totalResults: page.totalResults } : {}),
    itemsPerPage: resources.length,
    ...(page.startIndex !== undefined ? { startIndex: page.startIndex } : {}),
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    ...(page.previousCursor ? { previousCursor: page.previousCursor } : {}),
    Resources: resources,
  };
}
