import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { InvalidInput } from '../../domain/errors';
import type { Group, GroupChanges, NewGroup } from '../../domain/groups/group';
import { canSeeRules } from '../../domain/groups/groups.policy';
import { listParam, pagingOf, sortOrderOf, pageWindow } from './params';
import { presentGroup, presentListing } from './present';

export { listParam } from './params';

/** An array, or one element alone as an object (the document draws images and addresses so): an array of one. */
const listOf = (value: unknown): unknown[] | undefined => (value === undefined ? undefined : Array.isArray(value) ? value : [value]);

/** The writable Group fields of a v2 body, mapped to the core's names. */
function groupFields(body: Record<string, unknown>): GroupChanges {
  const pick: GroupChanges = {
    name: body.name as string | undefined,
    description: body.description as string | null | undefined,
    type: body.type as GroupChanges['type'],
    state: body.state as GroupChanges['state'],
    visibility: body.visibility as GroupChanges['visibility'],
    rulesVisible: body.rulesVisible as boolean | undefined,
    images: listOf(body.images),
    addresses: listOf(body.addresses),
    ownerIds: body.ownerIds as string[] | undefined,
    wildcards: body.wildcards as string[] | undefined,
  };
  return Object.fromEntries(Object.entries(pick).filter(([, v]) => v !== undefined)) as GroupChanges;
}

/** Where the request's groups live: `/api/v2/groups` or document 004's `/v2/groups`. */
export const groupsBase = (req: Request) => `${req.baseUrl}/groups`;

/** A presenter for this request: its base path, and the rules shown to whom the policy allows. */
export function presenterFor(req: Request) {
  const p = principalOf(req);
  const base = groupsBase(req);
  return (g: Group) => presentGroup(g, { base, showRules: canSeeRules(p, g) });
}

/** Most group ids a listing takes (V2GroupIds' maxItems in the spec). */
const MAX_LISTED_IDS = 100;

/** Handlers for the group resource itself, under /api/v2 and /v2: parse → core → present. */
export function groupsHandlers(services: Services) {
  return {
    async list(req: Request, res: Response) {
      const paging = pagingOf(req);
      const ids = listParam(req.query.id);
      // The spec bounds repeated ids (maxItems); ids joined with commas count the same.
      if (ids && ids.length > MAX_LISTED_IDS) throw new InvalidInput(`at most ${MAX_LISTED_IDS} group ids`, { field: 'id' });
      const page = await services.groups.listGroups(principalOf(req), { ...pageWindow(paging), ids, sortOrder: sortOrderOf(req.query.sortOrder) });
      const extra = { ...(ids ? { id: ids.join(',') } : {}), ...(req.query.sortOrder ? { sortOrder: String(req.query.sortOrder) } : {}) };
      res.json(presentListing(page.items.map(presenterFor(req)), { ...paging, total: page.total }, groupsBase(req), extra));
    },

    /** Document 004's create may carry only a name: the rest takes the Groups v2 defaults. */
    async create(req: Request, res: Response) {
      const input: NewGroup = { type: 'official', visibility: 'public', rulesVisible: false, ...groupFields(req.body), name: req.body.name };
      const group = await services.groups.createGroup(principalOf(req), input);
      res.status(200).json(presenterFor(req)(group));
    },

    async get(req: Request, res: Response) {
      res.json(presenterFor(req)(await services.groups.getGroup(principalOf(req), String(req.params.groupId))));
    },

    /** PUT /api/v2/groups/{groupId}: the body's fields replace the stored ones at `version`. */
    async update(req: Request, res: Response) {
      // CASE: a body naming another group is a mistake to report, not an id to ignore (as v1 and Nuxeo answer).
      if (req.body.id !== undefined && String(req.body.id).toLowerCase() !== String(req.params.groupId).toLowerCase()) {
        throw new InvalidInput('the body\'s id does not match the group in the path', { field: 'id' });
      }
      const group = await services.groups.updateGroup(principalOf(req), String(req.params.groupId), groupFields(req.body), req.body.version);
      res.json(presenterFor(req)(group));
    },

    /** PUT /api/v2/groups (document 004): the id is in the body; `version`, when given, must match. */
    async updateById(req: Request, res: Response) {
      const group = await services.groups.updateGroup(principalOf(req), String(req.body.id), groupFields(req.body), req.body.version);
      res.json(presenterFor(req)(group));
    },

    /** PATCH /v2/groups/{uuid} (document 004): name and/or description; `version`, when given, must match. */
    async patch(req: Request, res: Response) {
      const changes = groupFields({ name: req.body.name, description: req.body.description });
      if (!Object.keys(changes).length) throw new InvalidInput('nothing to change: give a name or a description', { field: 'name' });
      const group = await services.groups.updateGroup(principalOf(req), String(req.params.groupId), changes, req.body.version);
      res.json(presenterFor(req)(group));
    },

    async remove(req: Request, res: Response) {
      await services.groups.deleteGroup(principalOf(req), String(req.params.groupId));
      res.status(204).end();
    },

    async addMembers(req: Request, res: Response) {
      const members = (req.body.memberIds as string[]).map((id) => ({ kind: 'user' as const, id }));
      await services.memberships.addMembers(principalOf(req), String(req.params.groupId), members, req.body.version);
      res.status(202).json({});
    },

    async removeMembers(req: Request, res: Response) {
      const members = (listParam(req.query.ids) ?? []).map((id) => ({ kind: 'user' as const, id }));
      await services.memberships.removeMembers(principalOf(req), String(req.params.groupId), members);
      res.status(202).json({});
    },
  };
}
