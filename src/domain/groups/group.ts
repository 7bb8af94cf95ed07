import type { Criteria } from '../criteria';

/** A group as the core knows it: no HTTP, no SQL, no dialect field names. */
export interface Group {
  id: string;
  seq: number;
  tenantId: string;
  name: string;
  key: string | null;
  externalId: string | null;
  description: string | null;
  type: GroupType;
  visibility: GroupVisibility;
  state: GroupState;
  rulesVisible: boolean;
  images: unknown[];
  addresses: unknown[];
  properties: Record<string, unknown>;
  wildcards: string[];
  system: boolean;
  ownerUserId: string | null;
  ownerIds: string[];
  memberCount: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const GROUP_TYPES = ['official', 'social'] as const;
export const GROUP_VISIBILITIES = ['public', 'members', 'owners'] as const;
export const GROUP_STATES = ['active', 'inactive', 'deleted'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];
export type GroupVisibility = (typeof GROUP_VISIBILITIES)[number];
export type GroupState = (typeof GROUP_STATES)[number];

/** Fields a client may set; everything else is the service's to decide. */
export interface GroupFields {
  name: string;
  description: string | null;
  type: GroupType;
  visibility: GroupVisibility;
  state: GroupState;
  rulesVisible: boolean;
  images: unknown[];
  addresses: unknown[];
  properties: Record<string, unknown>;
  wildcards: string[];
  externalId: string | null;
  ownerIds: string[];
}

export type NewGroup = Partial<GroupFields> & { name: string; key?: string | null; system?: boolean };
export type GroupChanges = Partial<GroupFields>;

export type SortOrder = 'asc' | 'desc';

/** One sort key: a group attribute path of groups.fields.ts and its direction. */
export interface GroupSort {
  field: string;
  order: SortOrder;
}

export interface GroupListQuery {
  offset: number;
  limit: number;
  ids?: string[];
  /** Direction of the default order (by name); ignored when `sort` is given. */
  sortOrder?: SortOrder;
  /** Only groups matching these criteria (attribute paths of groups.fields.ts). */
  criteria?: Criteria;
  /** Sort keys, most significant first; the id breaks ties. */
  sort?: GroupSort[];
}

/**
 * Who a listing is for when the token acts as a user: visibility `members`/`owners` groups show
 * only to their members (direct or through a rule) and owners.
 */
export interface GroupViewer {
  userId: string;
  /** Groups whose dynamic membership rules include the user. */
  ruleGroupIds: string[];
}

/** A page of the people of a group, ordered by user id (an indexed order, cheap at any depth). */
export interface PeopleQuery {
  offset: number;
  limit: number;
  sortOrder: SortOrder;
}

export interface Page<T> {
  items: T[];
  total: number;
}
