import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import { Conflict, InvalidInput, NotFound, VersionMismatch } from '../errors';
import { isUuid } from '../ids';
import { MAX_NAME_LENGTH } from '../text-limits';
import { lockExisting, removeFromAllGroups } from '../memberships/memberships.repository';
import { actorOf, type Principal } from '../principal';
import type { UserGroupRef } from '../users/user';
import { findGroupsOfUsers } from '../users/users.repository';
import type { Group, GroupChanges, GroupListQuery, GroupViewer, NewGroup, Page } from './group';
import { assertMayChangeWhoIsIn } from '../access/conferred';
import { groupMembersService, viewerOf } from './group-members.service';
import { assertCanSee } from './groups.policy';
import { findGroupPageWithTotal } from './groups-page.repository';
import { q64Service } from './q64';
import { wildcardsCriteria } from './wildcards';
import {
  deleteGroupRow,
  findGroupById,
  insertGroup,
  replaceOwners,
  updateGroup,
} from './groups.repository';

/** A snapshot of a group for the audit log (no tenant id, no internals). */
function auditView(g: Group): Record<string, unknown> {
  const { tenantId: _t, seq: _s, createdAt: _c, ...rest } = g;
  return rest;
}

function checkName(name: string | undefined): void {
  if (name === undefined) return;
  if (!name.trim()) throw new InvalidInput('a group needs a non-empty name', { field: 'name' });
  if (name.length > MAX_NAME_LENGTH) throw new InvalidInput(`a group name is at most ${MAX_NAME_LENGTH} characters`, { field: 'name' });
}

/** Dynamic membership rules must parse before they are stored. */
function checkRules(rules: string[] | undefined): void {
  if (rules !== undefined) wildcardsCriteria(rules);
}

async function checkOwners(trx: Executor, tenantId: string, ownerIds: string[] | undefined): Promise<void> {
  if (!ownerIds?.length) return;
  const bad = ownerIds.filter((id) => !isUuid(id));
  const found = await lockExisting(trx, tenantId, 'user', ownerIds.filter(isUuid));
  const missing = [...bad, ...ownerIds.filter((id) => isUuid(id) && !found.has(id))];
  if (missing.length) throw new InvalidInput(`unknown owner ids: ${missing.join(', ')}`, { field: 'ownerIds', ids: missing });
}

/** Loads a group the principal may see, or throws NotFound (malformed ids included). */
export async function loadVisibleGroup(db: Executor, p: Principal, id: string, forUpdate = false): Promise<Group> {
  if (!isUuid(id)) throw new NotFound('group', id);
  const group = await findGroupById(db, p.tenantId, id, { forUpdate });
  if (!group) throw new NotFound('group', id);
  await assertCanSee(db, p, group);
  return group;
}

/** Group use cases: every change runs in one transaction with its audit event. */
export function groupsService(db: Db) {
  return {
    async createGroup(p: Principal, input: NewGroup): Promise<Group> {
      checkName(input.name);
      checkRules(input.wildcards);
      return inTransaction(db, async (trx) => {
        await checkOwners(trx, p.tenantId, input.ownerIds);
        const id = await insertGroup(trx, p.tenantId, input, p.userId ?? null);
        if (input.ownerIds?.length) await replaceOwners(trx, p.tenantId, id, [...new Set(input.ownerIds)]);
        const group = (await findGroupById(trx, p.tenantId, id))!;
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.created', resourceType: 'group', resourceId: id, after: auditView(group) });
        return group;
      });
    },

    getGroup: (p: Principal, id: string): Promise<Group> => loadVisibleGroup(db, p, id),

    /**
     * A page of the groups the principal may see, optionally narrowed by ids and criteria (the
     * Groups v2 search) and sorted by attributes. Bad criteria are InvalidInput.
     */
    async listGroups(p: Principal, query: GroupListQuery): Promise<Page<Group>> {
      const ids = query.ids?.filter(isUuid);
      if (query.ids && !ids?.length) return { items: [], total: 0 };
      const viewer = await viewerOf(db, p);
      const narrowed = { ...query, ids };
      return findGroupPageWithTotal(db, p.tenantId, narrowed, viewer);
    },

    ...groupMembersService(db, loadVisibleGroup),
    ...q64Service(db),

    /** Whom the principal's listings are for: a GroupViewer when the token acts as a user, else undefined (and no statement). */
    viewerOf: (p: Principal): Promise<GroupViewer | undefined> => viewerOf(db, p),

    /**
     * The direct groups of the given users that the principal may see (SCIM's readOnly `groups`):
     * all of them for a token acting as no user, as Groups v2 lists them for one acting as a user.
     */
    async groupsOfUsers(p: Principal, userIds: string[]): Promise<Map<string, UserGroupRef[]>> {
      return findGroupsOfUsers(db, p.tenantId, userIds, await viewerOf(db, p));
    },

    /**
     * Applies the given changes (absent fields stay as they are). With `expectedVersion`, the
     * change only happens when it equals the stored version (optimistic concurrency).
     */
    async updateGroup(p: Principal, id: string, changes: GroupChanges, expectedVersion?: number): Promise<Group> {
      checkName(changes.name);
      checkRules(changes.wildcards);
      return inTransaction(db, async (trx) => {
        const before = await loadVisibleGroup(trx, p, id, true);
        if (expectedVersion !== undefined && expectedVersion !== before.version) {
          throw new VersionMismatch(expectedVersion, before.version);
        }
        await checkOwners(trx, p.tenantId, changes.ownerIds);
        // Membership rules decide who is in the group, as its members do.
        if (changes.wildcards !== undefined && !isDeepStrictEqual(changes.wildcards, before.wildcards)) await assertMayChangeWhoIsIn(trx, p, id);
        const { ownerIds, ...columns } = changes;
        await updateGroup(trx, p.tenantId, id, columns);
        if (ownerIds) await replaceOwners(trx, p.tenantId, id, [...new Set(ownerIds)]);
        const after = (await findGroupById(trx, p.tenantId, id))!;
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.updated', resourceType: 'group', resourceId: id, before: auditView(before), after: auditView(after) });
        return after;
      });
    },

    /** Deletes a group and removes it from the groups it was nested in. System groups stay. */
    async deleteGroup(p: Principal, id: string, expectedVersion?: number): Promise<void> {
      await inTransaction(db, async (trx) => {
        const before = await loadVisibleGroup(trx, p, id, true);
        if (before.system) throw new Conflict('a system group cannot be deleted', { id });
        if (expectedVersion !== undefined && expectedVersion !== before.version) {
          throw new VersionMismatch(expectedVersion, before.version);
        }
        await removeFromAllGroups(trx, p.tenantId, { kind: 'group', id });
        await deleteGroupRow(trx, p.tenantId, id);
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.deleted', resourceType: 'group', resourceId: id, before: auditView(before) });
      });
    },
  };
}

export type GroupsService = ReturnType<typeof groupsService>;
