import type { Group } from '../../domain/groups/group';

export const GROUPS_PATH = '/api/v2/groups';

/** Domain group → Groups v2 Group entity. Null fields are left out, as the API does. */
export function presentGroup(g: Group) {
  return {
    id: g.id,
    name: g.name,
    ...(g.description !== null ? { description: g.description } : {}),
    dateModified: g.updatedAt.toISOString(),
    memberCount: g.memberCount,
    state: g.state,
    version: g.version,
    type: g.type,
    images: g.images,
    addresses: g.addresses,
    rulesVisible: g.rulesVisible,
    visibility: g.visibility,
    ownerIds: g.ownerIds,
    selfUri: `${GROUPS_PATH}/${g.id}`,
  };
}

/** The entity-listing envelope with first/self/next/previous/last URIs. */
export function presentListing<T>(
  entities: T[],
  page: { pageSize: number; pageNumber: number; total: number },
  basePath: string,
  extra: Record<string, string | string[] | undefined> = {},
) {
  const pageCount = Math.ceil(page.total / page.pageSize);
  const uri = (n: number) => {
    const qs = new URLSearchParams();
    qs.set('pageSize', String(page.pageSize));
    qs.set('pageNumber', String(n));
    for (const [k, v] of Object.entries(extra)) {
      for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) qs.append(k, item);
    }
    return `${basePath}?${qs.toString()}`;
  };
  return {
    entities,
    pageSize: page.pageSize,
    pageNumber: page.pageNumber,
    total: page.total,
    pageCount,
    firstUri: uri(1),
    selfUri: uri(page.pageNumber),
    ...(page.pageNumber < pageCount ? { nextUri: uri(page.pageNumber + 1) } : {}),
    ...(page.pageNumber > 1 ? { previousUri: uri(Math.min(page.pageNumber - 1, Math.max(pageCount, 1))) } : {}),
    lastUri: uri(Math.max(pageCount, 1)),
  };
}
