import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { expandOf, MEMBER_EXPANDS, pagingOf, sortOrderOf, pageWindow } from './params';
import { presentListing, presentUser } from './present';

/** Handlers for the people of a group: `…/members` (everyone) and `…/individuals` (added directly). */
export function peopleHandlers(services: Services) {
  const listing = (scope: 'members' | 'individuals') => async (req: Request, res: Response) => {
    const paging = pagingOf(req);
    const expand = expandOf(req.query.expand, MEMBER_EXPANDS);
    const sortOrder = sortOrderOf(req.query.sortOrder);
    const groupId = String(req.params.groupId);
    const query = { ...pageWindow(paging), sortOrder };
    const page =
      scope === 'members'
        ? await services.groups.listGroupPeople(principalOf(req), groupId, query)
        : await services.groups.listGroupIndividuals(principalOf(req), groupId, query);
    const extra = { ...(req.query.sortOrder ? { sortOrder: String(req.query.sortOrder) } : {}), ...(expand?.length ? { expand: expand.join(',') } : {}) };
    res.json(presentListing(page.items.map(presentUser), { ...paging, total: page.total }, `/api/v2/groups/${groupId}/${scope}`, extra));
  };
  return { members: listing('members'), individuals: listing('individuals') };
}
