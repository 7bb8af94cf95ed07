import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { Group, GroupViewer } from '../../domain/groups/group';
import type { MemberInput } from '../../domain/memberships/group-directory.service';
import type { Principal } from '../../domain/principal';
import { invalidValue } from './errors';
import { encodeCursor, ifMatch, listParams, notModified, paramOf, searchRequestParams, type ListParams } from './params';
import { groupMutationFromPatch, parsePatchRequest } from './patch';
import { etagOf, listResponse, presentGroup, scimBase } from './present';
import { coerceResource, project, wants, type JsonObject, type ProjectionPath } from './resource';
import { scimMemberTemplates, sendDocument, withStreamedMembers } from './stream';
import { projectionOf } from './users.handlers';

/** Members of a coerced Group body; `type` is optional (resolved by id). */
export function membersOf(core: JsonObject): MemberInput[] {
  const members = (core.members ?? []) as JsonObject[];
  return members.map((m) => {
    if (typeof m.value !== 'string') throw invalidValue('every member needs a "value"');
    return { id: m.value, ...(typeof m.type === 'string' ? { kind: m.type.toLowerCase() as MemberInput['kind'] } : {}) };
  });
}

/** Runs a group list/search and renders the ListResponse. Members load only when shown. */
export async function searchGroups(services: Services, p: Principal, req: Request, params: ListParams): Promise<JsonObject> {
  const base = scimBase(req);
  const cursorMode = params.cursor !== undefined;
  const page = await services.groupDirectory.queryGroups(p, {
    criteria: params.criteria,
    sortBy: params.sortBy,
    sortOrder: params.sortOrder,
    offset: cursorMode ? 0 : params.startIndex - 1,
    limit: cursorMode ? params.count + 1 : params.count,
    afterSeq: params.cursor?.afterSeq,
    beforeSeq: params.cursor?.beforeSeq,
    skipCount: cursorMode,
  });
  let items = page.items;
  let seqs = page.seqs;
  let nextCursor: string | undefined;
  let previousCursor: string | undefined;
  if (cursorMode) {
    const backwards = params.cursor?.beforeSeq !== undefined;
    const more = items.length > params.count;
    const from = backwards ? Math.max(0, items.length - params.count) : 0;
    items = items.slice(from, from + params.count);
    seqs = seqs.slice(from, from + params.count);
    if (items.length && (more || backwards)) nextCursor = encodeCursor({ a: seqs[seqs.length - 1] });
    if (items.length && (params.cursor?.afterSeq !== undefined || (backwards && more))) previousCursor = encodeCursor({ b: seqs[0] });
  }
  const viewer = Promise.resolve(page.viewer);
  const resources = items.map((g) => groupDocument(services, p, g, base, params.attributes, params.excludedAttributes, viewer));
  return listResponse(resources, cursorMode ? { nextCursor, previousCursor } : { totalResults: page.total, startIndex: params.startIndex });
}

/**
 * A group's SCIM document under a projection. Its members, when shown, are read and written
 * batch by batch as the response is sent (sendDocument), in one list or many: a page of groups,
 * or one group, of any size stays in bounded memory. A token acting as a user is not shown the
 * member groups hidden from it.
 */
function groupDocument(
  services: Services,
  p: Principal,
  g: Group,
  base: string,
  attributes?: ProjectionPath[],
  excluded?: ProjectionPath[],
  /** Which member groups the principal may see (a page's groups share it); read when missing. */
  viewer?: Promise<GroupViewer | undefined>,
): JsonObject {
  // CASE: excludedAttributes=members (Entra ID's default) must not read members at all.
  if (!wants('members', attributes, excluded)) return project(presentGroup(g, base), attributes, excluded);
  const batches = () => services.groupDirectory.memberBatches(p, g.id, scimMemberTemplates(base), { expected: g.memberCount, viewer });
  return withStreamedMembers(presentGroup(g, base, true), batches, attributes, excluded);
}

/** /Groups handlers (RFC 7644 §3; members change as set-based deltas). */
export function groupsHandlers(services: Services) {
  /** Sends a group as the request's projection shows it, with its ETag (and Location on create). */
  function send(req: Request, res: Response, status: number, p: Principal, g: Group, location?: string): Promise<void> {
    const { attributes, excluded } = projectionOf(req);
    const doc = groupDocument(services, p, g, scimBase(req), attributes, excluded);
    return sendDocument(res, status, doc, { ETag: etagOf(g.version), ...(location ? { Location: location } : {}) });
  }

  return {
    async list(req: Request, res: Response) {
      await sendDocument(res, 200, await searchGroups(services, principalOf(req), req, listParams(req.query as Record<string, unknown>)));
    },

    async search(req: Request, res: Response) {
      await sendDocument(res, 200, await searchGroups(services, principalOf(req), req, searchRequestParams(req.body)));
    },

    async create(req: Request, res: Response) {
      const p = principalOf(req);
      const c = coerceResource('Group', req.body);
      const group = await services.groupDirectory.createGroup(
        p,
        { name: c.core.displayName as string, externalId: c.externalId ?? null, type: 'official', visibility: 'public', rulesVisible: false },
        membersOf(c.core),
      );
      await send(req, res, 201, p, group, `${scimBase(req)}/Groups/${group.id}`);
    },

    async get(req: Request, res: Response) {
      const p = principalOf(req);
      const group = await services.groups.getGroup(p, String(req.params.id));
      if (notModified(req, group.version)) {
        res.set('ETag', `W/"${group.version}"`).status(304).end();
        return;
      }
      await send(req, res, 200, p, group);
    },

    async replace(req: Request, res: Response) {
      const p = principalOf(req);
      const c = coerceResource('Group', req.body);
      const group = await services.groupDirectory.mutateGroup(
        p,
        String(req.params.id),
        { changes: { name: c.core.displayName as string, externalId: c.externalId ?? null }, replaceMembers: membersOf(c.core) },
        ifMatch(req),
      );
      await send(req, res, 200, p, group);
    },

    async patch(req: Request, res: Response) {
      const p = principalOf(req);
      const id = String(req.params.id);
      const mutation = groupMutationFromPatch(parsePatchRequest(req.body), id);
      const group = await services.groupDirectory.mutateGroup(p, id, mutation, ifMatch(req));
      // RFC 7644 §3.5.2: 204 unless the client asked for attributes back.
      const query = req.query as Record<string, unknown>;
      if (paramOf(query, 'attributes') === undefined && paramOf(query, 'excludedAttributes') === undefined) {
        res.set('ETag', `W/"${group.version}"`).status(204).end();
        return;
      }
      await send(req, res, 200, p, group);
    },

    async remove(req: Request, res: Response) {
      await services.groupDirectory.deleteGroup(principalOf(req), String(req.params.id), ifMatch(req));
      res.status(204).end();
    },
  };
}
