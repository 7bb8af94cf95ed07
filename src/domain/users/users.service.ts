import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import { InvalidInput, NotFound, VersionMismatch } from '../errors';
import type { Page } from '../groups/group';
import { isUuid } from '../ids';
import { removeFromAllGroups } from '../memberships/memberships.repository';
import { actorOf, type Principal } from '../principal';
import type { NewUser, User, UserChanges, UserFields, UserListQuery } from './user';
import { countUsers, deleteUserRow, findUserById, findUserPage, insertUser, updateUser } from './users.repository';

function auditView(u: User): Record<string, unknown> {
  const { tenantId: _t, seq: _s, createdAt: _c, ...rest } = u;
  return rest;
}

function checkUserName(userName: string | undefined): void {
  if (userName === undefined) return;
  if (!userName.trim()) throw new InvalidInput('a user needs a non-empty userName', { field: 'userName' });
  if (userName.length > 255) throw new InvalidInput('a userName is at most 255 characters', { field: 'userName' });
}

/** User use cases; each change is one transaction with its audit event. */
export function usersService(db: Db) {
  async function change(p: Principal, id: string, changes: UserChanges, expectedVersion: number | undefined, action: string): Promise<User> {
    checkUserName(changes.userName);
    if (!isUuid(id)) throw new NotFound('user', id);
    return inTransaction(db, async (trx) => {
      const before = await findUserById(trx, p.tenantId, id, { forUpdate: true });
      if (!before) throw new NotFound('user', id);
      if (expectedVersion !== undefined && expectedVersion !== before.version) throw new VersionMismatch(expectedVersion, before.version);
      const after = await updateUser(trx, p.tenantId, id, changes);
      await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action, resourceType: 'user', resourceId: id, before: auditView(before), after: auditView(after) });
      return after;
    });
  }

  return {
    async createUser(p: Principal, input: NewUser): Promise<User> {
      checkUserName(input.userName);
      return inTransaction(db, async (trx) => {
        const user = await insertUser(trx, p.tenantId, input);
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'user.created', resourceType: 'user', resourceId: user.id, after: auditView(user) });
        return user;
      });
    },

    async getUser(p: Principal, id: string): Promise<User> {
      const user = isUuid(id) ? await findUserById(db, p.tenantId, id) : undefined;
      if (!user) throw new NotFound('user', id);
      return user;
    },

    async listUsers(p: Principal, query: UserListQuery): Promise<Page<User>> {
      const [items, total] = await Promise.all([findUserPage(db, p.tenantId, query), countUsers(db, p.tenantId, query)]);
      return { items, total };
    },

    /** Full update: every field is replaced; absent optional fields become empty. */
    replaceUser(p: Principal, id: string, input: NewUser, expectedVersion?: number): Promise<User> {
      const full: UserFields = {
        userName: input.userName,
        externalId: input.externalId ?? null,
        displayName: input.displayName ?? null,
        active: input.active ?? true,
        resource: input.resource ?? {},
      };
      return change(p, id, full, expectedVersion, 'user.replaced');
    },

    /** Partial update: only the given fields change. */
    patchUser: (p: Principal, id: string, changes: UserChanges, expectedVersion?: number): Promise<User> =>
      change(p, id, changes, expectedVersion, 'user.updated'),

    /** Deletes a user and every membership it had (the groups' counts follow). */
    async deleteUser(p: Principal, id: string): Promise<void> {
      if (!isUuid(id)) throw new NotFound('user', id);
      await inTransaction(db, async (trx) => {
        const before = await findUserById(trx, p.tenantId, id, { forUpdate: true });
        if (!before) throw new NotFound('user', id);
        // CASE: the row goes first, so a concurrent membership insert (holding a key-share lock
        // on it) finishes before we remove memberships, and none is left dangling.
        await deleteUserRow(trx, p.tenantId, id);
        const groups = await removeFromAllGroups(trx, p.tenantId, { kind: 'user', id });
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'user.deleted', resourceType: 'user', resourceId: id, before: { ...auditView(before), groups } });
      });
    },
  };
}

export type UsersService = ReturnType<typeof usersService>;
