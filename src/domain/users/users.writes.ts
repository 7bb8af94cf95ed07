import { runStatement } from '../../db/direct';
import { translateDbError } from '../../db/pg-errors';
import type { Executor } from '../../db/transaction';
import type { User, UserChanges } from './user';
import { toUser, type UserRow } from './user-rows';

/** A user to insert: the fields of NewUser with the password already hashed. */
export type UserRowInput = Omit<UserChanges, 'password'> & { userName: string; passwordHash?: string | null };

export interface Actor {
  actorTokenId: string | null;
  actorUserId: string | null;
}

/** JSON for one row; absent fields take the column defaults (active, an empty resource). */
const rowJson = (u: UserRowInput) => ({
  user_name: u.userName,
  external_id: u.externalId ?? null,
  display_name: u.displayName ?? null,
  active: u.active ?? null,
  resource: u.resource ?? null,
  password_hash: u.passwordHash ?? null,
});

/**
 * Inserts users with their `user.created` audit events in ONE statement (it is its own
 * transaction). A user whose userName the tenant already has — or an earlier row of the same
 * call has — is skipped, not an error: the result holds, per input row in order, the created
 * user or `undefined` for such a conflict. Each row is a whole change on its own (one row, one
 * event), so a batch keeps every row's atomicity. The audit `after` is the user without tenant,
 * seq and creation time, `updatedAt` in JavaScript's ISO form, as the service logs it elsewhere.
 */
export async function insertUsersWithAudit(db: Executor, tenantId: string, rows: UserRowInput[], actor: Actor): Promise<(User | undefined)[]> {
  if (!rows.length) return [];
  // Its plan is the same whatever the rows (one JSON array parameter): kept prepared.
  const created = await runStatement<UserRow>(
    db,
    `WITH src AS (
         SELECT e.ord, e.v FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS e(v, ord)
       ),
       ins AS (
         INSERT INTO users (tenant_id, user_name, external_id, display_name, active, resource, password_hash)
         SELECT ?, v->>'user_name', v->>'external_id', v->>'display_name',
                coalesce((v->>'active')::boolean, true), coalesce(nullif(v->'resource', 'null'::jsonb), '{}'::jsonb), v->>'password_hash'
           FROM src ORDER BY ord
         ON CONFLICT DO NOTHING
         RETURNING *
       ),
       ev AS (
         INSERT INTO audit_events (tenant_id, actor_token_id, actor_user_id, action, resource_type, resource_id, after)
         SELECT ?, ?, ?, 'user.created', 'user', ins.id,
                jsonb_build_object('id', ins.id, 'userName', ins.user_name, 'externalId', ins.external_id, 'displayName', ins.display_name,
                                   'active', ins.active, 'resource', ins.resource, 'version', ins.version,
                                   'updatedAt', to_char(ins.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
           FROM ins
       )
       SELECT id, seq, tenant_id, user_name, external_id, display_name, active, resource, version, created_at, updated_at FROM ins`,
    [JSON.stringify(rows.map(rowJson)), tenantId, tenantId, actor.actorTokenId, actor.actorUserId],
    { prepared: true },
  )
    // CASE: the statement is a transaction on its own, outside inTransaction: translate here.
    .catch((err: unknown) => {
      throw translateDbError(err);
    });
  // A created row carries its userName verbatim, and only the first row of a name gets in.
  const byName = new Map(created.map((r) => [r.user_name, toUser(r)]));
  return rows.map((r) => {
    const user = byName.get(r.userName);
    byName.delete(r.userName);
    return user;
  });
}
