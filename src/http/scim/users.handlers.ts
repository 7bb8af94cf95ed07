import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { GroupViewer } from '../../domain/groups/group';
import type { Principal } from '../../domain/principal';
import type { NewUser, User, UserGroupRef, UserListQuery } from '../../domain/users/user';
import { sendJsonText } from '../common/json-text';
import { encodeCursor, ifMatch, listParams, notModified, paramOf, searchRequestParams, type ListParams } from './params';
import { parsePatchRequest, patchUserDocument, type PatchOperation } from './patch';
import { etagOf, jsonInner, listResponse, listResponseText, presentUser, presentUserText, scimBase, scimGroupRefTemplate, userDocument, userInput } from './present';
import { coerceResource, parseAttributeList, project, wants, type JsonObject } from './resource';
import { SCHEMA } from './schemas';
import { invalidValue } from './errors';


/** Stands in the patched document for a password the operations left alone (no real one holds NUL). */
const PASSWORD_UNCHANGED = '\u0000unchanged';

/**
 * A user PATCH (RFC 7644 §3.5.2) as the full input of a replace: the operations applied to the
 * user's document. The password is write-only, so the document holds a stand-in for it: an
 * operation that removes it (or replaces it with null) clears it, one that sets it sets it.
 * `active` cannot be removed (400): an unassigned `active` would neither keep a user out nor
 * let it in, and taking it as true would undo a deprovisioning.
 */
export function patchedUserInput(current: User, ops: PatchOperation[]): NewUser {
  const patched = patchUserDocument({ ...userDocument(current), password: PASSWORD_UNCHANGED }, ops, current.id);
  if (patched.password === PASSWORD_UNCHANGED) delete patched.password;
  else if (patched.password === undefined) patched.password = null;
  const input = userInput(coerceResource('User', { ...patched, schemas: [SCHEMA.user] }));
  if (input.active === undefined) throw invalidValue('"active" cannot be removed or set to null: replace it with true or false');
  return input;
}

/** attributes/excludedAttributes of a request (query string; names in any case, as on lists). */
export function projectionOf(req: Request) {
  const query = req.query as Record<string, unknown>;
  return { attributes: parseAttributeList(paramOf(query, 'attributes')), excluded: parseAttributeList(paramOf(query, 'excludedAttributes')) };
}

/** Sends one resource with its ETag (and Location on create). */
export function sendResource(res: Response, status: number, body: JsonObject, version: number, location?: string): void {
  res.set('ETag', etagOf(version));
  if (location) res.set('Location', location);
  res.status(status).json(body);
}

interface PageOf<T> {
  items: T[];
  list: { totalResults?: number; startIndex?: number; nextCursor?: string; previousCursor?: string };
}

/**
 * Runs a user list/search (index or cursor pagination) with `read` reading the rows: the page's
 * items and what its ListResponse says about them.
 */
async function userPage<T extends { seq: number }>(
  services: Services,
  p: Principal,
  params: ListParams,
  read: (query: UserListQuery) => Promise<{ users: T[]; tenantTotal?: number }>,
): Promise<PageOf<T>> {
  const cursorMode = params.cursor !== undefined;
  // CASE: a token acting as a user sees (and filters by) only the groups Groups v2 shows it.
  const viewer = await services.groups.viewerOf(p);
  const page = await read({
    ...(viewer ? { viewer } : {}),
    // An unfiltered index page may need the total (see totalOf): the counters ride along.
    withTenantTotal: !cursorMode && !params.criteria,
    criteria: params.criteria,
    sortBy: params.sortBy,
    sortOrder: params.sortOrder,
    offset: cursorMode ? 0 : params.startIndex - 1,
    limit: cursorMode ? params.count + 1 : params.count,
    afterSeq: params.cursor?.afterSeq,
    beforeSeq: params.cursor?.beforeSeq,
    // The total is worked out below, only when the page cannot tell it.
    skipCount: true,
  });
  let items = page.users;
  if (!cursorMode) {
    return { items, list: { totalResults: await totalOf(services, p, params, items.length, page.tenantTotal, viewer), startIndex: params.startIndex } };
  }
  let nextCursor: string | undefined;
  let previousCursor: string | undefined;
  const backwards = params.cursor?.beforeSeq !== undefined;
  const more = items.length > params.count;
  items = backwards ? items.slice(items.length - params.count) : items.slice(0, params.count);
  if (items.length && (more || backwards)) nextCursor = encodeCursor({ a: items[items.length - 1].seq });
  if (items.length && (params.cursor?.afterSeq !== undefined || (backwards && more))) previousCursor = encodeCursor({ b: items[0].seq });
  return { items, list: { nextCursor, previousCursor } };
}

/** Runs a user list/search and renders the ListResponse (index or cursor pagination). */
export async function searchUsers(services: Services, p: Principal, req: Request, params: ListParams): Promise<JsonObject> {
  const base = scimBase(req);
  const withGroups = wants('groups', params.attributes, params.excludedAttributes);
  let groups: Map<string, UserGroupRef[]> | undefined;
  const page = await userPage(services, p, params, async (query) => {
    const found = await services.users.listUsers(p, { ...query, withGroups });
    groups = found.groups;
    return { users: found.items, tenantTotal: found.tenantTotal };
  });
  const resources = page.items.map((u) => project(presentUser(u, groups?.get(u.id), base), params.attributes, params.excludedAttributes));
  return listResponse(resources, page.list);
}

/**
 * Whether a list's documents are whole (no attributes, no excludedAttributes but `groups`):
 * then they are written as text (searchUsersText), the same documents without the objects.
 */
function wholeDocuments(params: ListParams): boolean {
  return !params.attributes?.length && (params.excludedAttributes ?? []).every((x) => x.top === 'groups' && x.sub === undefined);
}

/** searchUsers' ListResponse as JSON text, for whole documents (wholeDocuments): see presentUserText. */
async function searchUsersText(services: Services, p: Principal, req: Request, params: ListParams): Promise<string> {
  const base = scimBase(req);
  const format = { key: SCHEMA.enterprise, groups: wants('groups', params.attributes, params.excludedAttributes) ? scimGroupRefTemplate(base) : undefined };
  const page = await userPage(services, p, params, (query) => services.users.listUserTexts(p, query, format));
  const baseJson = jsonInner(base);
  return listResponseText(
    page.items.map((u) => presentUserText(u, baseJson)),
    page.list,
  );
}

/** Answers a user list/search: as text when its documents are whole, else projected objects. */
async function sendUserList(services: Services, req: Request, res: Response, params: ListParams): Promise<void> {
  const p = principalOf(req);
  if (wholeDocuments(params)) sendJsonText(res, 200, await searchUsersText(services, p, req, params), 'application/scim+json');
  else res.status(200).json(await searchUsers(services, p, req, params));
}

/**
 * totalResults of an index page (RFC 7644 §3.4.2.4). A page shorter than asked for ends the
 * results, so it tells the total by itself (a `userName eq` lookup, the last page); only a full
 * or empty-past-the-end page needs a count, which for an unfiltered list comes from the tenant's
 * counters (no count(*) over the tenant's users).
 */
async function totalOf(services: Services, p: Principal, params: ListParams, found: number, tenantTotal?: number, viewer?: GroupViewer): Promise<number> {
  const offset = params.startIndex - 1;
  if (found < params.count && (found > 0 || offset === 0)) return offset + found;
  if (tenantTotal !== undefined && !params.criteria) return tenantTotal;
  return (await services.users.listUsers(p, { ...(viewer ? { viewer } : {}), criteria: params.criteria, offset: 0, limit: 0 })).total;
}

/** /Users handlers: parse SCIM → core → present (RFC 7644 §3). */
export function usersHandlers(services: Services) {
  /** `known`: the user's groups when the caller already knows them (a user just created has none). */
  async function render(req: Request, p: Principal, u: User, known?: UserGroupRef[]): Promise<JsonObject> {
    const { attributes, excluded } = projectionOf(req);
    const groups = !wants('groups', attributes, excluded) ? undefined : (known ?? (await services.groups.groupsOfUsers(p, [u.id])).get(u.id));
    return project(presentUser(u, groups, scimBase(req)), attributes, excluded);
  }

  /** The id a request addresses: the path id, or the acting user for /Me. */
  const idOf = (req: Request) => String(req.params.id ?? principalOf(req).userId);

  return {
    async list(req: Request, res: Response) {
      await sendUserList(services, req, res, listParams(req.query as Record<string, unknown>));
    },

    async search(req: Request, res: Response) {
      await sendUserList(services, req, res, searchRequestParams(req.body));
    },

    async create(req: Request, res: Response) {
      const p = principalOf(req);
      const user = await services.users.createUser(p, userInput(coerceResource('User', req.body)));
      // Nobody can have added it to a group yet: its id was unknown until this commit.
      sendResource(res, 201, await render(req, p, user, []), user.version, `${scimBase(req)}/Users/${user.id}`);
    },

    async get(req: Request, res: Response) {
      const p = principalOf(req);
      const user = await services.users.getUser(p, idOf(req));
      if (notModified(req, user.version)) {
        res.set('ETag', etagOf(user.version)).status(304).end();
        return;
      }
      sendResource(res, 200, await render(req, p, user), user.version);
    },

    async replace(req: Request, res: Response) {
      const p = principalOf(req);
      const user = await services.users.replaceUser(p, idOf(req), userInput(coerceResource('User', req.body)), ifMatch(req));
      sendResource(res, 200, await render(req, p, user), user.version);
    },

    async patch(req: Request, res: Response) {
      const p = principalOf(req);
      const ops = parsePatchRequest(req.body);
      const id = idOf(req);
      const user = await services.users.modifyUser(
        p,
        id,
        (current) => patchedUserInput(current, ops),
        ifMatch(req),
      );
      sendResource(res, 200, await render(req, p, user), user.version);
    },

    async remove(req: Request, res: Response) {
      await services.users.deleteUser(principalOf(req), idOf(req), ifMatch(req));
      res.status(204).end();
    },
  };
}
