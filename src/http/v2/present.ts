import type { Group } from '../../domain/groups/group';
import type { UserSummary } from '../../domain/users/user';
import { own } from '../../domain/own';

export const GROUPS_PATH = '/api/v2/groups';

export interface GroupPresentation {
  /** Where the group's own URI lives: `/api/v2/groups` or document 004's `/v2/groups`. */
  base?: string;
  /** Show the dynamic membership rules (`wildcards`): see groups.policy canSeeRules. */
  showRules?: boolean;
}

/** Domain group → Groups v2 Group entity. Null fields are left out, as the API does. */
export function presentGroup(g: Group, opts: GroupPresentation = {}) {
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
    ...(opts.showRules ? { wildcards: g.wildcards } : {}),
    selfUri: `${opts.base ?? GROUPS_PATH}/${g.id}`,
  };
}

/** The group profile fields, keyed as the field config (`/api/v2/fieldconfig?type=group`) names them. */
export const GROUP_PROFILE_FIELDS: Record<string, (g: Group) => unknown> = {
  description: (g) => g.description ?? undefined,
  type: (g) => g.type,
  visibility: (g) => g.visibility,
  rulesVisible: (g) => g.rulesVisible,
  memberCount: (g) => g.memberCount,
  ownerIds: (g) => g.ownerIds,
  images: (g) => g.images,
  addresses: (g) => g.addresses,
};

/** GroupProfile: the entity basics plus the chosen profile fields (all of them by default). */
export function presentGroupProfile(g: Group, fields: string[] = Object.keys(GROUP_PROFILE_FIELDS)) {
  const out: Record<string, unknown> = {
    id: g.id,
    name: g.name,
    state: g.state,
    dateModified: g.updatedAt.toISOString(),
    version: g.version,
  };
  for (const f of fields) {
    const value = own(GROUP_PROFILE_FIELDS, f)?.(g);
    if (value !== undefined) out[f] = value;
  }
  out.selfUri = `${GROUPS_PATH}/${g.id}/profile`;
  return out;
}

/** A user summary → the Groups v2 (Genesys Cloud) User entity, with the fields Roster holds. */
export function presentUser(u: UserSummary) {
  return {
    id: u.id,
    name: u.displayName ?? u.userName,
    username: u.userName,
    ...(u.email !== undefined ? { email: u.email } : {}),
    state: u.active ? 'active' : 'inactive',
    ...(u.title !== undefined ? { title: u.title } : {}),
    ...(u.department !== undefined ? { department: u.department } : {}),
    version: u.version,
    selfUri: `/scim/v2/Users/${u.id}`,
  };
}

export interface ListingPage {
  pageSize: number;
  /** 1-based. */
  pageNumber: number;
  total: number;
  /** Links in document 004's zero-based `page`/`size` style. */
  zeroBased?: boolean;
}

/** The entity-listing envelope with first/self/next/previous/last URIs. */
export function presentListing<T>(entities: T[], page: ListingPage, basePath: string, extra: Record<string, string | string[] | undefined> = {}) {
  const pageCount = Math.ceil(page.total / page.pageSize);
  const uri = (n: number) => {
    const qs = new URLSearchParams();
    if (page.zeroBased) {
      qs.set('size', String(page.pageSize));
      qs.set('page', String(n - 1));
    } else {
      qs.set('pageSize', String(page.pageSize));
      qs.set('pageNumber', String(n));
    }
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
