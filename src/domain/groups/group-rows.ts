import type { Group } from './group';

/**
 * A `groups` row (with its owner ids aggregated) and its mapping to Group: the one mapping every
 * statement that returns groups uses (groups.repository.ts and the set-based writers).
 */

export interface GroupRow {
  id: string;
  seq: string | number;
  tenant_id: string;
  name: string;
  key: string | null;
  external_id: string | null;
  description: string | null;
  type: Group['type'];
  visibility: Group['visibility'];
  state: Group['state'];
  rules_visible: boolean;
  images: unknown[];
  addresses: unknown[];
  properties: Record<string, unknown>;
  wildcards: string[];
  system: boolean;
  owner_user_id: string | null;
  owner_ids: string[] | null;
  member_count: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/**
 * The columns of a GroupRow (all but owner_ids, which statements aggregate): named, not `*`, so
 * a statement kept prepared returns the same columns after a migration adds one to the table.
 */
export const GROUP_COLUMNS = [
  'id',
  'seq',
  'tenant_id',
  'name',
  'key',
  'external_id',
  'description',
  'type',
  'visibility',
  'state',
  'rules_visible',
  'images',
  'addresses',
  'properties',
  'wildcards',
  'system',
  'owner_user_id',
  'member_count',
  'version',
  'created_at',
  'updated_at',
] as const satisfies readonly Exclude<keyof GroupRow, 'owner_ids'>[];

/** The `owner_ids` column of a GroupRow: the owners of the group row aliased `alias`, aggregated in its own statement. */
export const ownerIdsColumn = (alias: string): string =>
  `coalesce((SELECT array_agg(o.user_id::text ORDER BY o.user_id) FROM group_owners o WHERE o.tenant_id = ${alias}.tenant_id AND o.group_id = ${alias}.id), '{}') AS owner_ids`;

export function toGroup(r: GroupRow): Group {
  return {
    id: r.id,
    seq: Number(r.seq),
    tenantId: r.tenant_id,
    name: r.name,
    key: r.key,
    externalId: r.external_id,
    description: r.description,
    type: r.type,
    visibility: r.visibility,
    state: r.state,
    rulesVisible: r.rules_visible,
    images: r.images,
    addresses: r.addresses,
    properties: r.properties,
    wildcards: r.wildcards,
    system: r.system,
    ownerUserId: r.owner_user_id,
    ownerIds: r.owner_ids ?? [],
    memberCount: r.member_count,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

