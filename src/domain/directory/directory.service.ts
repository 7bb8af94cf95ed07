import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { GroupStillReferenced, SystemGroupUndeletable } from '../access/access.errors';
import { detachGroupReferences, findGroupReferrers } from '../access/access.repository';
import { InvalidInput, NotFound } from '../errors';
import type { Group, GroupChanges, NewGroup } from '../groups/group';
import { viewerOf } from '../groups/group-members.service';
import { visibleGroupIds } from '../groups/groups.repository';
import { groupsService, loadVisibleGroup } from '../groups/groups.service';
import { countGroupsWhere } from '../memberships/groups-query.repository';
import { membershipService } from '../memberships/membership.service';
import { isUuid } from '../ids';
import type { Principal } from '../principal';
import { wildcardsCriteria } from '../groups/wildcards';
import {
  countTenantGroups,
  findGroupBriefsBySeqs,
  findGroupSummaries,
  findGroupSummaryHeads,
  findGroupUsersTexts,
  findUserBriefsByIds,
  findUserBriefsBySeqs,
  findRelatedGroups,
  findTenantPid,
  lockGroup,
  type GroupBrief,
  type GroupSummaryRow,
} from './directory.repository';

/** What to do with ACL entries and owner references naming a group that is being deleted. */
export type ReferencePolicy = 'refuse' | 'detach';

export interface GroupSummaryPage {
  pid: number;
  items: GroupSummaryRow[];
  total: number;
}

/** A page of groups whose members are read as it is sent: `chunks` yields its groups in order, a few at a time. */
export interface GroupSummaryList {
  pid: number;
  total: number;
  chunks: AsyncIterable<GroupSummaryRow[]>;
}

/**
 * Members per statement of a v1 list page (by the groups' stored member counts; a bigger group is
 * read alone): ~700 KB of text. A page may hold 1,000 groups; read in one statement, a page of big
 * groups was held whole (seven bytes per membership: 70 MB for ten million), now it is a chunk.
 */
export const V1_MEMBERS_PER_READ = 100_000;

/**
 * Group use cases shared by the integer-id and client-id dialects: summaries with user members,
 * replace-style membership writes, and deletes that respect system groups and references. Every
 * method runs in one transaction (joining the caller's when given one).
 */
export function directoryService(db: Db | Executor) {
  const core = (trx: Executor) => ({ groups: groupsService(trx as Db), memberships: membershipService(trx as Db) });

  /**
   * Makes the group's direct members of one kind exactly `ids` (ids already checked to exist):
   * the others go in one statement, whatever their number; the wanted ones are added.
   */
  async function replaceMembers(trx: Executor, p: Principal, groupId: string, kind: 'user' | 'group', ids: string[]): Promise<void> {
    const wanted = [...new Set(ids)];
    const { memberships } = core(trx);
    await memberships.removeMembersExcept(p, groupId, kind, wanted);
    if (wanted.length) await memberships.addMembers(p, groupId, wanted.map((id) => ({ kind, id })));
  }

  return {
    /**
     * Resolves integer ids to groups of the tenant; unknown ones are NotFound (all or nothing).
     * A token acting as a user does not find the groups hidden from it (visibility), as in Groups v2.
     */
    async groupsBySeqs(p: Principal, seqs: number[], forUpdate = false): Promise<GroupBrief[]> {
      let found = await findGroupBriefsBySeqs(db, p.tenantId, seqs, { forUpdate });
      const viewer = found.length ? await viewerOf(db, p) : undefined;
      if (viewer) {
        const visible = await visibleGroupIds(db, p.tenantId, found.map((g) => g.id), viewer);
        found = found.filter((g) => visible.has(g.id));
      }
      const missing = [...new Set(seqs)].filter((s) => !found.some((g) => g.seq === s));
      if (missing.length) throw new NotFound('group', missing.join(', '));
      return found;
    },

    /** Users named by integer id (seq) or uuid; any unknown one is an InvalidInput naming them all. */
    async userIdsOf(p: Principal, refs: (number | string)[]): Promise<string[]> {
      const seqs = refs.filter((r) => typeof r === 'number' || /^\d{1,16}$/.test(r)).map(Number);
      const uuids = refs.filter((r): r is string => typeof r === 'string' && isUuid(r)).map((r) => r.toLowerCase());
      const found = [...(await findUserBriefsBySeqs(db, p.tenantId, seqs)), ...(await findUserBriefsByIds(db, p.tenantId, uuids))];
      // CASE: looked up in sets: a search of `found` per ref was quadratic (50,000 users: 73 s with the event loop blocked).
      const foundSeqs = new Set(found.map((u) => u.seq));
      const foundIds = new Set(found.map((u) => u.id));
      const missing = refs.filter((r) => (typeof r === 'number' || /^\d+$/.test(r) ? !foundSeqs.has(Number(r)) : !foundIds.has(String(r).toLowerCase())));
      if (missing.length) throw new InvalidInput(`unknown user ids: ${missing.slice(0, 20).join(', ')}`, { field: 'users', ids: missing.slice(0, 100) });
      return [...new Set(found.map((u) => u.id))];
    },

    async summaries(p: Principal, page: { offset: number; limit: number; ids?: string[] }): Promise<GroupSummaryPage> {
      const [pid, items, total] = [await findTenantPid(db, p.tenantId), await findGroupSummaries(db, p.tenantId, page), page.ids ? page.ids.length : await countTenantGroups(db, p.tenantId)];
      return { pid, items, total };
    },

    /**
     * A page of groups (in group order) whose user members are read a chunk of groups at a time,
     * up to `membersPerRead` members per statement by their stored counts, as the caller asks for
     * the next chunk; a group without members needs no read.
     */
    async summaryList(p: Principal, page: { offset: number; limit: number }, membersPerRead = V1_MEMBERS_PER_READ): Promise<GroupSummaryList> {
      // A token acting as a user lists and counts only the groups it may see (visibility).
      const viewer = await viewerOf(db, p);
      const [pid, heads, total] = [
        await findTenantPid(db, p.tenantId),
        await findGroupSummaryHeads(db, p.tenantId, page, viewer),
        viewer ? await countGroupsWhere(db, p.tenantId, undefined, viewer) : await countTenantGroups(db, p.tenantId),
      ];
      async function* chunks(): AsyncGenerator<GroupSummaryRow[]> {
        for (let start = 0; start < heads.length; ) {
          let end = start + 1;
          for (let members = heads[start].memberCount; end < heads.length && members + heads[end].memberCount <= membersPerRead; end++) members += heads[end].memberCount;
          const chunk = heads.slice(start, end);
          const withMembers = chunk.filter((g) => g.memberCount > 0).map((g) => g.id);
          const texts = withMembers.length ? await findGroupUsersTexts(db, p.tenantId, withMembers) : new Map<string, { usersText: string; membershipCount: number }>();
          yield chunk.map(({ memberCount: _count, ...g }) => ({ ...g, ...(texts.get(g.id) ?? { usersText: '', membershipCount: 0 }) }));
          start = end;
        }
      }
      return { pid, total, chunks: chunks() };
    },

    /** Creates a group and, when given, makes `userIds` its direct user members. */
    async createGroup(p: Principal, input: NewGroup, userIds?: string[]): Promise<Group> {
      if (input.wildcards) wildcardsCriteria(input.wildcards);
      return inTransaction(db, async (trx) => {
        const group = await core(trx).groups.createGroup(p, input);
        if (userIds?.length) await replaceMembers(trx, p, group.id, 'user', userIds);
        return group;
      });
    },

    /** Applies changes and, when given, replaces the direct user members. */
    async updateGroup(p: Principal, groupId: string, changes: GroupChanges, userIds?: string[]): Promise<Group> {
      if (changes.wildcards) wildcardsCriteria(changes.wildcards);
      return inTransaction(db, async (trx) => {
        if (!(await lockGroup(trx, p.tenantId, groupId))) throw new NotFound('group', groupId);
        let group = await core(trx).groups.updateGroup(p, groupId, changes);
        if (userIds) {
          await replaceMembers(trx, p, groupId, 'user', userIds);
          group = await loadVisibleGroup(trx, p, groupId);
        }
        return group;
      });
    },

    /** Makes the group's direct members of one kind exactly these (users or groups, by uuid). */
    replaceMembers: (p: Principal, groupId: string, kind: 'user' | 'group', ids: string[]): Promise<void> =>
      inTransaction(db, async (trx) => {
        if (!(await lockGroup(trx, p.tenantId, groupId))) throw new NotFound('group', groupId);
        await replaceMembers(trx, p, groupId, kind, ids);
      }),

    /** Makes the group a direct member of exactly these parent groups. */
    async replaceParents(p: Principal, groupId: string, parentIds: string[]): Promise<void> {
      await inTransaction(db, async (trx) => {
        const wanted = new Set(parentIds);
        const current = await findRelatedGroups(trx, p.tenantId, groupId, 'parents');
        const { memberships } = core(trx);
        for (const parent of current.filter((g) => !wanted.has(g.id))) {
          await memberships.removeMembers(p, parent.id, [{ kind: 'group', id: groupId }]);
        }
        for (const parentId of wanted) {
          if (current.some((g) => g.id === parentId)) continue;
          await memberships.addMembers(p, parentId, [{ kind: 'group', id: groupId }]);
        }
      });
    },

    /**
     * Deletes the groups, all or nothing. System groups are refused; groups other groups name in
     * their ACL or as owner are refused or detached first, as `references` says.
     */
    async removeGroups(p: Principal, groups: GroupBrief[], references: ReferencePolicy): Promise<void> {
      if (!groups.length) throw new InvalidInput('no groups to delete');
      await inTransaction(db, async (trx) => {
        for (const g of groups) {
          if (!(await lockGroup(trx, p.tenantId, g.id))) throw new NotFound('group', String(g.seq));
          if (g.system) throw new SystemGroupUndeletable(g.seq);
        }
        const referrers = await findGroupReferrers(trx, p.tenantId, groups.map((g) => g.id));
        for (const g of groups) {
          const by = referrers.get(g.id);
          if (!by?.length) continue;
          if (references === 'refuse') throw new GroupStillReferenced(g.seq, by);
          await detachGroupReferences(trx, p.tenantId, g.id);
        }
        for (const g of groups) await core(trx).groups.deleteGroup(p, g.id);
      });
    },
  };
}

export type DirectoryService = ReturnType<typeof directoryService>;
