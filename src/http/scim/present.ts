import type { Request } from 'express';
import type { Group } from '../../domain/groups/group';
import type { MemberTemplate } from '../../domain/memberships/member-reads.repository';
import type { NewUser, User, UserGroupRef, UserText } from '../../domain/users/user';
import type { CoercedResource, Json, JsonObject } from './resource';
import { SCHEMA } from './schemas';

/**
 * Absolute base URL of the SCIM service (meta.location, $ref, Location): on PUBLIC_URL when it is
 * set (app.locals.publicUrl), else on the request's scheme and Host header.
 */
export function scimBase(req: Request): string {
  const origin = (req.app.locals as { publicUrl?: string }).publicUrl ?? `${req.protocol}://${req.get('host')}`;
  return `${origin}/scim/v2`;
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

/**
 * Coerced SCIM input → the core's user fields (full replacement semantics). `active` is left
 * out when not sent: a new user is active, a replaced one keeps its state (users.service).
 */
export function userInput(c: CoercedResource): NewUser {
  const resource: JsonObject = {};
  for (const [k, v] of Object.entries(c.core)) if (!COLUMN_ATTRS.has(k)) resource[k] = v;
  for (const [urn, ext] of Object.entries(c.extensions)) resource[urn] = ext;
  return {
    userName: c.core.userName as string,
    externalId: c.externalId ?? null,
    displayName: (c.core.displayName as string | undefined) ?? null,
    ...(c.core.active !== undefined ? { active: c.core.active as boolean } : {}),
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

/** A string's JSON form without its quotes. */
export const jsonInner = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * A SCIM reference (`{"value","$ref","display","type"}`, `display` left out when there is none) as
 * the template PostgreSQL fills for each referenced resource; the request's base URL is escaped here.
 */
export function scimRefTemplate(base: string, resource: 'Users' | 'Groups', type: string): MemberTemplate {
  return { beforeId: '{"value":"', betweenIds: `","$ref":"${jsonInner(`${base}/${resource}/`)}`, afterIds: '"', beforeDisplay: ',"display":', end: `,"type":"${type}"}` };
}

/** How PostgreSQL writes each of a user's groups in presentUserText: as presentUser's `groups` values. */
export const scimGroupRefTemplate = (base: string): MemberTemplate => scimRefTemplate(base, 'Groups', 'direct');

const USER_SCHEMAS = JSON.stringify([SCHEMA.user]);
const USER_SCHEMAS_ENTERPRISE = JSON.stringify([SCHEMA.user, SCHEMA.enterprise]);

/**
 * presentUser's document, as JSON text, from a user read as text (users' listUserTexts with
 * `{ key: SCHEMA.enterprise, groups: scimGroupRefTemplate(base) }`): the same attributes in the
 * same order, the profile's text copied as PostgreSQL wrote it. `baseJson` is the base URL's
 * JSON form without quotes (jsonInner).
 */
export function presentUserText(u: UserText, baseJson: string): string {
  const profile = u.resourceJson.length > 2 ? `,${u.resourceJson.slice(1, -1)}` : '';
  const optional =
    (u.externalId !== null ? `,"externalId":${JSON.stringify(u.externalId)}` : '') + (u.displayName !== null ? `,"displayName":${JSON.stringify(u.displayName)}` : '');
  const groups = u.groupsText ? `,"groups":[${u.groupsText}]` : '';
  return (
    `{"schemas":${u.hasKey ? USER_SCHEMAS_ENTERPRISE : USER_SCHEMAS},"id":"${u.id}"${profile},"userName":${JSON.stringify(u.userName)}${optional},"active":${u.active}${groups}` +
    `,"meta":{"resourceType":"User","created":"${u.created}","lastModified":"${u.lastModified}","location":"${baseJson}/Users/${u.id}","version":"W/\\"${u.version}\\""}}`
  );
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

type ListPage = { totalResults?: number; startIndex?: number; nextCursor?: string; previousCursor?: string };

/** ListResponse (RFC 7644 §3.4.2), with the cursor draft's nextCursor/previousCursor when given. */
export function listResponse(resources: JsonObject[], page: ListPage): JsonObject {
  return { ...listHead(resources.length, page), Resources: resources };
}

/** listResponse as JSON text, around resources already written as JSON text. */
export function listResponseText(resources: string[], page: ListPage): string {
  return `${JSON.stringify(listHead(resources.length, page)).slice(0, -1)},"Resources":[${resources.join(',')}]}`;
}

/** A ListResponse's members before its Resources. */
function listHead(itemsPerPage: number, page: ListPage): JsonObject {
  return {
    schemas: [SCHEMA.listResponse],
    ...(page.totalResults !== undefined ? { totalResults: page.totalResults } : {}),
    itemsPerPage,
    ...(page.startIndex !== undefined ? { startIndex: page.startIndex } : {}),
    ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    ...(page.previousCursor ? { previousCursor: page.previousCursor } : {}),
  };
}
