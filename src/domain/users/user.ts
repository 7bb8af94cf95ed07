import type { Criteria } from '../criteria';
import type { GroupViewer } from '../groups/group';
import type { MemberTemplate } from '../memberships/member-reads.repository';

/** A user as the core knows it. `resource` holds the dialect-neutral profile (SCIM attributes). */
export interface User {
  id: string;
  seq: number;
  tenantId: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface UserFields {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  resource: Record<string, unknown>;
}

/** Write-only: `password` is hashed by the service; null clears it. It is never read back. */
export type NewUser = Partial<UserFields> & { userName: string; password?: string | null };
export type UserChanges = Partial<UserFields> & { password?: string | null };

export interface UserListQuery {
  offset: number;
  limit: number;
  userName?: string;
  /** Only users matching these criteria (attribute paths of users.fields.ts). */
  criteria?: Criteria;
  /** Attribute path to sort by; the stable tie-breaker is creation order. */
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  /** Keyset pagination: only users created after (or before) this position. */
  afterSeq?: number;
  beforeSeq?: number;
  /** Skip the total count (cursor pages). */
  skipCount?: boolean;
  /** Also read each user's direct groups, in the same statement as the page. */
  withGroups?: boolean;
  /** Also read the tenant's number of users (its counters), in the same statement as the page. */
  withTenantTotal?: boolean;
  /**
   * Set for a token acting as a user: the groups read with the page, and those `groups.*`
   * criteria match through, are only the ones it may see (as Groups v2 lists them). Unset: all.
   */
  viewer?: GroupViewer;
}

/** A group a user belongs to directly. */
export interface UserGroupRef {
  id: string;
  name: string;
}

/**
 * A user as text ready to be written into a JSON document (findUserTextPage): nothing of it is
 * parsed in Node.
 */
export interface UserText {
  id: string;
  seq: number;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  version: number;
  /** The stored profile (`User.resource`) as JSON text, an object (`{}` when empty). */
  resourceJson: string;
  /** Whether the profile has the top-level key UserTextFormat.key. */
  hasKey: boolean;
  /** createdAt / updatedAt as Date#toISOString writes them. */
  created: string;
  lastModified: string;
  /** The direct groups, each written with UserTextFormat.groups, comma-separated in name order; null when none or not asked for. */
  groupsText: string | null;
}

/** How a text page is written: a profile key to tell the presence of, and a template for each direct group (none: no groups). */
export interface UserTextFormat {
  key?: string;
  groups?: MemberTemplate;
}

export interface UserTextPage {
  users: UserText[];
  /** As UserPageRows.tenantTotal. */
  tenantTotal?: number;
}

/**
 * What a listing of people shows of a user (the Groups v2 member pages): its name, its primary
 * email, title and department, read out of the profile by PostgreSQL. A page of such summaries
 * costs Node neither the profile documents nor the timestamps it would otherwise parse and drop
 * (measured: parsing them was ~6% of a member page's Node CPU).
 */
export interface UserSummary {
  id: string;
  userName: string;
  displayName: string | null;
  /** The value of the email marked primary, else of the first email; absent when it is not a string. */
  email?: string;
  /** Non-empty string values only. */
  title?: string;
  department?: string;
  active: boolean;
  version: number;
}
