import type { GroupAccess } from '../access/access.repository';
import type { AclRight, RightsSpec } from '../access/rights-spec';
import type { GroupBrief, UserBrief } from '../directory/directory.repository';
import type { Group } from '../groups/group';

/**
 * A group "bag": a group with an owner, an ACL and the system rights it gives its members,
 * addressed by its integer id. No HTTP and no vendor field names here.
 */

/** A user or a group named by integer id (`seq`). */
export interface PrincipalRef {
  kind: 'user' | 'group';
  seq: number;
}

export interface BagAclEntryInput {
  who: PrincipalRef;
  rights: AclRight[];
}

/** Vendor-only attributes of a bag, kept apart from the core columns. */
export interface BagAttributes {
  displayname?: Record<string, string>;
  type?: string;
  frontendPrefs?: Record<string, unknown>;
  authorizationInfo?: string | null;
}

/** One group of a create or update batch. Absent fields stay as they are on update. */
export interface BagInput {
  /** Required to update, refused on create. */
  seq?: number;
  version?: number;
  name?: string;
  comment?: string | null;
  attributes: BagAttributes;
  /** null is refused: an owner can be changed, never removed. */
  owner?: PrincipalRef | null;
  acl?: BagAclEntryInput[];
  systemRights?: RightsSpec;
}

export type Who = { kind: 'user'; user: UserBrief } | { kind: 'group'; group: GroupBrief };

export interface BagView {
  group: Group;
  access: GroupAccess;
  owner: Who | null;
  acl: { who: Who; rights: string[] }[];
  /** The ACL rights the caller holds on this group (bag_read, bag_write, bag_delete). */
  generatedRights: string[];
}

/** A group's easydb type: "system" for system groups, else the stored type ("easydb" unless a custom one was set). */
export function bagTypeOf(system: boolean, vendorAttributes: Record<string, Record<string, unknown>>): string {
  const type = vendorAttributes.easydb?.type;
  return system ? 'system' : typeof type === 'string' ? type : 'easydb';
}

/** The same over a group row `g`, in SQL: whether its type is "easydb" (membership lets its members read it). */
export const EASYDB_TYPED_SQL = "(NOT g.system AND coalesce(g.vendor_attributes #>> '{easydb,type}', 'easydb') = 'easydb')";

/** Group types a client may set: "easydb" (the default) or "custom-…"; "system" belongs to system groups. */
export function isWritableGroupType(type: string): boolean {
  return type === 'easydb' || /^custom-[\w.-]{1,100}$/.test(type);
}
