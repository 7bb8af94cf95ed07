import type { GroupSummaryRow } from '../../domain/directory/directory.repository';
import type { ObjectPermission } from '../../domain/permissions/catalogue';
import type { EffectivePermissions } from '../../domain/permissions/permissions.service';

/**
 * A group in the v1 shape, as JSON text: integer groupId (seq), the tenant's pid, the direct user
 * members by integer id, their list copied as PostgreSQL wrote it (findGroupSummaries).
 */
export function v1GroupText(pid: number, g: GroupSummaryRow): string {
  return (
    `{"groupId":${g.seq},"pid":${pid},"name":${JSON.stringify(g.name)},"description":${JSON.stringify(g.description)},` +
    `"membershipCount":${g.membershipCount},"wildcards":${JSON.stringify(g.wildcards)},"users":[${g.usersText}]}`
  );
}

/** A permission object; object ids are integers on the way out, whatever form they came in. */
export function presentPermission(p: ObjectPermission) {
  return { objectId: Number(p.objectId), objectType: p.objectType, permissions: p.permissions };
}

export function presentEffective(e: EffectivePermissions) {
  return {
    userId: e.user.seq,
    objectType: e.objectType,
    objectId: Number(e.objectId),
    permissions: e.permissions,
    groups: e.groupSeqs,
  };
}
