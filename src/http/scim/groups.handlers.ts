import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { Group } from '../../domain/groups/group';
import type { MemberInput } from '../../domain/memberships/group-directory.service';
import type { Principal } from '../../domain/principal';
import { invalidValue } from './errors';
import { encodeCursor, ifMatch, listParams, notModified, type ListParams } from './params';
import { groupMutationFromPatch, parsePatchRequest } from './patch';
import { listResponse, presentGroup, scimBase } from './present';
import { coerceResource, project, wants, type JsonObject } from './resource';
import { scimMemberTemplates, streamGroup } from './stream';
import { projectionOf, sendResource } from './users.handlers';

/** Members of a coerced Group body; `type` is optional (resolved by id). */
function membersOf(core: JsonObject): MemberInput[] {
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
  const withMembers = wants('members', params.attributes, params.excludedAttributes);
  const resources: JsonObject[] = [];
  for (const g of items) {
    const members = withMembers ? await services.groupDirectory.membersOf(p, g.id) : undefined;
    resources.push(project(presentGroup(g, members, base), params.attributes, params.excludedAttributes));
  }
  return listResponse(resources, cursorMode ? { nextCursor, previousCursor } : { totalResults: page.total, startIndex: params.startIndex });
}

/** /Groups handlers (RFC 7644 §3; members change as set-based deltas). */
export function groupsHandlers(services: Services) {
  async function render(req: Request, p: Principal, g: Group): Promise<JsonObject> {
    const { attributes, excluded } = projectionOf(req);
    // CASE: excludedAttributes=members (Entra ID's default) must not load members at all.
    const members = wants('members', attributes, excluded) ? await services.groupDirectory.membersOf(p, g.id) : undefined;
    return project(presentGroup(g, members, scimBase(req)), attributes, excluded);
  }

  return {
    async list(req: Request, res: Response) {
      res.json(await searchGroups(services, principalOf(req), req, listParams(req.query as Record<string, unknown>)));
    },

    async search(req: Request, res: Response) {
      res.status(200).json(await searchGroups(services, principalOf(req), req, listParams(req.body ?? {})));
    },

    async create(req: Request, res: Response) {
      const p = principalOf(req);
      const c = coerceResource('Group', req.body);
      const group = await services.groupDirectory.createGroup(
        p,
        { name: c.core.displayName as string, externalId: c.externalId ?? null, type: 'official', visibility: 'public', rulesVisible: false },
        membersOf(c.core),
      );
      sendResource(res, 201, await render(req, p, group), group.version, `${scimBase(req)}/Groups/${group.id}`);
    },

    async get(req: Request, res: Response) {
      const p = principalOf(req);
      const group = await services.groups.getGroup(p, String(req.params.id));
      if (notModified(req, group.version)) {
        res.set('ETag', `W/"${group.version}"`).status(304).end();
        return;
      }
      const { attributes, excluded } = projectionOf(req);
      if (!attributes?.length && !excluded?.length) {
        // CASE: the default representation includes every member; stream it in batches.
        const base = scimBase(req);
        await streamGroup(res, group, services.groupDirectory.memberBatches(p, group.id, scimMemberTemplates(base), { expected: group.memberCount }), base);
        return;
      }
      sendResource(res, 200, await render(req, p, group), group.version);
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
      sendResource(res, 200, await render(req, p, group), group.version);
    },

    async patch(req: Request, res: Response) {
      const p = principalOf(req);
      const id = String(req.params.id);
      const mutation = groupMutationFromPatch(parsePatchRequest(req.body), id);
      const group = await services.groupDirectory.mutateGroup(p, id, mutation, ifMatch(req));
      // RFC 7644 §3.5.2: 204 unless the client asked for attributes back.
      if (req.query.attributes === undefined && req.query.excludedAttributes === undefined) {
        res.set('ETag', `W/"${group.version}"`).status(204).end();
        return;
      }
      sendResource(res, 200, await render(req, p, group), group.version);
    },

    async remove(req: Request, res: Response) {
      await services.groupDirectory.deleteGroup(principalOf(req), String(req.params.id), ifMatch(req));
      res.status(204).end();
    },
  };
}
