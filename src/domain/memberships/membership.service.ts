import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import { InvalidInput, VersionMismatch } from '../errors';
import { touchGroup } from '../groups/groups.repository';
import { assertMayChangeWhoIsIn } from '../access/conferred';
import { assertCanManageMembers } from '../groups/groups.policy';
import { loadVisibleGroup } from '../groups/groups.service';
import { isUuid } from '../ids';
import { actorOf, type Principal } from '../principal';
import type { MemberKind, MemberRef } from './membership';
import { deleteMembers, deleteMembersOfKindExcept, findMemberPage, insertMembers, lockExisting, lockHierarchy, wouldCreateCycle } from './memberships.repository';

/** Most member ids accepted in one request. */
export const MAX_MEMBERS_PER_CHANGE = 100_000;

import { LISTED_ADDITIONS, LISTED_REMOVALS } from './membership-events';

export { LISTED_ADDITIONS, LISTED_REMOVALS };

export interface MembershipChange {
  added: MemberRef[];
  removed: MemberRef[];
  version: number;
}

function byKind(members: MemberRef[]): Record<MemberKind, string[]> {
  const out: Record<MemberKind, string[]> = { user: [], group: [] };
  for (const m of members) out[m.kind].push(m.id);
  return { user: [...new Set(out.user)], group: [...new Set(out.group)] };
}

function checkSize(members: MemberRef[]): void {
  if (members.length > MAX_MEMBERS_PER_CHANGE) {
    throw new InvalidInput(`at most ${MAX_MEMBERS_PER_CHANGE} members per request`);
  }
}

/**
 * Membership use cases. Changes are set-based statements (insert many / delete by list); the
 * member list is never loaded to be changed, so concurrent writers cannot lose each other's work.
 */
export function membershipService(db: Db) {
  return {
    /** Adds users and groups to a group. Unknown ids are refused (nothing is written); cycles too. */
    async addMembers(p: Principal, groupId: string, members: MemberRef[], expectedVersion?: number): Promise<MembershipChange> {
      checkSize(members);
      const ids = byKind(members);
      return inTransaction(db, async (trx) => {
        if (ids.group.length) await lockHierarchy(trx, p.tenantId);
        const group = await loadVisibleGroup(trx, p, groupId, true);
        assertCanManageMembers(p, group);
        await assertMayChangeWhoIsIn(trx, p, group.id);
        if (expectedVersion !== undefined && expectedVersion !== group.version) {
          throw new VersionMismatch(expectedVersion, group.version);
        }
        for (const kind of ['user', 'group'] as const) {
          const wanted = ids[kind];
          const found = await lockExisting(trx, p.tenantId, kind, wanted.filter(isUuid));
          const missing = wanted.filter((id) => !found.has(id));
          if (missing.length) {
            throw new InvalidInput(`unknown ${kind} ids: ${missing.slice(0, 20).join(', ')}`, { kind, ids: missing.slice(0, 100) });
          }
        }
        if (await wouldCreateCycle(trx, p.tenantId, groupId, ids.group)) {
          throw new InvalidInput('adding these groups would create a membership cycle', { field: 'members' });
        }
        const addedUsers = await insertMembers(trx, p.tenantId, groupId, 'user', ids.user);
        const addedGroups = await insertMembers(trx, p.tenantId, groupId, 'group', ids.group);
        const added: MemberRef[] = [
          ...addedUsers.map((id) => ({ kind: 'user' as const, id })),
          ...addedGroups.map((id) => ({ kind: 'group' as const, id })),
        ];
        if (!added.length) return { added, removed: [], version: group.version };
        const version = await touchGroup(trx, p.tenantId, groupId, added.length);
        const listed = added.length > LISTED_ADDITIONS ? { added: added.slice(0, LISTED_ADDITIONS), addedCount: added.length } : { added };
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'membership.added', resourceType: 'membership', resourceId: groupId, after: listed });
        return { added, removed: [], version };
      });
    },

    /** Removes members by id; ids that are not members are ignored. */
    async removeMembers(p: Principal, groupId: string, members: MemberRef[], expectedVersion?: number): Promise<MembershipChange> {
      checkSize(members);
      const ids = byKind(members.filter((m) => isUuid(m.id)));
      return inTransaction(db, async (trx) => {
        const group = await loadVisibleGroup(trx, p, groupId, true);
        assertCanManageMembers(p, group);
        await assertMayChangeWhoIsIn(trx, p, group.id);
        if (expectedVersion !== undefined && expectedVersion !== group.version) {
          throw new VersionMismatch(expectedVersion, group.version);
        }
        const removedUsers = await deleteMembers(trx, p.tenantId, groupId, 'user', ids.user);
        const removedGroups = await deleteMembers(trx, p.tenantId, groupId, 'group', ids.group);
        const removed: MemberRef[] = [
          ...removedUsers.map((id) => ({ kind: 'user' as const, id })),
          ...removedGroups.map((id) => ({ kind: 'group' as const, id })),
        ];
        if (!removed.length) return { added: [], removed, version: group.version };
        const version = await touchGroup(trx, p.tenantId, groupId, -removed.length);
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'membership.removed', resourceType: 'membership', resourceId: groupId, before: { removed } });
        return { added: [], removed, version };
      });
    },

    /**
     * Removes every direct member of one kind that is not in `keep`, in one statement (what a
     * replace of that kind removes): the group's size does not matter, only the request's.
     * Its `membership.removed` event lists the first LISTED_REMOVALS ids and counts them all.
     */
    async removeMembersExcept(p: Principal, groupId: string, kind: MemberKind, keep: string[]): Promise<{ removed: number; version: number }> {
      checkSize(keep.map((id) => ({ kind, id })));
      return inTransaction(db, async (trx) => {
        const group = await loadVisibleGroup(trx, p, groupId, true);
        assertCanManageMembers(p, group);
        await assertMayChangeWhoIsIn(trx, p, group.id);
        const gone = await deleteMembersOfKindExcept(trx, p.tenantId, groupId, kind, [...new Set(keep.filter(isUuid))], LISTED_REMOVALS);
        if (!gone.count) return { removed: 0, version: group.version };
        const version = await touchGroup(trx, p.tenantId, groupId, -gone.count);
        const removed = gone.ids.map((id) => ({ kind, id }));
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'membership.removed', resourceType: 'membership', resourceId: groupId, before: { removed, removedCount: gone.count } });
        return { removed: gone.count, version };
      });
    },

    /** A page of direct members. */
    async listMembers(p: Principal, groupId: string, offset: number, limit: number): Promise<{ items: MemberRef[]; total: number }> {
      const group = await loadVisibleGroup(db, p, groupId);
      const items = await findMemberPage(db, p.tenantId, groupId, offset, limit);
      return { items, total: group.memberCount };
    },
  };
}

export type MembershipService = ReturnType<typeof membershipService>;
