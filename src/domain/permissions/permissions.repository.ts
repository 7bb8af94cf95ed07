import type { Executor } from '../../db/transaction';
import type { ObjectPermission } from './catalogue';

interface PermissionRow {
  group_id: string;
  object_type: string;
  object_id: string;
  permissions: string[];
}

const toPermission = (r: PermissionRow): ObjectPermission => ({ objectType: r.object_type, objectId: r.object_id, permissions: r.permissions });

/** A group's permission objects, ordered by type and numeric object id. */
export async function findGroupPermissions(db: Executor, tenantId: string, groupId: string): Promise<ObjectPermission[]> {
  const rows: PermissionRow[] = await db('group_object_permissions')
    .select('group_id', 'object_type', 'object_id', 'permissions')
    .where({ tenant_id: tenantId, group_id: groupId })
    .orderBy('object_type')
    .orderByRaw('length(object_id), object_id');
  return rows.map(toPermission);
}

/** Replaces a group's permission objects in two set-based statements. */
export async function replaceGroupPermissions(db: Executor, tenantId: string, groupId: string, entries: ObjectPermission[]): Promise<void> {
  await db('group_object_permissions').where({ tenant_id: tenantId, group_id: groupId }).delete();
  if (!entries.length) return;
  await db.raw(
    `INSERT INTO group_object_permissions (tenant_id, group_id, object_type, object_id, permissions)
     SELECT ?, ?, o.t, o.i, string_to_array(o.p, ',') FROM unnest(?::text[], ?::text[], ?::text[]) AS o(t, i, p)`,
    [tenantId, groupId, entries.map((e) => e.objectType), entries.map((e) => e.objectId), entries.map((e) => e.permissions.join(','))],
  );
}

/** The permission rows of any of the groups on any of the objects, with each group's seq. */
export async function findPermissionsOn(
  db: Executor,
  tenantId: string,
  groupIds: string[],
  objects: { objectType: string; objectId: string }[],
): Promise<(ObjectPermission & { groupId: string; groupSeq: number })[]> {
  if (!groupIds.length || !objects.length) return [];
  const result = await db.raw(
    `SELECT p.group_id, p.object_type, p.object_id, p.permissions, g.seq
       FROM group_object_permissions p
       JOIN unnest(?::text[], ?::text[]) AS o(t, i) ON p.object_type = o.t AND p.object_id = o.i
       JOIN groups g ON g.tenant_id = p.tenant_id AND g.id = p.group_id
      WHERE p.tenant_id = ? AND p.group_id = ANY(?::uuid[])
      ORDER BY g.seq`,
    [objects.map((o) => o.objectType), objects.map((o) => o.objectId), tenantId, groupIds],
  );
  return (result.rows as (PermissionRow & { seq: string | number })[]).map((r) => ({ ...toPermission(r), groupId: r.group_id, groupSeq: Number(r.seq) }));
}
