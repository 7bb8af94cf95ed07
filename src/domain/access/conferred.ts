import type { Executor } from '../../db/transaction';
import { Forbidden } from '../errors';
import { findPermissionsOn } from '../permissions/permissions.repository';
import type { Principal } from '../principal';
import { findConferred, findUserGroupIds } from './access.repository';
import { mergeRightsSpecs, rightsOf } from './rights-spec';

/**
 * Changing who is in a group (its members, nested groups or membership rules) gives or takes
 * what the group confers on its members: the `_system_rights` of it and of the groups above it,
 * and for a token acting as a user, their v1 object permissions. Nobody may hand out what it does
 * not hold (as assertMayGrant and the v1 permission rules already say for the rights
 * themselves), so the caller must hold all of it. Otherwise a holder of `group_administration`
 * could add itself to a group that gives `admin`.
 *
 * `admin` holds everything (no statement). A token that acts as nobody and holds
 * `scim_provisioning` is the identity provider, the source of truth for who is in which group
 * (an IdP pushing users into a group that gives rights is how such rights are meant to be
 * given); it is trusted as it is with users and passwords.
 */
export async function assertMayChangeWhoIsIn(db: Executor, p: Principal, groupId: string): Promise<void> {
  if (p.rights.has('admin')) return;
  if (!p.userId && p.rights.has('scim_provisioning')) return;
  const conferred = await findConferred(db, p.tenantId, groupId, Boolean(p.userId));
  const missing = rightsOf(mergeRightsSpecs(conferred.systemRights)).filter((r) => !p.rights.has(r));
  if (missing.length) {
    throw new Forbidden(`changing who is in this group needs the rights it gives its members, and you do not hold ${missing.join(', ')}`, missing);
  }
  if (!p.userId || !conferred.permissions.length) return;
  const held = new Map<string, Set<string>>();
  const key = (o: { objectType: string; objectId: string }) => `${o.objectType}:${o.objectId}`;
  const mine = await findPermissionsOn(db, p.tenantId, await findUserGroupIds(db, p.tenantId, p.userId), conferred.permissions);
  for (const row of mine) {
    const set = held.get(key(row)) ?? new Set<string>();
    row.permissions.forEach((x) => set.add(x));
    held.set(key(row), set);
  }
  for (const o of conferred.permissions) {
    const lacking = o.permissions.filter((x) => !held.get(key(o))?.has(x));
    if (lacking.length) {
      throw new Forbidden(`changing who is in this group needs the permissions it gives its members, and you do not hold ${lacking.join(', ')} on ${o.objectType} ${o.objectId}`);
    }
  }
}
