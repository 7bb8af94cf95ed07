import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { AlreadyExists, InvalidInput, NotFound } from '../errors';
import type { Group, GroupChanges } from '../groups/group';
import { viewerOf } from '../groups/group-members.service';
import { groupsService, loadVisibleGroup } from '../groups/groups.service';
import { isUuid } from '../ids';
import { membershipService } from '../memberships/membership.service';
import type { Principal } from '../principal';
import {
  findGroupBriefByKeyOrId,
  findGroupBriefsByIds,
  findGroupBriefsByKeysOrIds,
  findMemberUserNamesJson,
  findRelatedGroups,
  findUserBriefsByRefs,
  lockGroup,
  type GroupBrief,
} from './directory.repository';
import { directoryService } from './directory.service';

/**
 * Groups addressed by a client-chosen id (`groups.key`), with a label, a description, free
 * key/value properties and member lists named by user id or user name and by group id. The
 * group entity dialect is a thin adapter over this.
 */
export interface KeyedGroupInput {
  /** The label (the group's display name); defaults to the id. null resets it to the id. */
  label?: string | null;
  description?: string | null;
  /** Free properties: merged on update, a null value removes the key. */
  properties?: Record<string, unknown>;
  memberUsers?: string[];
  memberGroups?: string[];
  parentGroups?: string[];
}

/** Properties the entity keeps in columns rather than in the free map. */
export const RESERVED_PROPERTIES = ['groupname', 'grouplabel', 'description'];

export interface KeyedGroup {
  group: Group;
  /** The client-chosen id, or the uuid for groups made in other dialects. */
  ref: string;
}

export interface GroupRelations {
  /** The member user names as the text of a JSON array (findMemberUserNamesJson). */
  memberUsersJson?: string;
  memberGroups?: string[];
  parentGroups?: string[];
}

const refOf = (g: { key: string | null; id: string }) => g.key ?? g.id;

/** Checks a client-chosen group id: non-empty, at most 255 characters, no "/" and no control characters. */
export function checkGroupKey(key: unknown): string {
  if (typeof key !== 'string' || !key.trim() || key.length > 255 || /[/\u0000-\u001f\u007f]/.test(key)) {
    throw new InvalidInput('a group id is a non-empty string of at most 255 characters without "/" or control characters', { field: 'id' });
  }
  return key;
}

function mergeProperties(current: Record<string, unknown>, given: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!given) return undefined;
  const out = { ...current };
  for (const [k, v] of Object.entries(given)) {
    if (RESERVED_PROPERTIES.includes(k)) continue;
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

async function userIds(trx: Executor, p: Principal, refs: string[]): Promise<string[]> {
  const found = await findUserBriefsByRefs(trx, p.tenantId, refs);
  const missing = refs.filter((r) => !found.has(r));
  if (missing.length) throw new InvalidInput(`unknown users: ${missing.slice(0, 20).join(', ')}`, { field: 'memberUsers', ids: missing.slice(0, 100) });
  return refs.map((r) => found.get(r)!.id);
}

async function groupIds(trx: Executor, p: Principal, refs: string[], field: string): Promise<string[]> {
  const found = await findGroupBriefsByKeysOrIds(trx, p.tenantId, refs);
  const missing = refs.filter((r) => !found.has(r));
  if (missing.length) throw new InvalidInput(`unknown groups: ${missing.slice(0, 20).join(', ')}`, { field, ids: missing.slice(0, 100) });
  return refs.map((r) => found.get(r)!.id);
}

export function keyedGroupsService(db: Db) {
  async function resolve(trx: Executor, p: Principal, ref: string): Promise<GroupBrief> {
    const brief = await findGroupBriefByKeyOrId(trx, p.tenantId, ref);
    if (!brief) throw new NotFound('group', ref);
    await loadVisibleGroup(trx, p, brief.id);
    return brief;
  }

  /** Applies the member lists that are present, each as an exact replacement. */
  async function applyRelations(trx: Executor, p: Principal, groupId: string, input: KeyedGroupInput): Promise<void> {
    const directory = directoryService(trx);
    if (input.memberUsers) await directory.replaceMembers(p, groupId, 'user', await userIds(trx, p, input.memberUsers));
    if (input.memberGroups) await directory.replaceMembers(p, groupId, 'group', await groupIds(trx, p, input.memberGroups, 'memberGroups'));
    if (input.parentGroups) await directory.replaceParents(p, groupId, await groupIds(trx, p, input.parentGroups, 'parentGroups'));
  }

  return {
    async getGroup(p: Principal, ref: string): Promise<KeyedGroup> {
      const brief = await resolve(db, p, ref);
      return { group: await loadVisibleGroup(db, p, brief.id), ref: refOf(brief) };
    },

    /** Creates a group under a client-chosen id (AlreadyExists when it is taken). */
    async createGroup(p: Principal, key: string, input: KeyedGroupInput): Promise<KeyedGroup> {
      checkGroupKey(key);
      return inTransaction(db, async (trx) => {
        // CASE: a group is found by its key, then by its uuid: a key that is another group's uuid would hide that group.
        if (isUuid(key) && (await findGroupBriefsByIds(trx, p.tenantId, [key.toLowerCase()])).length) throw new AlreadyExists('group', 'id');
        const created = await groupsService(trx).createGroup(p, {
          key,
          name: input.label ?? key,
          description: input.description ?? null,
          properties: mergeProperties({}, input.properties) ?? {},
        });
        await applyRelations(trx, p, created.id, input);
        return { group: await loadVisibleGroup(trx, p, created.id), ref: key };
      });
    },

    /** Changes what the input carries; member lists present in it replace the current ones. */
    async updateGroup(p: Principal, ref: string, input: KeyedGroupInput): Promise<KeyedGroup> {
      return inTransaction(db, async (trx) => {
        const brief = await resolve(trx, p, ref);
        await lockGroup(trx, p.tenantId, brief.id);
        const current = await loadVisibleGroup(trx, p, brief.id);
        const changes: GroupChanges = {};
        if (input.label !== undefined) changes.name = input.label ?? refOf(brief);
        if (input.description !== undefined) changes.description = input.description;
        const properties = mergeProperties(current.properties, input.properties);
        if (properties) changes.properties = properties;
        await groupsService(trx).updateGroup(p, brief.id, changes);
        await applyRelations(trx, p, brief.id, input);
        return { group: await loadVisibleGroup(trx, p, brief.id), ref: refOf(brief) };
      });
    },

    async deleteGroup(p: Principal, ref: string): Promise<void> {
      await inTransaction(db, async (trx) => {
        const brief = await resolve(trx, p, ref);
        await directoryService(trx).removeGroups(p, [brief], 'detach');
      });
    },

    /** Adds or removes one user (by id or user name); unknown group or user is NotFound. */
    async changeUser(p: Principal, ref: string, userRef: string, change: 'add' | 'remove'): Promise<KeyedGroup> {
      return inTransaction(db, async (trx) => {
        const brief = await resolve(trx, p, ref);
        const user = (await findUserBriefsByRefs(trx, p.tenantId, [userRef])).get(userRef);
        if (!user) throw new NotFound('user', userRef);
        const memberships = membershipService(trx as Db);
        if (change === 'add') await memberships.addMembers(p, brief.id, [{ kind: 'user', id: user.id }]);
        else await memberships.removeMembers(p, brief.id, [{ kind: 'user', id: user.id }]);
        return { group: await loadVisibleGroup(trx, p, brief.id), ref: refOf(brief) };
      });
    },

    /**
     * The member and parent lists asked for (user names; group ids). A token acting as a user
     * sees only the member and parent groups Groups v2 would show it (visibility).
     */
    async relations(p: Principal, groupId: string, wanted: Set<'memberUsers' | 'memberGroups' | 'parentGroups'>): Promise<GroupRelations> {
      const out: GroupRelations = {};
      const viewer = wanted.has('memberGroups') || wanted.has('parentGroups') ? await viewerOf(db, p) : undefined;
      if (wanted.has('memberUsers')) out.memberUsersJson = await findMemberUserNamesJson(db, p.tenantId, groupId);
      if (wanted.has('memberGroups')) out.memberGroups = (await findRelatedGroups(db, p.tenantId, groupId, 'members', viewer)).map(refOf);
      if (wanted.has('parentGroups')) out.parentGroups = (await findRelatedGroups(db, p.tenantId, groupId, 'parents', viewer)).map(refOf);
      return out;
    },
  };
}

export type KeyedGroupsService = ReturnType<typeof keyedGroupsService>;
