import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { findUserGroupIds } from '../access/access.repository';
import { insertAuditEvent } from '../audit/audit.repository';
import { findGroupBriefsBySeqs, findUserBriefsByIds, findUserBriefsBySeqs, type UserBrief } from '../directory/directory.repository';
import { Forbidden, InvalidInput, NotFound } from '../errors';
import { viewerOf } from '../groups/group-members.service';
import { visibleGroupIds } from '../groups/groups.repository';
import { loadVisibleGroup } from '../groups/groups.service';
import { isUuid } from '../ids';
import { actorOf, type Principal } from '../principal';
import { canonicalObjectId, checkObjectType, sortPermissions, validatePermissionList, type ObjectPermission } from './catalogue';
import { findGroupPermissions, findPermissionsOn, replaceGroupPermissions } from './permissions.repository';

/** The document answers 400 when a group is not accessible (unknown, hidden, or another tenant's). */
export class GroupInaccessible extends InvalidInput {
  constructor(readonly groupRef: number | string) {
    super(`group ${groupRef} is not accessible`, { groupId: groupRef });
  }
}

/** What one user may do on one object, and which of its groups grant it. */
export interface EffectivePermissions {
  user: UserBrief;
  objectType: string;
  objectId: string;
  permissions: string[];
  groupSeqs: number[];
}

async function accessibleGroupId(db: Executor, p: Principal, groupSeq: number): Promise<string> {
  const [brief] = await findGroupBriefsBySeqs(db, p.tenantId, [groupSeq]);
  if (!brief) throw new GroupInaccessible(groupSeq);
  try {
    await loadVisibleGroup(db, p, brief.id);
  } catch (err) {
    if (err instanceof NotFound) throw new GroupInaccessible(groupSeq);
    throw err;
  }
  return brief.id;
}

/** Permissions the user holds on each object, over every group it belongs to. */
async function permissionsOf(db: Executor, tenantId: string, userId: string, objects: { objectType: string; objectId: string }[]) {
  const groupIds = await findUserGroupIds(db, tenantId, userId);
  return findPermissionsOn(db, tenantId, groupIds, objects);
}

const keyOf = (o: { objectType: string; objectId: string }) => `${o.objectType}:${o.objectId}`;

/**
 * A user principal that is not admin may only grant or withdraw permissions it holds itself on
 * that object; tokens that act as nobody are trusted by their right alone.
 */
async function assertMayTouch(trx: Executor, p: Principal, before: ObjectPermission[], after: ObjectPermission[]): Promise<void> {
  if (!p.userId || p.rights.has('admin')) return;
  const old = new Map(before.map((e) => [keyOf(e), new Set(e.permissions)]));
  const now = new Map(after.map((e) => [keyOf(e), new Set(e.permissions)]));
  const changed = new Map<string, { objectType: string; objectId: string; perms: Set<string> }>();
  for (const e of [...before, ...after]) {
    const a = old.get(keyOf(e)) ?? new Set<string>();
    const b = now.get(keyOf(e)) ?? new Set<string>();
    const diff = new Set([...a, ...b].filter((x) => a.has(x) !== b.has(x)));
    if (diff.size) changed.set(keyOf(e), { objectType: e.objectType, objectId: e.objectId, perms: diff });
  }
  if (!changed.size) return;
  const held = new Map<string, Set<string>>();
  for (const row of await permissionsOf(trx, p.tenantId, p.userId, [...changed.values()])) {
    const set = held.get(keyOf(row)) ?? new Set<string>();
    row.permissions.forEach((x) => set.add(x));
    held.set(keyOf(row), set);
  }
  for (const [key, c] of changed) {
    const mine = held.get(key) ?? new Set<string>();
    const missing = [...c.perms].filter((x) => !mine.has(x));
    if (missing.length) throw new Forbidden(`you may not change ${missing.join(', ')} on ${c.objectType} ${c.objectId}: you do not hold it`);
  }
}

/** Object permissions of groups, and the effective permissions of users. */
export function permissionsService(db: Db) {
  return {
    async listGroupPermissions(p: Principal, groupSeq: number): Promise<ObjectPermission[]> {
      const groupId = await accessibleGroupId(db, p, groupSeq);
      return findGroupPermissions(db, p.tenantId, groupId);
    },

    /** Replaces all of a group's permission objects at once; returns the new list. */
    async setGroupPermissions(p: Principal, groupSeq: number, entries: unknown): Promise<ObjectPermission[]> {
      const wanted = validatePermissionList(entries);
      return inTransaction(db, async (trx) => {
        const groupId = await accessibleGroupId(trx, p, groupSeq);
        // CASE: a group deleted between the two reads (a concurrent DELETE) is inaccessible too, not a 404.
        await loadVisibleGroup(trx, p, groupId, true).catch((err: unknown) => {
          throw err instanceof NotFound ? new GroupInaccessible(groupSeq) : err;
        });
        const before = await findGroupPermissions(trx, p.tenantId, groupId);
        await assertMayTouch(trx, p, before, wanted);
        await replaceGroupPermissions(trx, p.tenantId, groupId, wanted);
        const after = await findGroupPermissions(trx, p.tenantId, groupId);
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.permissions_replaced', resourceType: 'group', resourceId: groupId, before, after });
        return after;
      });
    },

    /** Union of the permissions of every group the user is in (direct, nested, dynamic) on one object. */
    async effectivePermissions(p: Principal, userRef: string, objectType: string, objectId: string): Promise<EffectivePermissions> {
      const type = checkObjectType(objectType);
      const id = canonicalObjectId(objectId);
      const users = /^\d{1,16}$/.test(userRef)
        ? await findUserBriefsBySeqs(db, p.tenantId, [Number(userRef)])
        : isUuid(userRef)
          ? await findUserBriefsByIds(db, p.tenantId, [userRef.toLowerCase()])
          : [];
      const user = users[0];
      if (!user) throw new NotFound('user', userRef);
      const rows = await permissionsOf(db, p.tenantId, user.id, [{ objectType: type, objectId: id }]);
      // The permissions count whichever groups give them; a token acting as a user is not told of groups hidden from it.
      const viewer = rows.length ? await viewerOf(db, p) : undefined;
      const shown = viewer ? await visibleGroupIds(db, p.tenantId, [...new Set(rows.map((r) => r.groupId))], viewer) : undefined;
      return {
        user,
        objectType: type,
        objectId: id,
        permissions: sortPermissions(type, rows.flatMap((r) => r.permissions)),
        groupSeqs: [...new Set(rows.filter((r) => !shown || shown.has(r.groupId)).map((r) => r.groupSeq))],
      };
    },
  };
}

export type PermissionsService = ReturnType<typeof permissionsService>;
