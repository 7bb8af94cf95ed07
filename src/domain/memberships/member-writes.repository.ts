import type { CompiledSql } from '../../db/criteria-sql';
import { runInOneTransaction, runStatement, type Statement } from '../../db/direct';
import { translateDbError } from '../../db/pg-errors';
import type { Executor } from '../../db/transaction';
import type { Group } from '../groups/group';
import { GROUP_COLUMNS, ownerIdsColumn, toGroup, type GroupRow } from '../groups/group-rows';
import { LISTED_ADDITIONS, LISTED_REMOVALS } from './membership-events';

/**
 * Membership changes as ONE statement each: lock the group row, check the version condition and
 * that every id is a user of the tenant, insert or delete the membership rows, bump the stored
 * count and version, and append the membership event, returning the group as it is afterwards. No
 * member is read, whatever the group's size.
 *
 * The statement never reports a domain error itself: when anything is unusual (no such group or
 * one the caller must not see, a version mismatch, an id that is not a user), it writes nothing
 * and answers `undefined`, and the service runs its general path, which names the error.
 */

export interface MemberWriteContext {
  tenantId: string;
  groupId: string;
  /** Accepted versions (SCIM If-Match); undefined: any. An empty list matches none. */
  versions?: readonly number[];
  /** Only a public group may be changed here (the caller acts as a user: visibility applies). */
  publicOnly: boolean;
  actorTokenId: string | null;
  actorUserId: string | null;
}

export interface MemberWriteResult {
  group: Group;
  /** Rows added minus rows removed. */
  delta: number;
}

/** The locked group row (`g`) and the condition it must meet (`ok`), shared by both statements. */
function lockedGroup(c: MemberWriteContext): CompiledSql {
  return {
    sql: `g AS (
            SELECT * FROM groups
             WHERE tenant_id = ? AND id = ? AND (NOT ?::boolean OR visibility = 'public')
             FOR UPDATE
          )`,
    bindings: [c.tenantId, c.groupId, c.publicOnly],
  };
}

/**
 * The version bump, the audit event and the group afterwards, given `g`, `ok`, `n(delta)` and the
 * changed members `chg(kind, id)`: a `membership.added` or `membership.removed` event naming them,
 * as every dialect's member changes are recorded (the first LISTED_… of them, with their count
 * when there are more).
 */
function bumpAuditReturn(c: MemberWriteContext, change: 'added' | 'removed'): CompiledSql {
  const listed = change === 'added' ? LISTED_ADDITIONS : LISTED_REMOVALS;
  const members = `jsonb_build_object('${change}', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', x.kind, 'id', x.id)), '[]'::jsonb) FROM (SELECT * FROM chg LIMIT ${listed}) x))
                   || CASE WHEN abs(n.delta) > ${listed} THEN jsonb_build_object('${change}Count', abs(n.delta)) ELSE '{}'::jsonb END`;
  return {
    sql: `upd AS (
            UPDATE groups gg SET member_count = gg.member_count + n.delta, version = gg.version + 1, updated_at = now()
              FROM n WHERE gg.tenant_id = ? AND gg.id = ? AND n.touched
            RETURNING gg.*
          ),
          ev AS (
            INSERT INTO audit_events (tenant_id, actor_token_id, actor_user_id, action, resource_type, resource_id, before, after)
            SELECT ?, ?, ?, 'membership.${change}', 'membership', ?, ${change === 'removed' ? members : 'NULL'}, ${change === 'added' ? members : 'NULL'}
              FROM upd, n
          )
          SELECT ${GROUP_COLUMNS.map((c) => `r.${c}`).join(', ')}, n.delta, (SELECT count(*) FROM ok)::int AS ok,
                 ${ownerIdsColumn('r')}
            FROM (SELECT * FROM upd UNION ALL SELECT * FROM g WHERE NOT EXISTS (SELECT 1 FROM upd)) r, n`,
    bindings: [c.tenantId, c.groupId, c.tenantId, c.actorTokenId, c.actorUserId, c.groupId],
  };
}

function resultOf(rows: (GroupRow & { delta: number; ok: number })[]): MemberWriteResult | undefined {
  const row = rows[0];
  if (!row || !row.ok) return undefined;
  return { group: toGroup(row), delta: Number(row.delta) };
}

/**
 * The statement adding users (distinct, lower-case uuids) to a group. Each user row is key-share
 * locked, so a concurrent delete of the user cannot leave a dangling membership; the group row is
 * locked first, as every membership writer does, so writers cannot deadlock on it. Its plan is
 * the same for any group and ids (key lookups): kept prepared.
 */
function addUsersStatement(c: MemberWriteContext, userIds: string[]): Statement {
  const g = lockedGroup(c);
  const tail = bumpAuditReturn(c, 'added');
  const sql = `WITH ${g.sql},
     want AS (SELECT DISTINCT w AS id FROM unnest(?::uuid[]) AS w),
     found AS (
       SELECT u.id FROM users u
        WHERE u.tenant_id = ? AND u.id IN (SELECT id FROM want) AND EXISTS (SELECT 1 FROM g)
        FOR KEY SHARE OF u
     ),
     ok AS (
       SELECT g.* FROM g
        WHERE (?::int[] IS NULL OR g.version = ANY(?::int[]))
          AND (SELECT count(*) FROM found) = (SELECT count(*) FROM want)
     ),
     ins AS (
       INSERT INTO group_members (tenant_id, group_id, member_kind, member_id)
       SELECT ?, ?, 'user', f.id FROM found f WHERE EXISTS (SELECT 1 FROM ok) ORDER BY f.id
       ON CONFLICT DO NOTHING
       RETURNING 'user'::text AS kind, member_id AS id
     ),
     chg AS (SELECT * FROM ins),
     n AS (SELECT count(*)::int AS delta, count(*) > 0 AS touched FROM ins),
     ${tail.sql}`;
  const bindings = [...g.bindings, userIds, c.tenantId, c.versions ?? null, c.versions ?? null, c.tenantId, c.groupId, ...tail.bindings];
  return { sql, bindings, prepared: true };
}

/** A membership add: where, and which users. */
export interface UserAdd {
  c: MemberWriteContext;
  userIds: string[];
}

/**
 * Adds users to a group in one statement (see addUsersStatement). Undefined when the general
 * path must decide (see above).
 */
export async function addUsersInOneStatement(db: Executor, { c, userIds }: UserAdd): Promise<MemberWriteResult | undefined> {
  const s = addUsersStatement(c, userIds);
  // CASE: it runs outside any transaction of ours (it is one on its own), so errors are translated here.
  const rows = await runStatement<GroupRow & { delta: number; ok: number }>(db, s.sql, s.bindings, s).catch((err: unknown) => {
    throw translateDbError(err);
  });
  return resultOf(rows);
}

/** A membership removal: where, and which members (ids of the given kinds, and those matching `where`). */
export interface MemberRemoval {
  c: MemberWriteContext;
  ids: string[];
  kinds: string[];
  /** Compiled over `gm` (group_members). */
  where?: CompiledSql;
}

/**
 * The statement removing members. Run it in a transaction that already holds the group's row
 * lock (lockGroupStatement): a statement's snapshot is taken when it starts, and a DELETE must
 * see members added by writers that committed while it waited for the lock.
 */
function removeMembersStatement({ c, ids, kinds, where }: MemberRemoval): Statement {
  const g = lockedGroup(c);
  const tail = bumpAuditReturn(c, 'removed');
  return {
    sql: `WITH ${g.sql},
     ok AS (SELECT g.* FROM g WHERE (?::int[] IS NULL OR g.version = ANY(?::int[]))),
     del AS (
       DELETE FROM group_members gm
        WHERE gm.tenant_id = ? AND gm.group_id = ? AND EXISTS (SELECT 1 FROM ok)
          AND ((gm.member_id = ANY(?::uuid[]) AND gm.member_kind = ANY(?::text[])) OR (${where?.sql ?? 'false'}))
       RETURNING gm.member_kind AS kind, gm.member_id AS id
     ),
     chg AS (SELECT * FROM del),
     n AS (SELECT -count(*)::int AS delta, count(*) > 0 AS touched FROM del),
     ${tail.sql}`,
    bindings: [...g.bindings, c.versions ?? null, c.versions ?? null, c.tenantId, c.groupId, ids, kinds, ...(where?.bindings ?? []), ...tail.bindings],
  };
}

/** Takes the group's row lock for the rest of the transaction (before a removal statement). */
function lockGroupStatement(c: MemberWriteContext): Statement {
  return { sql: 'SELECT 1 FROM groups WHERE tenant_id = ? AND id = ? FOR UPDATE', bindings: [c.tenantId, c.groupId], prepared: true };
}

/** A membership change of one group that has a one-statement form. */
export type MemberWrite = ({ kind: 'add' } & UserAdd) | ({ kind: 'remove' } & MemberRemoval);

/**
 * Membership changes of ONE group, in order, in one transaction that takes the group's row lock
 * first: the statement of each in turn, as if each ran alone right after the one before (each its
 * own version, event and result). Per change: its result, or undefined where the general path
 * must decide (see above). Any database error rolls back all of them and is thrown.
 */
export async function writeMembersInOneTransaction(db: Executor, writes: readonly MemberWrite[]): Promise<(MemberWriteResult | undefined)[]> {
  if (!writes.length) return [];
  const statements = writes.map((w) => (w.kind === 'add' ? addUsersStatement(w.c, w.userIds) : removeMembersStatement(w)));
  const [, ...results] = await runInOneTransaction<GroupRow & { delta: number; ok: number }>(db, [lockGroupStatement(writes[0].c), ...statements]).catch((err: unknown) => {
    throw translateDbError(err);
  });
  return results.map(resultOf);
}

/** One membership change alone: an add as its own statement, a removal after the lock. */
export function writeMembers(db: Executor, w: MemberWrite): Promise<MemberWriteResult | undefined> {
  return w.kind === 'add' ? addUsersInOneStatement(db, w) : writeMembersInOneTransaction(db, [w]).then(([r]) => r);
}

