import type { Db } from '../../db/knex';
import type { Executor } from '../../db/transaction';
import type { Principal } from '../principal';
import type { UserSummary } from '../users/user';
import type { Group, GroupViewer, Page, PeopleQuery } from './group';
import { isUuid } from '../ids';
import { findPeoplePage, findPeoplePageOfPlainGroup, findRuleGroupIdsForUser, type PeopleScope } from './group-members.repository';

/** Loads a group the principal may see or throws NotFound (groups.service's loadVisibleGroup). */
export type LoadVisibleGroup = (db: Executor, p: Principal, id: string) => Promise<Group>;

/** The viewer a listing filters for: set when the token acts as a user, otherwise every group shows. */
export async function viewerOf(db: Executor, p: Principal): Promise<GroupViewer | undefined> {
  if (!p.userId) return undefined;
  return { userId: p.userId, ruleGroupIds: await findRuleGroupIdsForUser(db, p.tenantId, p.userId) };
}

/** Reading the people of a group: one page at a time, from SQL, whatever the group's size. */
export function groupMembersService(db: Db, loadVisibleGroup: LoadVisibleGroup) {
  const people = async (p: Principal, groupId: string, scope: PeopleScope, q: PeopleQuery): Promise<Page<UserSummary>> => {
    // CASE: most groups have no rules and need no membership check to be seen: one statement.
    const plain = isUuid(groupId) ? await findPeoplePageOfPlainGroup(db, p.tenantId, groupId, scope, q, Boolean(p.userId)) : undefined;
    if (plain) return plain;
    const group = await loadVisibleGroup(db, p, groupId);
    return findPeoplePage(db, p.tenantId, group, scope, q);
  };
  return {
    /** Individuals, owners and the users the group's rules include, each once. */
    listGroupPeople: (p: Principal, groupId: string, q: PeopleQuery) => people(p, groupId, 'all', q),
    /** Only the users added to the group directly. */
    listGroupIndividuals: (p: Principal, groupId: string, q: PeopleQuery) => people(p, groupId, 'direct', q),
  };
}
