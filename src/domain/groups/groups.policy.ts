import type { Executor } from '../../db/transaction';
import { Forbidden, NotFound } from '../errors';
import { isMemberOrOwner } from '../memberships/memberships.repository';
import type { Principal } from '../principal';
import type { Group } from './group';
import { findRuleGroupIdsForUser } from './group-members.repository';

/**
 * Visibility `members`/`owners` hides a group from tokens acting as users who are not members or
 * owners. A member is added directly or included by one of the group's rules (wildcards).
 * Tokens that do not act as a user (integrations) see every group of their tenant.
 * A hidden group is reported as not found, so its existence is not confirmed.
 */
export async function assertCanSee(db: Executor, p: Principal, group: Group): Promise<void> {
  if (group.visibility === 'public' || !p.userId) return;
  const rel = await isMemberOrOwner(db, p.tenantId, group.id, p.userId);
  let visible = group.visibility === 'members' ? rel.member || rel.owner : rel.owner;
  if (!visible && group.visibility === 'members' && group.wildcards.length) {
    visible = (await findRuleGroupIdsForUser(db, p.tenantId, p.userId, [group])).length > 0;
  }
  if (!visible) throw new NotFound('group', group.id);
}

/** Rights that may change any group's members; other principals must own the group. */
const MEMBER_MANAGER_RIGHTS = ['admin', 'group_administration', 'scim_provisioning'];

/**
 * The membership rules show to everyone when the group's `rulesVisible` is set, and always to
 * those who may change the group's members (they need the rules to edit them).
 */
export function canSeeRules(p: Principal, group: Group): boolean {
  if (group.rulesVisible) return true;
  if (MEMBER_MANAGER_RIGHTS.some((r) => p.rights.has(r))) return true;
  return Boolean(p.userId && group.ownerIds.includes(p.userId));
}

/** Member adds and removes are allowed to administrators and to the group's owners. */
export function assertCanManageMembers(p: Principal, group: Group): void {
  if (MEMBER_MANAGER_RIGHTS.some((r) => p.rights.has(r))) return;
  if (p.userId && group.ownerIds.includes(p.userId)) return;
  throw new Forbidden('changing members needs admin, group_administration or scim_provisioning, or ownership of the group', MEMBER_MANAGER_RIGHTS);
}
