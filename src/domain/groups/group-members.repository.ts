import { compileCriteria, type CompiledSql } from '../../db/criteria-sql';
import type { Executor } from '../../db/transaction';
import { DomainError } from '../errors';
import type { User } from '../users/user';
import { userFields } from '../users/users.fields';
import type { PeopleQuery } from './group';
import { wildcardsCriteria } from './wildcards';

/**
 * The people of a group as Groups v2 sees them: users added directly, the group's owners and the
 * users its dynamic membership rules (wildcards) include. Rule members are computed by SQL over
 * `users`, never stored. Pages come out in user-id order, which every part can produce from its
 * primary key, so a page costs its offset plus its size, not the size of the group.
 */

/** Which people: everyone ("members") or the users added directly ("individuals"). */
export type PeopleScope = 'all' | 'direct';

/** The SQL for a group's rules over `users u`, or null when it has none that compile. */
export function compileRules(rules: string[]): CompiledSql | null {
  if (!rules.length) return null;
  try {
    return compileCriteria(wildcardsCriteria(rules), userFields);
  } catch (err) {
    // CASE: a stored rule that no longer compiles includes nobody, rather than failing reads.
    if (err instanceof DomainError) return null;
    throw err;
  }
}

const DIRECT = `SELECT gm.member_id AS id FROM group_members gm
   WHERE gm.tenant_id = ? AND gm.group_id = ? AND gm.member_kind = 'user'`;

const OWNERS_NOT_DIRECT = `SELECT o.user_id AS id FROM group_owners o
   WHERE o.tenant_id = ? AND o.group_id = ?
     AND NOT EXISTS (SELECT 1 FROM group_members x WHERE x.tenant_id = o.tenant_id AND x.group_id = o.group_id AND x.member_kind = 'user' AND x.member_id = o.user_id)`;

const ruleMembersNotListed = (rules: CompiledSql) => `SELECT u.id FROM users u
   WHERE u.tenant_id = ? AND (${rules.sql})
     AND NOT EXISTS (SELECT 1 FROM group_members x WHERE x.tenant_id = u.tenant_id AND x.group_id = ? AND x.member_kind = 'user' AND x.member_id = u.id)
     AND NOT EXISTS (SELECT 1 FROM group_owners y WHERE y.tenant_id = u.tenant_id AND y.group_id = ? AND y.user_id = u.id)`;

/** Disjoint parts (so UNION ALL needs no de-duplication) and their bindings. */
function peopleIds(tenantId: string, group: { id: string; wildcards: string[] }, scope: PeopleScope): CompiledSql {
  const parts = [DIRECT];
  const bindings: unknown[] = [tenantId, group.id];
  if (scope === 'all') {
    parts.push(OWNERS_NOT_DIRECT);
    bindings.push(tenantId, group.id);
    const rules = compileRules(group.wildcards);
    if (rules) {
      parts.push(ruleMembersNotListed(rules));
      bindings.push(tenantId, ...rules.bindings, group.id, group.id);
    }
  }
  return { sql: parts.join('\n UNION ALL\n'), bindings };
}

interface UserRow {
  id: string;
  seq: string | number;
  tenant_id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  seq: Number(r.seq),
  tenantId: r.tenant_id,
  userName: r.user_name,
  externalId: r.external_id,
  displayName: r.display_name,
  active: r.active,
  resource: r.resource,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** One page of the group's people, by user id; only the page's users are read. */
export async function findPeoplePage(db: Executor, tenantId: string, group: { id: string; wildcards: string[] }, scope: PeopleScope, q: PeopleQuery): Promise<User[]> {
  if (q.limit <= 0) return [];
  const ids = peopleIds(tenantId, group, scope);
  const dir = q.sortOrder === 'desc' ? 'DESC' : 'ASC';
  const result = await db.raw(
    `SELECT u.id, u.seq, u.tenant_id, u.user_name, u.external_id, u.display_name, u.active, u.resource, u.version, u.created_at, u.updated_at
       FROM (SELECT m.id FROM (${ids.sql}) m ORDER BY m.id ${dir} LIMIT ? OFFSET ?) p
       JOIN users u ON u.tenant_id = ? AND u.id = p.id
      ORDER BY p.id ${dir}`,
    [...ids.bindings, q.limit, q.offset, tenantId] as never[],
  );
  return (result.rows as UserRow[]).map(toUser);
}

/** How many people the group has in the scope. */
export async function countPeople(db: Executor, tenantId: string, group: { id: string; wildcards: string[] }, scope: PeopleScope): Promise<number> {
  const ids = peopleIds(tenantId, group, scope);
  const result = await db.raw(`SELECT count(*) AS n FROM (${ids.sql}) m`, ids.bindings as never[]);
  return Number(result.rows[0].n);
}

/** How many groups' rules are decided against a user in one statement. */
const RULE_BATCH = 100;

/**
 * The groups (among `candidates`, or all groups with rules) whose dynamic membership rules include
 * the user. A batch of groups is decided in one statement over the user's row.
 */
export async function findRuleGroupIdsForUser(db: Executor, tenantId: string, userId: string, candidates?: { id: string; wildcards: string[] }[]): Promise<string[]> {
  const groups: { id: string; wildcards: string[] }[] =
    candidates ?? (await db('groups').select('id', 'wildcards').where('tenant_id', tenantId).whereRaw('cardinality(wildcards) > 0'));
  const hits: string[] = [];
  for (let i = 0; i < groups.length; i += RULE_BATCH) {
    const cases: string[] = [];
    const bindings: unknown[] = [];
    for (const g of groups.slice(i, i + RULE_BATCH)) {
      const rules = compileRules(g.wildcards);
      if (!rules) continue;
      cases.push(`CASE WHEN ${rules.sql} THEN ?::text END`);
      bindings.push(...rules.bindings, g.id);
    }
    if (!cases.length) continue;
    const result = await db.raw(
      `SELECT array_to_string(ARRAY[${cases.join(', ')}]::text[], ',') AS ids FROM users u WHERE u.tenant_id = ? AND u.id = ?`,
      [...bindings, tenantId, userId] as never[],
    );
    for (const row of result.rows as { ids: string | null }[]) hits.push(...(row.ids ?? '').split(',').filter(Boolean));
  }
  return hits;
}
