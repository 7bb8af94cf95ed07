import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { InvalidInput } from '../../domain/errors';
import { invalidFilter, invalidValue } from './errors';
import { searchGroups } from './groups.handlers';
import { searchRequestParams } from './params';
import { listResponse } from './present';
import type { JsonObject } from './resource';
import { sendDocument } from './stream';
import { searchUsers } from './users.handlers';

const isFilterError = (err: unknown) => err instanceof InvalidInput && Boolean(err.details.criteria);

/**
 * POST /.search at the root (RFC 7644 §3.4.3): Users then Groups, as one index-paginated list.
 * A resource type whose attributes the filter does not know is left out; if neither knows
 * them, the filter is invalid. A `sortBy` sorts each type that has the attribute; a type
 * without it has no value to sort by and keeps its default order (after the users, as missing
 * values sort last); if neither has it, it is invalid.
 */
export function rootSearchHandler(services: Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const p = principalOf(req);
    const params = searchRequestParams(req.body);
    if (params.cursor) throw new InvalidInput('cursor pagination is supported per resource type, not on the root search');
    const sortBy = params.sortBy;
    const usersSort = !sortBy || services.users.canSortBy(sortBy);
    const groupsSort = !sortBy || services.groupDirectory.canSortBy(sortBy);
    if (!usersSort && !groupsSort) throw invalidValue(`cannot sort by "${sortBy}": neither Users nor Groups have it`);
    const userParams = usersSort ? params : { ...params, sortBy: undefined };
    const groupParams = groupsSort ? params : { ...params, sortBy: undefined };
    const attempt = async (fn: () => Promise<JsonObject>) => {
      try {
        return await fn();
      } catch (err) {
        if (isFilterError(err)) return err as Error;
        throw err;
      }
    };
    const totalsOnly = { ...params, count: 0 };
    const userTotals = await attempt(() => searchUsers(services, p, req, totalsOnly));
    const groupTotals = await attempt(() => searchGroups(services, p, req, totalsOnly));
    if (userTotals instanceof Error && groupTotals instanceof Error) throw invalidFilter(userTotals.message);
    const usersTotal = userTotals instanceof Error ? 0 : (userTotals.totalResults as number);
    const groupsTotal = groupTotals instanceof Error ? 0 : (groupTotals.totalResults as number);
    const offset = params.startIndex - 1;
    const resources: JsonObject[] = [];
    if (!(userTotals instanceof Error) && offset < usersTotal && params.count > 0) {
      const page = await searchUsers(services, p, req, userParams);
      resources.push(...(page.Resources as JsonObject[]));
    }
    const remaining = params.count - resources.length;
    if (!(groupTotals instanceof Error) && remaining > 0) {
      const groupStart = Math.max(0, offset - usersTotal) + 1;
      const page = await searchGroups(services, p, req, { ...groupParams, startIndex: groupStart, count: remaining });
      resources.push(...(page.Resources as JsonObject[]));
    }
    // Group members (when shown) stream as the page is written.
    await sendDocument(res, 200, listResponse(resources, { totalResults: usersTotal + groupsTotal, startIndex: params.startIndex }));
  };
}
