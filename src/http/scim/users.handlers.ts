import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { Principal } from '../../domain/principal';
import type { User, UserGroupRef } from '../../domain/users/user';
import { encodeCursor, ifMatch, listParams, notModified, type ListParams } from './params';
import { parsePatchRequest, patchUserDocument } from './patch';
import { etagOf, listResponse, presentUser, scimBase, userDocument, userInput } from './present';
import { coerceResource, parseAttributeList, project, wants, type JsonObject } from './resource';
import { SCHEMA } from './schemas';

/** attributes/excludedAttributes of a request (query string). */
export function projectionOf(req: Request) {
  return { attributes: parseAttributeList(req.query.attributes), excluded: parseAttributeList(req.query.excludedAttributes) };
}

/** Sends one resource with its ETag (and Location on create). */
export function sendResource(res: Response, status: number, body: JsonObject, version: number, location?: string): void {
  res.set('ETag', etagOf(version));
  if (location) res.set('Location', location);
  res.status(status).json(body);
}

/** Runs a user list/search and renders the ListResponse (index or cursor pagination). */
export async function searchUsers(services: Services, p: Principal, req: Request, params: ListParams): Promise<JsonObject> {
  const base = scimBase(req);
  const cursorMode = params.cursor !== undefined;
  const withGroups = wants('groups', params.attributes, params.excludedAttributes);
  const page = await services.users.listUsers(p, {
    withGroups,
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
  let items: User[] = page.items;
  let nextCursor: string | undefined;
  let previousCursor: string | undefined;
  if (cursorMode) {
    const backwards = params.cursor?.beforeSeq !== undefined;
    const more = items.length > params.count;
    items = backwards ? items.slice(items.length - params.count) : items.slice(0, params.count);
    if (items.length && (more || backwards)) nextCursor = encodeCursor({ a: items[items.length - 1].seq });
    if (items.length && (params.cursor?.afterSeq !== undefined || (backwards && more))) previousCursor = encodeCursor({ b: items[0].seq });
  }
  const groups = page.groups;
  const totalResults = cursorMode ? undefined : await totalOf(services, p, params, items.length, page.tenantTotal);
  const resources = items.map((u) => project(presentUser(u, groups?.get(u.id), base), params.attributes, params.excludedAttributes));
  return listResponse(resources, cursorMode ? { nextCursor, previousCursor } : { totalResults, startIndex: params.startIndex });
}

/**
 * totalResults of an index page (RFC 7644 §3.4.2.4). A page shorter than asked for ends the
 * results, so it tells the total by itself (a `userName eq` lookup, the last page); only a full
 * or empty-past-the-end page needs a count, which for an unfiltered list comes from the tenant's
 * counters (no count(*) over the tenant's users).
 */
async function totalOf(services: Services, p: Principal, params: ListParams, found: number, tenantTotal?: number): Promise<number> {
  const offset = params.startIndex - 1;
  if (found < params.count && (found > 0 || offset === 0)) return offset + found;
  if (tenantTotal !== undefined && !params.criteria) return tenantTotal;
  return (await services.users.listUsers(p, { criteria: params.criteria, offset: 0, limit: 0 })).total;
}

/** /Users handlers: parse SCIM → core → present (RFC 7644 §3). */
export function usersHandlers(services: Services) {
  /** `known`: the user's groups when the caller already knows them (a user just created has none). */
  async function render(req: Request, p: Principal, u: User, known?: UserGroupRef[]): Promise<JsonObject> {
    const { attributes, excluded } = projectionOf(req);
    const groups = !wants('groups', attributes, excluded) ? undefined : (known ?? (await services.users.groupsOfUsers(p, [u.id])).get(u.id));
    return project(presentUser(u, groups, scimBase(req)), attributes, excluded);
  }

  /** The id a request addresses: the path id, or the acting user for /Me. */
  const idOf = (req: Request) => String(req.params.id ?? principalOf(req).userId);

  return {
    async list(req: Request, res: Response) {
      res.json(await searchUsers(services, principalOf(req), req, listParams(req.query as Record<string, unknown>)));
    },

    async search(req: Request, res: Response) {
      res.status(200).json(await searchUsers(services, principalOf(req), req, listParams(req.body ?? {})));
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
        (current) => {
          const patched = patchUserDocument(userDocument(current), ops, current.id);
          return userInput(coerceResource('User', { ...patched, schemas: [SCHEMA.user] }));
        },
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
