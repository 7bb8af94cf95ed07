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

export interface GroupListQuery {
  offset: number;
  limit: number;
  ids?: string[];
  sortOrder?: SortOrder;
}

export interface Page<T> {
  items: T[];
  total: number;
}
