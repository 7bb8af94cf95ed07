import type { Knex } from 'knex';
import { compileCriteria, sortExpression, type CompiledSql } from '../../db/criteria-sql';
import { readShapedRows, runStatement } from '../../db/direct';
import type { Executor } from '../../db/transaction';
import type { Group, GroupChanges, GroupListQuery, GroupViewer, NewGroup } from './group';
import { GROUP_COLUMNS, ownerIdsColumn, toGroup, type GroupRow } from './group-rows';
import { groupFields } from './groups.fields';

/** A group's owner ids (alias `g`), aggregated in the group's own statement. */
const OWNER_IDS = ownerIdsColumn('g');

/** The group's columns over alias `g`. */
const GROUP_SELECT = GROUP_COLUMNS.map((c) => `g.${c}`);

/** The group columns plus its owner ids, aggregated in the same statement. */
function selectGroups(db: Executor): Knex.QueryBuilder {
  return db('groups as g').select(...GROUP_SELECT, db.raw(OWNER_IDS));
}

/**
 * A group by id, written out once: the hottest read of all (every group GET, PATCH and member
 * page of the dialects starts with it), which a query builder would compile again on every call.
 */
const GROUP_BY_ID = `select ${GROUP_SELECT.join(', ')}, ${OWNER_IDS} from groups g where g.tenant_id = ? and g.id = ?`;

function toColumns(fields: GroupChanges & { key?: string | null; system?: boolean }): Record<string, unknown> {
  const map: Record<string, unknown> = {
    name: fields.name,
    key: fields.key,
    external_id: fields.externalId,
    description: fields.description,
    type: fields.type,
    visibility: fields.visibility,
    state: fields.state,
    rules_visible: fields.rulesVisible,
    images: fields.images === undefined ? undefined : JSON.stringify(fields.images),
    addresses: fields.addresses === undefined ? undefined : JSON.stringify(fields.addresses),
    properties: fields.properties === undefined ? undefined : JSON.stringify(fields.properties),
    wildcards: fields.wildcards,
    system: fields.system,
  };
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== undefined));
}

export async function insertGroup(db: Executor, tenantId: string, g: NewGroup, ownerUserId: string | null): Promise<string> {
  const [row] = await db('groups')
    .insert({ tenant_id: tenantId, owner_user_id: ownerUserId, ...toColumns(g) })
    .returning('id');
  return row.id;
}

export async function findGroupById(db: Executor, tenantId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<Group | undefined> {
  // Reads that arrive together run as one statement (read-batches.ts); a locking read runs alone.
  const [row] = opts.forUpdate
    ? await runStatement<GroupRow>(db, `${GROUP_BY_ID} for update`, [tenantId, id], { prepared: true })
    : await readShapedRows<GroupRow, { tenantId: string; id: string }>(db, 'groups.byId', { tenantId, id }, (v) => db.raw(GROUP_BY_ID, [v.tenantId, v.id]), {
        prepared: true,
        batchBy: { name: 'id', type: 'uuid' },
      });
  return row ? toGroup(row) : undefined;
}

/**
 * The groups of a tenant narrowed by ids, criteria and (for user-acting tokens) visibility:
 * a group is public, or the viewer owns it, or it is visible to members and the viewer is one
 * (directly or through one of its rules).
 */
export function filtered(db: Executor, tenantId: string, query: Pick<GroupListQuery, 'ids' | 'criteria'>, viewer?: GroupViewer): Knex.QueryBuilder {
  const q = db('groups as g').where('g.tenant_id', tenantId);
  if (query.ids) q.whereIn('g.id', query.ids);
  if (query.criteria) {
    const { sql, bindings } = compileCriteria(query.criteria, groupFields);
    q.whereRaw(sql, bindings as Knex.RawBinding[]);
  }
  if (viewer) {
    const visible = visibleTo(viewer);
    q.whereRaw(visible.sql, visible.bindings as Knex.RawBinding[]);
  }
  return q;
}

/**
 * Whether the group row `alias` shows to a user-acting viewer: it is public, or the viewer owns
 * it, or it is visible to members and the viewer is one (directly or through one of its rules).
 * The one visibility condition of every listing (filtered), and of the groups shown beside
 * other resources (a SCIM user's `groups`, a group entity's `parentGroups`).
 */
export function visibleTo(viewer: GroupViewer, alias = 'g'): CompiledSql {
  return {
    sql: `(${alias}.visibility = 'public'
        OR EXISTS (SELECT 1 FROM group_owners vo WHERE vo.tenant_id = ${alias}.tenant_id AND vo.group_id = ${alias}.id AND vo.user_id = ?)
        OR (${alias}.visibility = 'members' AND (${alias}.id = ANY(?::uuid[])
          OR EXISTS (SELECT 1 FROM group_members vm WHERE vm.tenant_id = ${alias}.tenant_id AND vm.group_id = ${alias}.id AND vm.member_kind = 'user' AND vm.member_id = ?))))`,
    bindings: [viewer.userId, viewer.ruleGroupIds, viewer.userId],
  };
}

/** Which of the tenant's groups `ids` a user-acting viewer may see (visibleTo), in one statement. */
export async function visibleGroupIds(db: Executor, tenantId: string, ids: string[], viewer: GroupViewer): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows: { id: string }[] = await filtered(db, tenantId, { ids }, viewer).select('g.id');
  return new Set(rows.map((r) => r.id));
}

/** One page of groups in a deterministic order: the sort keys (default: name), then the id. */
export async function findGroupPage(db: Executor, tenantId: string, query: GroupListQuery, viewer?: GroupViewer): Promise<Group[]> {
  if (query.limit <= 0) return [];
  const ids = filtered(db, tenantId, query, viewer).select('g.id');
  if (query.sort?.length) {
    for (const key of query.sort) ids.orderByRaw(`${sortExpression(groupFields, key.field)} ${key.order === 'desc' ? 'desc' : 'asc'} NULLS LAST`);
    ids.orderBy('g.id', 'asc');
  } else {
    const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
    ids.orderByRaw(`lower(g.name) ${dir}, g.id ${dir}`);
  }
  const page: { id: string }[] = await ids.offset(query.offset).limit(query.limit);
  if (!page.length) return [];
  const rows: GroupRow[] = await selectGroups(db).where('g.tenant_id', tenantId).whereIn('g.id', page.map((r) => r.id));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return page.flatMap((r) => (byId.has(r.id) ? [toGroup(byId.get(r.id)!)] : []));
}

/** Applies changes and bumps the version; the caller holds the row lock and checked the version. */
export async function updateGroup(db: Executor, tenantId: string, id: string, changes: GroupChanges): Promise<void> {
  await db('groups')
    .where({ tenant_id: tenantId, id })
    .update({ ...toColumns(changes), version: db.raw('version + 1'), updated_at: db.fn.now() });
}

/** Bumps the version alone (membership changes), returning the new version. */
export async function touchGroup(db: Executor, tenantId: string, id: string, memberDelta: number): Promise<number> {
  const [row] = await db('groups')
    .where({ tenant_id: tenantId, id })
    .update({
      version: db.raw('version + 1'),
      member_count: db.raw('member_count + ?', [memberDelta]),
      updated_at: db.fn.now(),
    })
    .returning('version');
  return row.version;
}

export async function deleteGroupRow(db: Executor, tenantId: string, id: string): Promise<void> {
  await db('groups').where({ tenant_id: tenantId, id }).delete();
}

/** Replaces the owner set in two set-based statements. */
export async function replaceOwners(db: Executor, tenantId: string, groupId: string, userIds: string[]): Promise<void> {
  const del = db('group_owners').where({ tenant_id: tenantId, group_id: groupId });
  if (userIds.length) del.whereNotIn('user_id', userIds);
  await del.delete();
  if (userIds.length) {
    await db('group_owners')
      .insert(userIds.map((user_id) => ({ tenant_id: tenantId, group_id: groupId, user_id })))
      .onConflict(['tenant_id', 'group_id', 'user_id'])
      .ignore();
  }
}
