import type { GroupSummaryRow } from '../../domain/directory/directory.repository';
import type { ObjectPermission } from '../../domain/permissions/catalogue';
import type { EffectivePermissions } from '../../domain/permissions/permissions.service';

/** A group in the v1 shape: integer groupId (seq), the tenant's pid, direct user members by integer id. */
export function presentV1Group(pid: number, g: GroupSummaryRow) {
  return {
    groupId: g.seq,
    pid,
    name: g.name,
    description: g.description,
    membershipCount: g.userSeqs.length,
    wildcards: g.wildcards,
    users: g.userSeqs,
  };
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
