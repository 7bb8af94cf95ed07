import { canSortBy } from '../../db/criteria-sql';
import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import { AlreadyExists, InvalidInput, NotFound } from '../errors';
import { assertVersion, type VersionCondition } from '../versions';
import { hashPassword } from './passwords';
import type { Page } from '../groups/group';
import { isUuid } from '../ids';
import { removeFromAllGroups } from '../memberships/memberships.repository';
import { actorOf, type Principal } from '../principal';
import type { NewUser, User, UserChanges, UserFields, UserGroupRef, UserListQuery, UserTextFormat, UserTextPage } from './user';
import { countUsers, deleteUserRow, findUserById, findUserPage, findUserTextPage, updateUser } from './users.repository';
import { writeLanes } from '../write-lanes';
import { checkLength, MAX_EXTERNAL_ID_LENGTH, MAX_NAME_LENGTH } from '../text-limits';
import { tokenRuntimeOf } from '../tokens/token-runtime';
import { tokenAuditView, type TokenRecord } from '../tokens/token';
import { findLiveTokensOfUser, findTokensByIds, revokeSessionsOf } from '../tokens/tokens.repository';
import { insertUsersWithAudit, type Actor, type UserRowInput } from './users.writes';
import { userFields } from './users.fields';

function auditView(u: User): Record<string, unknown> {
  const { tenantId: _t, seq: _s, createdAt: _c, ...rest } = u;
  return rest;
}

function checkUserName(userName: string | undefined): void {
  if (userName === undefined) return;
  if (!userName.trim()) throw new InvalidInput('a user needs a non-empty userName', { field: 'userName' });
  if (userName.length > MAX_NAME_LENGTH) throw new InvalidInput(`a userName is at most ${MAX_NAME_LENGTH} characters`, { field: 'userName' });
}

/** The indexed texts of a user: userName, displayName, externalId (text-limits.ts). */
function checkUserTexts(u: { userName?: string; displayName?: string | null; externalId?: string | null }): void {
  checkUserName(u.userName);
  checkLength(u.displayName, MAX_NAME_LENGTH, 'displayName');
  checkLength(u.externalId, MAX_EXTERNAL_ID_LENGTH, 'externalId');
}

/** Hashes a write-only password change (undefined: unchanged; null: cleared). */
async function withPasswordHash<T extends { password?: string | null }>(input: T): Promise<Omit<T, 'password'> & { passwordHash?: string | null }> {
  const { password, ...rest } = input;
  if (password === undefined) return rest;
  return { ...rest, passwordHash: password === null ? null : await hashPassword(password) };
}

/** One user to create, and who creates it. */
interface UserCreate {
  tenantId: string;
  actor: Actor;
  row: UserRowInput;
}

/** User use cases; each change is one transaction with its audit event. */
export function usersService(db: Db) {
  /**
   * Creates from one token take turns, and those that queue up meanwhile are inserted by one
   * statement (as a Bulk's are), each still a change of its own: see src/domain/write-lanes.ts.
   */
  const creates = writeLanes<UserCreate, User | undefined>(
    async (x) => (await insertUsersWithAudit(db, x.tenantId, [x.row], x.actor))[0],
    // One key per tenant and actor (createUser), so the first item's are every item's.
    (xs) => insertUsersWithAudit(db, xs[0].tenantId, xs.map((x) => x.row), xs[0].actor),
  );

  /**
   * Locks the user, checks the version condition, asks `decide` for the changes given the
   * current state (so read-modify-write is atomic, e.g. SCIM PATCH), and stores them.
   */
  async function change(
    p: Principal,
    id: string,
    decide: (current: User) => UserChanges | Promise<UserChanges>,
    condition: VersionCondition,
    action: string,
  ): Promise<User> {
    if (!isUuid(id)) throw new NotFound('user', id);
    let announced: Promise<void> = Promise.resolve();
    const user = await inTransaction(db, async (trx) => {
      const before = await findUserById(trx, p.tenantId, id, { forUpdate: true });
      if (!before) throw new NotFound('user', id);
      assertVersion(condition, before.version);
      const changes = await decide(before);
      checkUserTexts(changes);
      const after = await updateUser(trx, p.tenantId, id, await withPasswordHash(changes));
      // CASE: nothing changed: no new version, no event.
      if (!after) return before;
      await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action, resourceType: 'user', resourceId: id, before: auditView(before), after: auditView(after) });
      // Sessions are the person's logins: they end for good when the user is deactivated or its
      // password changes (API tokens acting as the user are only refused while it is deactivated).
      const ended = (before.active && !after.active) || changes.password !== undefined ? await revokeSessionsOf(trx, p.tenantId, id) : [];
      if (after.active !== before.active) ({ announced } = await tokensFollowing(trx, p.tenantId, id));
      else if (ended.length) announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, ended);
      return after;
    });
    await announced;
    return user;
  }

  /**
   * Inside a transaction that (de)activates or deletes a user: its tokens change validity at the
   * commit (src/domain/tokens/tokens.repository.ts, migration 20261204000100). The returned
   * promise resolves once the instances' token caches have heard so, as a revocation's does;
   * await it only after the commit.
   */
  async function tokensFollowing(trx: Executor, tenantId: string, userId: string): Promise<{ announced: Promise<void>; tokens: TokenRecord[] }> {
    const tokens = await findLiveTokensOfUser(trx, tenantId, userId);
    const ids = tokens.map((t) => t.id);
    return { tokens, announced: ids.length ? tokenRuntimeOf(trx).invalidateAfterCommit(trx, ids) : Promise.resolve() };
  }

  return {
    /** Creates a user and its audit event in one statement; a taken userName is AlreadyExists. */
    async createUser(p: Principal, input: NewUser): Promise<User> {
      checkUserTexts(input);
      const actor = actorOf(p);
      const row = await withPasswordHash(input);
      // One lane per tenant and actor: a batch's statement writes one actor into its events.
      const user = await creates.run(`${p.tenantId}/${actor.actorTokenId}/${actor.actorUserId ?? ''}`, { tenantId: p.tenantId, actor, row });
      if (!user) throw new AlreadyExists('user', 'userName');
      return user;
    },

    /**
     * Creates several users (SCIM Bulk), one statement for all; each user is a change on its
     * own with its own event. Per input, in order: the user, or the error that refused it
     * (InvalidInput, or AlreadyExists for a userName already taken, by then or by an earlier input).
     */
    async createUsers(p: Principal, inputs: NewUser[]): Promise<(User | Error)[]> {
      const prepared = await Promise.all(
        inputs.map(async (input) => {
          try {
            checkUserTexts(input);
            return await withPasswordHash(input);
          } catch (err) {
            if (err instanceof Error) return err;
            throw err;
          }
        }),
      );
      const valid = prepared.filter((x): x is Exclude<typeof x, Error> => !(x instanceof Error));
      const created = await insertUsersWithAudit(db, p.tenantId, valid, actorOf(p));
      let i = 0;
      return prepared.map((x) => (x instanceof Error ? x : (created[i++] ?? new AlreadyExists('user', 'userName'))));
    },

    async getUser(p: Principal, id: string): Promise<User> {
      const user = isUuid(id) ? await findUserById(db, p.tenantId, id) : undefined;
      if (!user) throw new NotFound('user', id);
      return user;
    },

    /** Whether users can be sorted by this attribute path. */
    canSortBy: (path: string): boolean => canSortBy(userFields, path),

    /**
     * A page of users; `total` counts every match (-1 when the query skips counting). With
     * `withGroups`/`withTenantTotal`, `groups` and `tenantTotal` come from the page's own statement.
     */
    async listUsers(p: Principal, query: UserListQuery): Promise<Page<User> & { groups?: Map<string, UserGroupRef[]>; tenantTotal?: number }> {
      const [page, total] = await Promise.all([
        findUserPage(db, p.tenantId, query),
        query.skipCount ? Promise.resolve(-1) : countUsers(db, p.tenantId, query),
      ]);
      return { items: page.users, total, groups: page.groups, tenantTotal: page.tenantTotal };
    },

    /**
     * A page of users as JSON-ready text (UserText), in the order and with the pagination of
     * listUsers; never counts (`tenantTotal` as listUsers). The groups are written with
     * `format.groups` when given.
     */
    listUserTexts: (p: Principal, query: UserListQuery, format: UserTextFormat): Promise<UserTextPage> => findUserTextPage(db, p.tenantId, query, format),

    /**
     * Full update: every field is replaced; absent optional fields become empty. An absent
     * `active` is not asserted (RFC 7644 §3.5.1) and keeps its value: a PUT that leaves it out
     * never reactivates a deactivated user. An absent password stays; null clears it.
     */
    replaceUser(p: Principal, id: string, input: NewUser, condition?: VersionCondition): Promise<User> {
      const full = (current: User): UserFields & { password?: string | null } => ({
        userName: input.userName,
        externalId: input.externalId ?? null,
        displayName: input.displayName ?? null,
        active: input.active ?? current.active,
        resource: input.resource ?? {},
        ...(input.password !== undefined ? { password: input.password } : {}),
      });
      return change(p, id, full, condition, 'user.replaced');
    },

    /** Partial update: only the given fields change. */
    patchUser: (p: Principal, id: string, changes: UserChanges, condition?: VersionCondition): Promise<User> =>
      change(p, id, () => changes, condition, 'user.updated'),

    /** Atomic read-modify-write: `decide` sees the locked current user and returns the changes. */
    modifyUser: (p: Principal, id: string, decide: (current: User) => UserChanges | Promise<UserChanges>, condition?: VersionCondition): Promise<User> =>
      change(p, id, decide, condition, 'user.updated'),

    /** Deletes a user and every membership it had (the groups' counts follow). */
    async deleteUser(p: Principal, id: string, condition?: VersionCondition): Promise<void> {
      if (!isUuid(id)) throw new NotFound('user', id);
      let announced: Promise<void> = Promise.resolve();
      await inTransaction(db, async (trx) => {
        const before = await findUserById(trx, p.tenantId, id, { forUpdate: true });
        if (!before) throw new NotFound('user', id);
        assertVersion(condition, before.version);
        const following = await tokensFollowing(trx, p.tenantId, id);
        announced = following.announced;
        // CASE: the row goes first, so a concurrent membership insert (holding a key-share lock
        // on it) finishes before we remove memberships, and none is left dangling.
        await deleteUserRow(trx, p.tenantId, id);
        const groups = await removeFromAllGroups(trx, p.tenantId, { kind: 'user', id });
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'user.deleted', resourceType: 'user', resourceId: id, before: { ...auditView(before), groups } });
        // The trigger revoked the user's tokens; the API tokens among them get their event, as a revocation through the token API does.
        const revoked = await findTokensByIds(trx, p.tenantId, following.tokens.filter((t) => t.kind === 'token').map((t) => t.id));
        for (const after of revoked) {
          const was = following.tokens.find((t) => t.id === after.id)!;
          await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'token.revoked', resourceType: 'token', resourceId: after.id, before: tokenAuditView(was), after: { ...tokenAuditView(after), reason: 'user.deleted' } });
        }
      });
      await announced;
    },
  };
}

export type UsersService = ReturnType<typeof usersService>;
