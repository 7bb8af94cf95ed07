import { compileCriteria } from '../../db/criteria-sql';
import type { Executor } from '../../db/transaction';
import { DomainError } from '../errors';
import { wildcardsCriteria } from '../groups/wildcards';
import { groupsAboveCte } from '../memberships/memberships.repository';
import { userFields } from '../users/users.fields';
import type { RightsSpec } from './rights-spec';

/** How many dynamic groups are matched against a user in one statement. */
const DYNAMIC_BATCH = 100;

/**
 * The groups whose wildcards (dynamic membership rules) include the user. Each group's rules
 * compile to one boolean over the user's row; a batch of groups is decided in one statement.
 */
async function findDynamicGroupIds(db: Executor, tenantId: string, userId: string): Promise<string[]> {
  const groups: { id: string; wildcards: string[] }[] = await db('groups')
    .select('id', 'wildcards')
    .where('tenant_id', tenantId)
    .whereRaw('cardinality(wildcards) > 0');
  const hits: string[] = [];
  for (let i = 0; i < groups.length; i += DYNAMIC_BATCH) {
    const cases: string[] = [];
    const bindings: unknown[] = [];
    for (const g of groups.slice(i, i + DYNAMIC_BATCH)) {
      let compiled;
      try {
        compiled = compileCriteria(wildcardsCriteria(g.wildcards), userFields, { maxSubqueries: Infinity });
      } catch (err) {
        // CASE: a stored rule that no longer compiles includes nobody, rather than failing logins.
        if (err instanceof DomainError) continue;
        throw err;
      }
      cases.push(`CASE WHEN ${compiled.sql} THEN ?::uuid END`);
      bindings.push(...compiled.bindings, g.id);
    }
    if (!cases.length) continue;
    const result = await db.raw(
      `SELECT array_remove(ARRAY[${cases.join(', ')}]::uuid[], NULL) AS ids FROM users u WHERE u.tenant_id = ? AND u.id = ?`,
      [...bindings, tenantId, userId] as never[],
    );
    for (const row of result.rows as { ids: string[] | string }[]) hits.push(...parseUuidArray(row.ids));
  }
  return hits;
}

/** node-postgres parses uuid[]; PGlite may hand back the text form "{a,b}". */
function parseUuidArray(value: string[] | string | null): string[] {
  if (!value) return [];
  if (Array.isArray(value)) return value;
  return value.replace(/^\{|\}$/g, '').split(',').filter(Boolean);
}

/**
 * Every group the user belongs to: directly, through a dynamic rule, and through nesting (a
 * member of a group is a member of every group that group is in). Cycles are refused on write,
 * and UNION stops at groups already seen (the walk: groupsAboveCte).
 */
export async function findUserGroupIds(db: Executor, tenantId: string, userId: string): Promise<string[]> {
  const dynamic = await findDynamicGroupIds(db, tenantId, userId);
  const result = await db.raw(
    `${groupsAboveCte(`SELECT group_id FROM group_members WHERE tenant_id = ? AND member_kind = 'user' AND member_id = ?
       UNION
       SELECT unnest(?::uuid[])`)}
     SELECT id FROM up`,
    [tenantId, userId, dynamic, tenantId],
  );
  return (result.rows as { id: string }[]).map((r) => r.id);
}

/** The user's login state: undefined when the user does not exist in the tenant. */
export async function findUserStatus(db: Executor, tenantId: string, userId: string): Promise<{ active: boolean } | undefined> {
  return db('users').select('active').where({ tenant_id: tenantId, id: userId }).first();
}

/** The `_system_rights` of the given groups. */
export async function findSystemRights(db: Executor, tenantId: string, groupIds: string[]): Promise<RightsSpec[]> {
  if (!groupIds.length) return [];
  const rows: { system_rights: RightsSpec }[] = await db('groups').select('system_rights').where('tenant_id', tenantId).whereIn('id', groupIds);
  return rows.map((r) => r.system_rights ?? {});
}

/** Who an ACL check is about: the acting user, the groups it belongs to, and the token. */
export interface Holder {
  userId?: string;
  groupIds: string[];
  tokenId: string;
}

/** The ACL rights the holder has on each of the groups (groups without any are absent). */
export async function findAclRights(db: Executor, tenantId: string, groupIds: string[], who: Holder): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (!groupIds.length) return out;
  const rows: { group_id: string; rights: string[] }[] = await db('group_acl')
    .select('group_id', 'rights')
    .where('tenant_id', tenantId)
    .whereIn('group_id', groupIds)
    .where((q) => {
      q.where({ who_kind: 'token', who_id: who.tokenId });
      if (who.userId) q.orWhere({ who_kind: 'user', who_id: who.userId });
      if (who.groupIds.length) q.orWhere((g) => g.where('who_kind', 'group').whereIn('who_id', who.groupIds));
    });
  for (const r of rows) {
    const set = out.get(r.group_id) ?? new Set<string>();
    for (const right of r.rights) set.add(right);
    out.set(r.group_id, set);
  }
  return out;
}

/** SQL (over `groups g`) for "the holder has this ACL right on g", with its bindings. */
export function aclGrantsSql(tenantId: string, right: string, who: Holder): { sql: string; bindings: unknown[] } {
  const parts = [`(a.who_kind = 'token' AND a.who_id = ?)`];
  const bindings: unknown[] = [tenantId, right, who.tokenId];
  if (who.userId) {
    parts.push(`(a.who_kind = 'user' AND a.who_id = ?)`);
    bindings.push(who.userId);
  }
  if (who.groupIds.length) {
    parts.push(`(a.who_kind = 'group' AND a.who_id = ANY(?::uuid[]))`);
    bindings.push(who.groupIds);
  }
  return {
    sql: `EXISTS (SELECT 1 FROM group_acl a WHERE a.tenant_id = ? AND a.group_id = g.id AND ? = ANY(a.rights) AND (${parts.join(' OR ')}))`,
    bindings,
  };
}

export interface AclEntryRow {
  groupId: string;
  whoKind: 'user' | 'group' | 'token';
  whoId: string;
  rights: string[];
}

/** The ACL entries of the given groups, in a stable order. */
export async function findAclEntries(db: Executor, tenantId: string, groupIds: string[]): Promise<AclEntryRow[]> {
  if (!groupIds.length) return [];
  const rows: { group_id: string; who_kind: AclEntryRow['whoKind']; who_id: string; rights: string[] }[] = await db('group_acl')
    .select('group_id', 'who_kind', 'who_id', 'rights')
    .where('tenant_id', tenantId)
    .whereIn('group_id', groupIds)
    .orderBy([{ column: 'group_id' }, { column: 'who_kind' }, { column: 'who_id' }]);
  return rows.map((r) => ({ groupId: r.group_id, whoKind: r.who_kind, whoId: r.who_id, rights: r.rights }));
}

/** Replaces a group's user and group ACL entries (token entries stay) in two set-based statements. */
export async function replaceAcl(db: Executor, tenantId: string, groupId: string, entries: { whoKind: 'user' | 'group'; whoId: string; rights: string[] }[]): Promise<void> {
  await db('group_acl').where({ tenant_id: tenantId, group_id: groupId }).whereIn('who_kind', ['user', 'group']).delete();
  if (!entries.length) return;
  await db('group_acl').insert(
    entries.map((e) => ({ tenant_id: tenantId, group_id: groupId, who_kind: e.whoKind, who_id: e.whoId, rights: e.rights })),
  );
}

/** Access-related columns of a group that the core's Group does not carry. */
export interface GroupAccess {
  systemRights: RightsSpec;
  ownerUserId: string | null;
  ownerGroupId: string | null;
  vendorAttributes: Record<string, Record<string, unknown>>;
}

export async function findGroupAccess(db: Executor, tenantId: string, groupIds: string[]): Promise<Map<string, GroupAccess>> {
  const out = new Map<string, GroupAccess>();
  if (!groupIds.length) return out;
  const rows = await db('groups')
    .select('id', 'system_rights', 'owner_user_id', 'owner_group_id', 'vendor_attributes')
    .where('tenant_id', tenantId)
    .whereIn('id', groupIds);
  for (const r of rows) {
    out.set(r.id, { systemRights: r.system_rights ?? {}, ownerUserId: r.owner_user_id, ownerGroupId: r.owner_group_id, vendorAttributes: r.vendor_attributes ?? {} });
  }
  return out;
}

/** Writes the given access columns (absent ones stay). The caller holds the group's row lock. */
export async function updateGroupAccess(db: Executor, tenantId: string, groupId: string, changes: Partial<GroupAccess>): Promise<void> {
  const columns: Record<string, unknown> = {};
  if (changes.systemRights !== undefined) columns.system_rights = JSON.stringify(changes.systemRights);
  if (changes.ownerUserId !== undefined) columns.owner_user_id = changes.ownerUserId;
  if (changes.ownerGroupId !== undefined) columns.owner_group_id = changes.ownerGroupId;
  if (changes.vendorAttributes !== undefined) columns.vendor_attributes = JSON.stringify(changes.vendorAttributes);
  if (!Object.keys(columns).length) return;
  await db('groups').where({ tenant_id: tenantId, id: groupId }).update(columns);
}

/** Other groups naming one of these groups in their ACL or as their owner: referenced id → seqs of the referrers. */
export async function findGroupReferrers(db: Executor, tenantId: string, groupIds: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (!groupIds.length) return out;
  const result = await db.raw(
    `SELECT ref.id, g.seq FROM (
       SELECT a.who_id AS id, a.group_id AS referrer FROM group_acl a
        WHERE a.tenant_id = ? AND a.who_kind = 'group' AND a.who_id = ANY(?::uuid[])
       UNION
       SELECT o.owner_group_id, o.id FROM groups o WHERE o.tenant_id = ? AND o.owner_group_id = ANY(?::uuid[])
     ) ref
     JOIN groups g ON g.tenant_id = ? AND g.id = ref.referrer
     WHERE NOT (g.id = ANY(?::uuid[]))
     ORDER BY g.seq`,
    [tenantId, groupIds, tenantId, groupIds, tenantId, groupIds],
  );
  for (const r of result.rows as { id: string; seq: string | number }[]) {
    out.set(r.id, [...(out.get(r.id) ?? []), Number(r.seq)]);
  }
  return out;
}

/** Removes every ACL entry and owner reference naming the group, so deleting it leaves nothing dangling. */
export async function detachGroupReferences(db: Executor, tenantId: string, groupId: string): Promise<void> {
  await db('group_acl').where({ tenant_id: tenantId, who_kind: 'group', who_id: groupId }).delete();
  await db('groups').where({ tenant_id: tenantId, owner_group_id: groupId }).update({ owner_group_id: null });
}

/** What being in a group gives: its own and its ancestors' system rights and object permissions. */
export interface Conferred {
  systemRights: RightsSpec[];
  permissions: { objectType: string; objectId: string; permissions: string[] }[];
}

/**
 * The system rights (and, with `withPermissions`, the v1 object permissions) that membership in
 * a group confers: those of the group and of every group above it, since a member of a group is
 * a member of the groups it is nested in. One statement (the walk: groupsAboveCte).
 */
export async function findConferred(db: Executor, tenantId: string, groupId: string, withPermissions: boolean): Promise<Conferred> {
  const result = await db.raw(
    `${groupsAboveCte('SELECT ?::uuid')}
     SELECT 'rights' AS kind, g.system_rights AS value
       FROM groups g
      WHERE g.tenant_id = ? AND g.id IN (SELECT id FROM up) AND g.system_rights <> '{}'::jsonb
     UNION ALL
     SELECT 'permissions', jsonb_build_object('objectType', o.object_type, 'objectId', o.object_id, 'permissions', to_jsonb(o.permissions))
       FROM group_object_permissions o
      WHERE ? AND o.tenant_id = ? AND o.group_id IN (SELECT id FROM up)`,
    [groupId, tenantId, tenantId, withPermissions, tenantId],
  );
  const rows = result.rows as { kind: string; value: unknown }[];
  const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    systemRights: rows.filter((r) => r.kind === 'rights').map((r) => parse(r.value) as RightsSpec),
    permissions: rows.filter((r) => r.kind === 'permissions').map((r) => parse(r.value) as Conferred['permissions'][number]),
  };
}
