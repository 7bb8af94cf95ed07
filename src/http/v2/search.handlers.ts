import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { InvalidInput } from '../../domain/errors';
import { presenterFor } from './groups.handlers';
import { expandOf } from './params';
import { parseGroupSearch, searchRequestOf } from './search';

const SEARCH_PATH = '/api/v2/groups/search';

/**
 * Groups v2 search. A POST runs a GroupSearchRequest; its page links carry a signed `q64` that
 * repeats the request at another page, which `GET …/search?q64=` runs for the same tenant.
 */
export function searchHandlers(services: Services) {
  const run = async (req: Request, res: Response, request: Record<string, unknown>) => {
    const p = principalOf(req);
    const search = parseGroupSearch(request);
    const { pageSize, pageNumber } = search;
    const link = async (n: number) => `${SEARCH_PATH}?q64=${await services.groups.sealSearchPage(p, { ...request, pageNumber: n })}`;
    // CASE: a request too large to carry in a page link is refused before it runs.
    const currentPage = await link(pageNumber);
    const page = await services.groups.listGroups(p, { criteria: search.criteria, sort: search.sort, offset: (pageNumber - 1) * pageSize, limit: pageSize });
    const pageCount = Math.ceil(page.total / pageSize);
    res.json({
      total: page.total,
      pageCount,
      pageSize,
      pageNumber,
      ...(pageNumber > 1 ? { previousPage: await link(Math.min(pageNumber - 1, Math.max(pageCount, 1))) } : {}),
      currentPage,
      ...(pageNumber < pageCount ? { nextPage: await link(pageNumber + 1) } : {}),
      types: ['groups'],
      results: page.items.map(presenterFor(req)),
    });
  };

  return {
    async post(req: Request, res: Response) {
      await run(req, res, searchRequestOf(req.body));
    },

    async get(req: Request, res: Response) {
      expandOf(req.query.expand);
      const request = await services.groups.openSearchPage(principalOf(req), String(req.query.q64));
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new InvalidInput('the q64 value is malformed', { field: 'q64' });
      await run(req, res, request as Record<string, unknown>);
    },
  };
}
