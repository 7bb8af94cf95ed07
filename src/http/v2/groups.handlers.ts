import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { GroupChanges, NewGroup, SortOrder } from '../../domain/groups/group';
import { GROUPS_PATH, presentGroup, presentListing } from './present';

/** Query values that may come repeated (`id=a&id=b`) or comma-joined (`id=a,b`), as the SDK sends. */
export function listParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  return items.map((s) => s.trim()).filter(Boolean);
}

function sortOrderOf(value: unknown): SortOrder {
  return typeof value === 'string' && /^desc/i.test(value) ? 'desc' : 'asc';
}

/** The writable Group fields of a v2 body, mapped to the core's names. */
function groupFields(body: Record<string, unknown>): GroupChanges {
  const pick: GroupChanges = {
    name: body.name as string | undefined,
    description: body.description as string | null | undefined,
    type: body.type as GroupChanges['type'],
    state: body.state as GroupChanges['state'],
    visibility: body.visibility as GroupChanges['visibility'],
    rulesVisible: body.rulesVisible as boolean | undefined,
    images: body.images as unknown[] | undefined,
    addresses: body.addresses as unknown[] | undefined,
    ownerIds: body.ownerIds as string[] | undefined,
  };
  return Object.fromEntries(Object.entries(pick).filter(([, v]) => v !== undefined)) as GroupChanges;
}

/** Handlers for /api/v2/groups: parse → core → present. */
export function groupsHandlers(services: Services) {
  return {
    async list(req: Request, res: Response) {
      const pageSize = Number(req.query.pageSize ?? 25);
      const pageNumber = Number(req.query.pageNumber ?? 1);
      const ids = listParam(req.query.id);
      const sortOrder = sortOrderOf(req.query.sortOrder);
      const page = await services.groups.listGroups(principalOf(req), { offset: (pageNumber - 1) * pageSize, limit: pageSize, ids, sortOrder });
      const extra = { ...(ids ? { id: ids.join(',') } : {}), ...(req.query.sortOrder ? { sortOrder: String(req.query.sortOrder) } : {}) };
      res.json(presentListing(page.items.map(presentGroup), { pageSize, pageNumber, total: page.total }, GROUPS_PATH, extra));
    },

    async create(req: Request, res: Response) {
      const input: NewGroup = { type: 'official', visibility: 'public', rulesVisible: false, ...groupFields(req.body), name: req.body.name };
      const group = await services.groups.createGroup(principalOf(req), input);
      res.status(200).json(presentGroup(group));
    },

    async get(req: Request, res: Response) {
      res.json(presentGroup(await services.groups.getGroup(principalOf(req), String(req.params.groupId))));
    },

    async update(req: Request, res: Response) {
      const group = await services.groups.updateGroup(principalOf(req), String(req.params.groupId), groupFields(req.body), req.body.version);
      res.json(presentGroup(group));
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
