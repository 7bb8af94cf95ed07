import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { InvalidInput } from '../../domain/errors';
import { fieldConfigOf } from './fieldconfig';
import { listParam, pagingOf, sortOrderOf, pageWindow } from './params';
import { GROUP_PROFILE_FIELDS, presentGroupProfile, presentListing } from './present';
import { own } from '../../domain/own';

/** `fields=a,b`: keys of the group field config; unknown keys are a 400. */
function profileFields(value: unknown): string[] | undefined {
  const fields = listParam(value);
  const unknown = (fields ?? []).filter((f) => own(GROUP_PROFILE_FIELDS, f) === undefined);
  if (unknown.length) {
    throw new InvalidInput(`unknown profile field(s): ${unknown.join(', ')} (see /api/v2/fieldconfig?type=group: ${Object.keys(GROUP_PROFILE_FIELDS).join(', ')})`, { field: 'fields' });
  }
  return fields;
}

/** Group profiles and the field config describing them. */
export function profilesHandlers(services: Services) {
  return {
    async profile(req: Request, res: Response) {
      const fields = profileFields(req.query.fields);
      res.json(presentGroupProfile(await services.groups.getGroup(principalOf(req), String(req.params.groupId)), fields));
    },

    async listing(req: Request, res: Response) {
      const paging = pagingOf(req);
      const ids = listParam(req.query.id);
      const page = await services.groups.listGroups(principalOf(req), { ...pageWindow(paging), ids, sortOrder: sortOrderOf(req.query.sortOrder) });
      const extra = { ...(ids ? { id: ids.join(',') } : {}), ...(req.query.sortOrder ? { sortOrder: String(req.query.sortOrder) } : {}) };
      res.json(presentListing(page.items.map((g) => presentGroupProfile(g)), { ...paging, total: page.total }, '/api/v2/profiles/groups', extra));
    },

    async fieldConfig(req: Request, res: Response) {
      res.json(fieldConfigOf(String(req.query.type)));
    },
  };
}
