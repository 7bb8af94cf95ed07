import { readRows, readShapedRows } from '../../db/direct';
import type { Executor } from '../../db/transaction';
import type { ShapeValues } from '../../db/shapes';
import { compileCriteria, sortExpression, type FieldMap, type MultiField } from '../../db/criteria-sql';
import type { Knex } from 'knex';
import type { Criteria } from '../criteria';
import type { GroupViewer } from '../groups/group';
import { visibleTo } from '../groups/groups.repository';
import type { MemberTemplate } from '../memberships/member-reads.repository';
import type { User, UserChanges, UserGroupRef, UserListQuery, UserText, UserTextFormat, UserTextPage } from './user';
import { userFields } from './users.fields';
import { USER_COLUMNS as columns, toUser, type UserRow } from './user-rows';

/** Columns to write; `passwordHash` is the already-hashed password (null clears it). */
function toColumns(u: Omit<UserChanges, 'password'> & { passwordHash?: string | null }): Record<string, unknown> {
  const map: Record<string, unknown> = {
    password_hash: u.passwordHash,
    user_name: u.userName,
    external_id: u.externalId,
    display_name: u.displayName,
    active: u.active,
    resource: u.resource === undefined ? undefined : JSON.stringify(u.resource),
  };
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== undefined));
}

export async function insertUser(db: Executor, tenantId: string, u: Omit<UserChanges, 'password'> & { userName: string; passwordHash?: string | null }): Promise<User> {
  const [row] = await db('users').insert({ tenant_id: tenantId, ...toColumns(u) }).returning(columns);
  return toUser(row);
}

export async function findUserById(db: Executor, tenantId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<User | undefined> {
  const q = db('users').select(columns).where({ tenant_id: tenantId, id }).first();
  if (opts.forUpdate) q.forUpdate();
  const row = await q;
  return row ? toUser(row) : undefined;
}

/**
 * The user attributes a viewer filters by: `groups` matches through the groups it may see only
 * (groups.repository.ts's visibleTo, after the element's own condition). No viewer: userFields.
 */
function userFieldsFor(viewer: GroupViewer | undefined): FieldMap {
  if (!viewer) return userFields;
  const visible = visibleTo(viewer, 'vg');
  const groups: MultiField = {
    ...(userFields.groups as MultiField),
    exists: (where, bindings) => {
      bindings.push(...visible.bindings);
      return `EXISTS (SELECT 1 FROM group_members gm JOIN groups vg ON vg.tenant_id = gm.tenant_id AND vg.id = gm.group_id
        WHERE gm.tenant_id = u.tenant_id AND gm.member_kind = 'user' AND gm.member_id = u.id AND ${where} AND ${visible.sql})`;
    },
  };
  return { ...userFields, groups };
}

function filtered(db: Executor, tenantId: string, query: UserListQuery): Knex.QueryBuilder {
  const q = db('users as u').where('u.tenant_id', tenantId);
  if (query.userName !== undefined) q.whereRaw('lower(u.user_name) = lower(?)', [query.userName]);
  if (query.criteria) {
    const { sql, bindings } = compileCriteria(query.criteria, userFieldsFor(query.viewer));
    q.whereRaw(sql, bindings as Knex.RawBinding[]);
  }
  return q;
}

/** A page of users and, when asked for, each one's direct groups (in name order). */
export interface UserPageRows {
  users: User[];
  groups?: Map<string, UserGroupRef[]>;
  /** The tenant's number of users, when asked for and the page has a row to carry it. */
  tenantTotal?: number;
}

/**
 * An aggregate over the direct groups `g` of one user, in name order (null when none): one column
 * of a page (`alias`), computed per row by groupsSubquery or for the whole page by pageRowsAt.
 * `item` is what each group gives (over `g.id` and `g.name`, with `bindings`), `combine` the
 * aggregate of an item's expression, in name order.
 */
interface GroupsAggregate {
  item: string;
  bindings: Knex.RawBinding[];
  combine: (item: string) => string;
  alias: 'member_of' | 'groups_text';
}

/** The direct groups as a JSON array of {id, name}. */
const GROUPS_JSON: GroupsAggregate = {
  item: `json_build_object('id', g.id, 'name', g.name)`,
  bindings: [],
  combine: (item) => `json_agg(${item} ORDER BY g.name)`,
  alias: 'member_of',
};

/** The FROM of the direct groups `g` of a user through their memberships `gm`. */
const GROUPS_FROM = 'FROM group_members gm JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id';

/**
 * The aggregate over the groups `g` a viewer may see only (visibleTo); without a viewer, the
 * aggregate as it is. `where` is the condition on `g` its statement appends after the item,
 * `bindings` the bindings of its item and of that condition, in that order.
 */
function forViewer(agg: GroupsAggregate, viewer: GroupViewer | undefined): GroupsAggregate & { where: string } {
  if (!viewer) return { ...agg, where: '' };
  const visible = visibleTo(viewer, 'g');
  return { ...agg, where: ` AND ${visible.sql}`, bindings: [...agg.bindings, ...(visible.bindings as Knex.RawBinding[])] };
}

/** The aggregate as a column of the row `u`: one index probe (group_members_member_idx) per row. */
function groupsSubquery(db: Executor, agg: GroupsAggregate, viewer?: GroupViewer): Knex.Raw {
  const { item, combine, where, bindings, alias } = forViewer(agg, viewer);
  return db.raw(`(SELECT ${combine(item)} ${GROUPS_FROM} WHERE gm.tenant_id = u.tenant_id AND gm.member_kind = 'user' AND gm.member_id = u.id${where}) AS ${alias}`, bindings);
}

/** The tenant's total a page's rows carry (tenantTotalColumn), if they carry it. */
const tenantTotalOf = (rows: { tenant_total?: string | number }[]) => (rows.length && rows[0].tenant_total !== undefined ? Number(rows[0].tenant_total) : undefined);

/** The tenant's user count from its striped counters; uncorrelated, so evaluated once per statement. */
function tenantTotalColumn(db: Executor, tenantId: string): Knex.Raw {
  return db.raw(`(SELECT coalesce(sum(n), 0) FROM tenant_counters WHERE tenant_id = ? AND kind = 'users')::bigint AS tenant_total`, [tenantId]);
}

type PageRow = UserRow & { member_of?: UserGroupRef[] | string; tenant_total?: string | number };

function toPage(rows: PageRow[], withGroups: boolean | undefined): UserPageRows {
  const users = rows.map(toUser);
  const tenantTotal = tenantTotalOf(rows);
  if (!withGroups) return { users, tenantTotal };
  const groups = new Map<string, UserGroupRef[]>();
  for (const r of rows) {
    const refs = typeof r.member_of === 'string' ? (JSON.parse(r.member_of) as UserGroupRef[]) : (r.member_of ?? []);
    groups.set(r.id, refs);
  }
  return { users, groups, tenantTotal };
}

/** Attributes an `eq` filter finds one user (or a handful) by, through an index, whatever the value. */
const KEY_ATTRIBUTES = new Set(['id', 'userName', 'externalId']);

/**
 * Whether the query is a lookup by key (`userName eq "…"`, the commonest IdP request): its plan is
 * the same for any value, so its statement is kept prepared (see readRows).
 */
function namesOneUser(query: UserListQuery): boolean {
  const c = query.criteria;
  return c?.op === 'cmp' && c.cmp === 'eq' && KEY_ATTRIBUTES.has(c.field) && typeof c.value === 'string' && !query.sortBy;
}

/**
 * The rows of one page of users in a deterministic order (sort attribute, then creation order),
 * with the given select list and, when given, the groups aggregate as one more column. The common
 * case — creation order, no filter, by index or cursor — is plainPageRows (one statement from a
 * position, two at an offset); the rest one statement.
 */
async function findPageRows<R>(db: Executor, tenantId: string, query: UserListQuery, page: PageColumns): Promise<R[]> {
  // These read the groups page-wide (rowsStatement): each user's are put on its row here.
  if (!query.sortBy && !query.criteria && query.userName === undefined) return spreadPageGroups(await plainPageRows<R & PageGroupsRow>(db, tenantId, query, page), page.groupsAlias);
  if (page.groupsAlias && query.offset > 0) return spreadPageGroups(await offsetPageRows<R & PageGroupsRow>(db, tenantId, query, page), page.groupsAlias);
  const { select, groups } = page.build(page.values);
  const rows = await readRows<R>(db, onePageStatement(db, tenantId, query, select, groups), { prepared: namesOneUser(query) });
  if (query.beforeSeq !== undefined) rows.reverse();
  return rows;
}

/** findPageRows' page in one statement: the select list and groups per row, its order, offset and limit. */
function onePageStatement(db: Executor, tenantId: string, query: UserListQuery, selectList: (string | Knex.Raw)[], groups?: GroupsAggregate): Knex.QueryBuilder {
  const backwards = query.beforeSeq !== undefined;
  const q = filtered(db, tenantId, query).select([...selectList, ...(groups ? [groupsSubquery(db, groups, query.viewer)] : [])]);
  const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
  if (query.afterSeq !== undefined) q.where('u.seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) q.where('u.seq', '<', query.beforeSeq);
  // RFC 7644 §3.4.2.3: resources without a value sort last ascending, first descending.
  if (query.sortBy) q.orderByRaw(`${sortExpression(userFields, query.sortBy)} ${dir} NULLS ${dir === 'desc' ? 'FIRST' : 'LAST'}`);
  q.orderBy('u.seq', backwards ? 'desc' : query.sortBy ? dir : 'asc');
  return q.offset(query.offset).limit(query.limit);
}

/**
 * A sorted or filtered page that skips rows (startIndex > 1), with groups: first the page's
 * positions in its order, then its rows with their groups by position (pageRowsAt), put back in
 * that order. In one statement the groups subquery of the select list ran for every row the
 * offset skipped (the probe: 1.2 s for a page 49,000 deep among 50,000 users, most of it that
 * subquery); now only for the page's. A user deleted between the two is missing from the page.
 */
async function offsetPageRows<R>(db: Executor, tenantId: string, query: UserListQuery, page: PageColumns): Promise<R[]> {
  const backwards = query.beforeSeq !== undefined;
  const positions = filtered(db, tenantId, query).select('u.seq');
  const dir = query.sortOrder === 'desc' ? 'desc' : 'asc';
  if (query.afterSeq !== undefined) positions.where('u.seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) positions.where('u.seq', '<', query.beforeSeq);
  if (query.sortBy) positions.orderByRaw(`${sortExpression(userFields, query.sortBy)} ${dir} NULLS ${dir === 'desc' ? 'FIRST' : 'LAST'}`);
  positions.orderBy('u.seq', backwards ? 'desc' : query.sortBy ? dir : 'asc');
  const seqs = (await readRows<{ seq: string | number }>(db, positions.offset(query.offset).limit(query.limit))).map((r) => String(r.seq));
  if (!seqs.length) return [];
  const rows = await pageRowsAt<R & { seq: string | number }>(db, tenantId, seqs, page, query.viewer);
  const place = new Map(seqs.map((s, i) => [s, i]));
  rows.sort((a, b) => place.get(String(a.seq))! - place.get(String(b.seq))!);
  if (backwards) rows.reverse();
  return rows;
}

/**
 * A page in creation order, by index or cursor. From a position (a cursor page, the first page)
 * one statement, rangePageRows; at an offset, one statement too, indexPageRows. For a viewer:
 * first the page's positions, from an index-only scan of (tenant_id, seq), so the rows an offset
 * skips are never fetched (from a position, by roster_user_range, as rangePageRows reads them);
 * then those rows by position (pageRowsAt). The first stays unnamed: a plan made without its
 * values could sort all of a big tenant's users (see readRows). A user deleted between the two
 * leaves a gap, so the page is read again (at most twice more).
 */
async function plainPageRows<R>(db: Executor, tenantId: string, query: UserListQuery, page: PageColumns): Promise<R[]> {
  if (!query.viewer && UUID_TEXT.test(tenantId) && Number.isSafeInteger(query.limit)) {
    if (query.offset === 0) return rangePageRows<R>(db, tenantId, query, page);
    if (query.afterSeq === undefined && query.beforeSeq === undefined && Number.isSafeInteger(query.offset)) return indexPageRows<R>(db, tenantId, query, page);
  }
  const positions = query.offset === 0 && UUID_TEXT.test(tenantId) ? rangePositions(db, tenantId, query) : offsetPositions(db, tenantId, query);
  for (let attempt = 1; ; attempt++) {
    const seqs = (await readRows<{ seq: string | number }>(db, positions)).map((r) => String(r.seq));
    if (!seqs.length) return [];
    const found = await pageRowsAt<R>(db, tenantId, seqs, page, query.viewer);
    if (found.length === seqs.length || attempt === 3) return found;
  }
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The call of `roster_user_range` (tenant, after, before, limit) that both readers of a range of positions make. */
const USER_RANGE = 'roster_user_range(?::uuid, ?::bigint, ?::bigint, ?::integer)';

/**
 * A page in creation order from a position (a cursor page, or the first page) in ONE statement:
 * the positions of the tenant's users after (or before) it from `roster_user_range`, then those
 * users by position with their columns and groups, as pageRowsAt reads them. The statement is
 * kept prepared, one text per shape and direction, with one plan whatever the values: the users
 * by the positions' unique index.
 *
 * `roster_user_range` (migration 20261206000200) reads the positions with row comparisons on
 * `(tenant_id, seq)` ordered by `tenant_id, seq`, with incremental sorts off, so that only
 * `users_tenant_seq_idx` can serve them, on any statistics, with or without the tenant's rows all
 * visible. Earlier forms of this read and why they went (bench/HISTORY.md):
 * - the positions as `tenant_id = '…' AND seq > $1 ORDER BY seq` with the tenant written into a
 *   prepared text per tenant (twenty-fourth to twenty-seventh parts): where a tenant held most
 *   users and its rows were not yet all visible, PostgreSQL walked `users_seq_unique` filtered by
 *   tenant, which for a page at the end of a tenant's import reads every user imported after it;
 *   and each tenant took a prepared text of its own (capped at 48 a process);
 * - the users themselves read by the row comparisons in the statement (twenty-sixth part, ~7%
 *   more pages a second): another index that starts with tenant_id could give that order by an
 *   incremental sort, which PostgreSQL costs as nearly free on the statistics of many small
 *   tenants, and with some data it chose that plan, which reads and sorts all of the tenant's
 *   users for every page. A statement cannot turn incremental sorts off for itself; a function
 *   can, so the positions moved into one.
 * Measured by pgbench (one client, prepared; 101 positions and each user's name, among 1,100,000
 * users, 1,000,000 of them in one tenant): 0.30–0.34 ms against 0.28–0.36 ms for the positions
 * written inline, and 0.46–0.51 ms while the function's plan was remade on every call; by hand
 * at c=32 (cursor pages of 100), five alternated pairs: 650 against 611 pages/s on average.
 */
function rangePageRows<R>(db: Executor, tenantId: string, query: UserListQuery, page: PageColumns): Promise<R[]> {
  const from = query.afterSeq !== undefined ? 'after' : query.beforeSeq !== undefined ? 'before' : 'first';
  const position = query.afterSeq ?? query.beforeSeq;
  const values = { ...page.values, tenantId, limit: query.limit, ...(position !== undefined ? { position: String(position) } : {}) };
  const build = (v: typeof values) => {
    const after = (from === 'after' && v.position) || null;
    const before = (from === 'before' && v.position) || null;
    const range = db.raw(`SELECT * FROM users WHERE seq = ANY(${USER_RANGE}) AND tenant_id IS NOT DISTINCT FROM ?::uuid`, [
      v.tenantId,
      after,
      before,
      v.limit,
      v.tenantId,
    ]);
    return rowsStatement(db, range, page.build(v));
  };
  return readShapedRows<R, typeof values>(db, `users.range:${page.key}:${from}`, values, build, { prepared: true });
}

/** A viewer's page positions from a position, as rangePageRows reads them: one row each, nearest the position first. */
function rangePositions(db: Executor, tenantId: string, query: UserListQuery): Knex.Raw {
  return db.raw(`SELECT unnest(${USER_RANGE}) AS seq`, [tenantId, query.afterSeq ?? null, query.beforeSeq ?? null, query.limit]);
}

/** A viewer's page positions at an offset (or, from a position, for a tenant id that is no UUID). */
function offsetPositions(db: Executor, tenantId: string, query: UserListQuery): Knex.QueryBuilder {
  const positions = db('users').select('seq').where('tenant_id', tenantId);
  if (query.afterSeq !== undefined) positions.where('seq', '>', query.afterSeq);
  if (query.beforeSeq !== undefined) positions.where('seq', '<', query.beforeSeq);
  return positions.orderBy('seq', query.beforeSeq !== undefined ? 'desc' : 'asc').offset(query.offset).limit(query.limit);
}

/**
 * A page in creation order at an offset (SCIM `startIndex` > 1) in ONE statement: its positions
 * from `roster_user_positions` (an index-only scan of `(tenant_id, seq)`, planned with its values
 * on every call, migration 20261205000200), then the users at them with their columns and groups,
 * as pageRowsAt reads them. The statement is kept prepared, one text per shape: its plan reads the
 * users by the positions' unique index whatever the values. Positions and rows are read in one
 * snapshot, so a user deleted meanwhile leaves no gap. Measured by pgbench (one client, pages of
 * 100 at offsets up to 9,900 among the bench's 1,050,000 users): 1.20–2.01 ms a page against
 * 1.45–2.47 ms for the two statements, before the saving of a statement on Node's side.
 */
function indexPageRows<R>(db: Executor, tenantId: string, query: UserListQuery, page: PageColumns): Promise<R[]> {
  const values = { ...page.values, tenantId, offset: query.offset, limit: query.limit };
  const build = (v: typeof values) =>
    rowsStatement(
      db,
      db.raw('SELECT * FROM users WHERE seq = ANY(roster_user_positions(?::uuid, ?::bigint, ?::integer)) AND tenant_id IS NOT DISTINCT FROM ?::uuid', [
        v.tenantId,
        v.offset,
        v.limit,
        v.tenantId,
      ]),
      page.build(v),
    );
  return readShapedRows<R, typeof values>(db, `users.offset:${page.key}`, values, build, { prepared: true });
}

/**
 * The users at the given positions, in position order, as `u` for the page's columns. Kept
 * prepared: planning it cost about as much as running it, and it has one good plan whatever its
 * values — the positions' unique index — since its tenant condition is written so no index can
 * serve it (a plan made without the values could otherwise pick the tenant's index and filter a
 * big tenant's every user). Its text is built once per shape (shapes.ts) when no viewer's
 * visibility is part of it.
 *
 * The groups of the whole page are read once for it (rowsStatement, spreadPageGroups): the page's
 * memberships as one range of group_members_member_idx between its lowest and highest user id
 * (ids are time-ordered, so a page's users sit together there), or one probe per user where that
 * range holds PAGE_MEMBERSHIP_SPAN or more (random ids); each distinct group then looked up once,
 * by key, its item written once with the ids of its members read; Roster puts each user's own on
 * its row. No step joins two sets the planner cannot size: joining the memberships to a CTE of
 * their groups was once planned as a nested loop over the two (rows × groups: 590 ms for a page
 * of 100 users in 40 groups each).
 * Measured (pgbench, one client, cursor pages of 100 among the bench's 1,050,000 users, each in
 * one group): 0.70–0.75 ms a statement, against 0.89–0.92 ms when each user probed the index and
 * its groups were aggregated and joined in PostgreSQL, and 0.44–0.45 ms without groups.
 */
function pageRowsAt<R>(db: Executor, tenantId: string, seqs: string[], page: PageColumns, viewer?: GroupViewer): Promise<R[]> {
  const values = { ...page.values, tenantId, seqs: `{${seqs.join(',')}}` };
  const build = (v: typeof values) => rowsAtStatement(db, v.tenantId, v.seqs, page.build(v), viewer);
  if (viewer) return readRows<R>(db, build(values), { prepared: true });
  return readShapedRows<R, typeof values>(db, `users.rows:${page.key}`, values, build, { prepared: true });
}

/** pageRowsAt's statement; `seqs` the positions as an array literal. */
function rowsAtStatement(db: Executor, tenantId: string, seqs: string, page: PageSelect, viewer?: GroupViewer): Knex.QueryBuilder {
  return rowsStatement(db, db.raw('SELECT * FROM users WHERE seq = ANY(?::bigint[]) AND tenant_id IS NOT DISTINCT FROM ?::uuid', [seqs, tenantId]), page, viewer);
}

/**
 * At most this many memberships are read as one range of `group_members_member_idx` for a page
 * (rowsStatement); a page whose members' ids span more falls back to one probe per user.
 */
export const PAGE_MEMBERSHIP_SPAN = 1000;

/**
 * A page's statement over its users `u` (read by `users`), in creation order, with their groups
 * when asked for: the page's groups, each with its members' ids, on its first row
 * (spreadPageGroups puts them on the rows).
 */
function rowsStatement(db: Executor, users: Knex.Raw, { select, groups }: PageSelect, viewer?: GroupViewer): Knex.QueryBuilder {
  const q = db
    .with('u', users)
    .from('u')
    .select(select)
    .orderBy('u.seq');
  if (!groups) return q;
  const { item, where, bindings } = forViewer(groups, viewer);
  return q
    .with(
      'r',
      db.raw(`SELECT gm.group_id, gm.member_id FROM group_members gm
        WHERE gm.tenant_id = (SELECT tenant_id FROM u LIMIT 1) AND gm.member_kind = 'user'
          AND gm.member_id >= (SELECT id FROM u ORDER BY id LIMIT 1) AND gm.member_id <= (SELECT id FROM u ORDER BY id DESC LIMIT 1)
        ORDER BY gm.member_id LIMIT ${PAGE_MEMBERSHIP_SPAN}`),
    )
    .with(
      'pm',
      db.raw(`SELECT r.group_id, r.member_id FROM r WHERE NOT EXISTS (SELECT 1 FROM r OFFSET ${PAGE_MEMBERSHIP_SPAN - 1})
        UNION ALL
        SELECT gm.group_id, gm.member_id FROM u AS pu JOIN group_members gm ON gm.tenant_id = pu.tenant_id AND gm.member_kind = 'user' AND gm.member_id = pu.id
        WHERE EXISTS (SELECT 1 FROM r OFFSET ${PAGE_MEMBERSHIP_SPAN - 1})`),
    )
    .select(
      db.raw(
        `CASE WHEN u.seq = (SELECT min(seq) FROM u) THEN (SELECT json_agg(json_build_array(g.item, d.members) ORDER BY g.name)::text
           FROM (SELECT group_id, string_agg(member_id::text, '') AS members FROM pm GROUP BY group_id) AS d
           CROSS JOIN LATERAL (SELECT g.name, ${item} AS item FROM groups g WHERE g.tenant_id = (SELECT tenant_id FROM u LIMIT 1) AND g.id = d.group_id${where} OFFSET 0) AS g) END AS page_groups`,
        bindings,
      ),
    );
}

/** The page-wide column of rowsStatement's groups, on the first row of a page. */
interface PageGroupsRow {
  page_groups?: string | null;
}

/** The length of a UUID's text: page_groups' member ids follow each other without separators. */
const UUID_LENGTH = 36;

/**
 * Puts each user's groups on its row as `alias` — what a per-user aggregate in name order would
 * give: the items joined by commas (text) or an array of {id, name} (objects), null when none —
 * from the page-wide column of rowsStatement: every group the page's users are in that the
 * viewer may see, in name order, each with its item and the ids of its members read (36
 * characters each, some of users off the page). Taken in that order, each user's list comes out
 * in name order.
 */
function spreadPageGroups<R>(rows: (R & PageGroupsRow)[], alias: GroupsAggregate['alias'] | undefined): R[] {
  if (!alias) return rows;
  const head = rows.find((r) => r.page_groups != null);
  const byUser = new Map<string, (string | UserGroupRef)[]>();
  for (const [item, members] of head?.page_groups ? (JSON.parse(head.page_groups) as [string | UserGroupRef, string][]) : []) {
    for (let at = 0; at + UUID_LENGTH <= members.length; at += UUID_LENGTH) {
      const user = members.slice(at, at + UUID_LENGTH);
      const list = byUser.get(user);
      if (list) list.push(item);
      else byUser.set(user, [item]);
    }
  }
  for (const r of rows) {
    const row = r as unknown as { id: string } & Record<string, unknown>;
    const list = byUser.get(row.id);
    row[alias] = !list ? null : alias === 'groups_text' ? list.join(',') : list;
  }
  return rows;
}

/** The columns of a page: the select list over `u` and, when asked for, the groups aggregate. */
interface PageSelect {
  select: (string | Knex.Raw)[];
  groups?: GroupsAggregate;
}

/**
 * What a page reads, from values: `key` names everything its statements' text depends on beyond
 * `values` (which must hold every value `build` writes into them), so that pageRowsAt can keep
 * one text per shape.
 */
interface PageColumns {
  key: string;
  /** The alias of `build`'s groups aggregate, when it has one (known without building it). */
  groupsAlias?: GroupsAggregate['alias'];
  values: ShapeValues & { tenantId: string };
  build: (values: ShapeValues & { tenantId: string }) => PageSelect;
}

/** One page of users (see findPageRows), with each one's direct groups and the tenant's total when asked for. */
export async function findUserPage(db: Executor, tenantId: string, query: UserListQuery): Promise<UserPageRows> {
  if (query.limit <= 0) return { users: [], groups: query.withGroups ? new Map() : undefined };
  const rows = await findPageRows<PageRow>(db, tenantId, query, {
    key: `objects:${query.withTenantTotal ? 1 : 0}:${query.withGroups ? 1 : 0}`,
    groupsAlias: query.withGroups ? GROUPS_JSON.alias : undefined,
    values: { tenantId },
    build: (v) => ({
      select: [...columns.map((c) => `u.${c}`), ...(query.withTenantTotal ? [tenantTotalColumn(db, v.tenantId)] : [])],
      groups: query.withGroups ? GROUPS_JSON : undefined,
    }),
  });
  return toPage(rows, query.withGroups);
}

/**
 * A stored timestamp as PostgreSQL writes it in UTC: `YYYY-MM-DD HH:MM:SS`, then `.` and one to
 * six digits unless the fraction is zero (DateStyle ISO, which pg's own parsing of timestamps
 * needs too); utcIso makes it ISO 8601. PostgreSQL's to_char wrote the ISO form itself for
 * ~0.55 µs a timestamp, two per user (~0.11 ms of a page of 100 users); its plain text costs
 * about half that (measured on the bench's users, bench/HISTORY.md, twenty-seventh part).
 */
const utcText = (column: string) => `(${column} AT TIME ZONE 'UTC')::text`;

/** utcText's timestamp in ISO 8601 with milliseconds (truncated), as Date#toISOString writes it. */
function utcIso(text: string): string {
  // CASE: not that shape (another DateStyle, which pg's own parsing of timestamps refuses too): as Date reads it.
  if (text.length < 19 || text.charCodeAt(10) !== 32) return new Date(`${text.replace(' ', 'T')}Z`).toISOString();
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${text.slice(20, 23).padEnd(3, '0')}Z`;
}

type TextRow = {
  id: string;
  seq: string | number;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  version: number;
  resource_json: string;
  has_key: boolean;
  created: string;
  last_modified: string;
  groups_text?: string | null;
  tenant_total?: string | number;
};

/**
 * One page of users (see findPageRows) as text, for a caller that writes them out as JSON without
 * building objects: the stored profile as JSON text, the timestamps formatted, and the direct
 * groups written by PostgreSQL with `format.groups` (in name order; null when none). On a page of
 * 100 users this saves Node parsing each profile and timestamp into objects only to serialise
 * them again (measured: ~2.1 ms of Node CPU per page, a fifth of it garbage collection).
 */
export async function findUserTextPage(db: Executor, tenantId: string, query: UserListQuery, format: UserTextFormat): Promise<UserTextPage> {
  if (query.limit <= 0) return { users: [] };
  const rows = lookupByKey(query)
    ? await findLookupTextRows(db, tenantId, query, query.criteria, format)
    : await findPageRows<TextRow>(db, tenantId, query, {
        key: `text:${query.withTenantTotal ? 1 : 0}:${format.groups ? 1 : 0}`,
        groupsAlias: format.groups ? GROUPS_TEXT_ALIAS : undefined,
        // With groups, the template's five parts are values too (the request's base URL is in them).
        values: { tenantId, key: format.key ?? '', ...(format.groups ?? {}) },
        build: (v) => ({
          select: textSelectList(db, v.tenantId, String(v.key), query.withTenantTotal),
          groups: format.groups ? groupsText(v as unknown as MemberTemplate) : undefined,
        }),
      });
  const users = rows.map(
    (r): UserText => ({
      id: r.id,
      seq: Number(r.seq),
      userName: r.user_name,
      externalId: r.external_id,
      displayName: r.display_name,
      active: r.active,
      version: r.version,
      resourceJson: r.resource_json,
      hasKey: r.has_key,
      created: utcIso(r.created),
      lastModified: utcIso(r.last_modified),
      groupsText: r.groups_text ?? null,
    }),
  );
  return { users, tenantTotal: tenantTotalOf(rows) };
}

/** findUserTextPage's select list: `key` is the extension whose presence has_key tells. */
function textSelectList(db: Executor, tenantId: string, key: string, withTenantTotal: boolean | undefined): (string | Knex.Raw)[] {
  return [
    ...['id', 'seq', 'user_name', 'external_id', 'display_name', 'active', 'version'].map((c) => `u.${c}`),
    // The profile as text, kept by PostgreSQL on every write (migration 20261206000100).
    db.raw('u.resource_text AS resource_json'),
    db.raw('(u.resource -> ?::text) IS NOT NULL AS has_key', [key]),
    db.raw(`${utcText('u.created_at')} AS created`),
    db.raw(`${utcText('u.updated_at')} AS last_modified`),
    ...(withTenantTotal ? [tenantTotalColumn(db, tenantId)] : []),
  ];
}

type KeyLookup = Extract<Criteria, { op: 'cmp' }> & { value: string };

/**
 * A lookup by key (namesOneUser) of a token acting as nobody, from the first position: the one statement of the commonest IdP request, `userName eq "…"`. Its text is the
 * same for every value, so it is built once per shape (readShapedRows), and lookups that arrive
 * while it runs run together as one statement (read-batches.ts).
 */
function lookupByKey(query: UserListQuery): query is UserListQuery & { criteria: KeyLookup } {
  return namesOneUser(query) && !query.viewer && query.userName === undefined && query.offset === 0 && query.afterSeq === undefined && query.beforeSeq === undefined;
}

/** findPageRows' rows of a lookupByKey query, built once per shape (see lookupByKey). */
function findLookupTextRows(db: Executor, tenantId: string, query: UserListQuery, criteria: KeyLookup, format: UserTextFormat): Promise<TextRow[]> {
  const t = format.groups;
  const key = `users.text.lookup:${criteria.field.toLowerCase()}:${query.withTenantTotal ? 1 : 0}:${t ? 1 : 0}`;
  // With groups, the template's five parts are values too (the request's base URL is in them).
  const values = { tenantId, value: criteria.value, key: format.key ?? '', limit: query.limit, ...(t ?? {}) };
  return readShapedRows<TextRow, typeof values>(
    db,
    key,
    values,
    (v) => {
      const shaped: UserListQuery = { ...query, criteria: { ...criteria, value: v.value }, limit: v.limit };
      const select = textSelectList(db, v.tenantId, v.key, query.withTenantTotal);
      return onePageStatement(db, v.tenantId, shaped, select, t ? groupsText(v as typeof v & MemberTemplate) : undefined);
    },
    { prepared: true, batchBy: { name: 'value', type: criteria.field.toLowerCase() === 'id' ? 'uuid' : 'text' } },
  );
}

const GROUPS_TEXT_ALIAS = 'groups_text';

/** The direct groups, each written with the template, in name order. */
function groupsText(t: MemberTemplate): GroupsAggregate {
  return {
    item: `?::text || g.id::text || ?::text || g.id::text || ?::text || ?::text || to_json(g.name)::text || ?::text`,
    bindings: [t.beforeId, t.betweenIds, t.afterIds, t.beforeDisplay, t.end],
    combine: (item) => `string_agg(${item}, ',' ORDER BY g.name)`,
    alias: GROUPS_TEXT_ALIAS,
  };
}

export async function countUsers(db: Executor, tenantId: string, query: UserListQuery): Promise<number> {
  // CASE: no condition: the counter rows know the total without scanning the tenant's users.
  if (query.userName === undefined && !query.criteria) return countTenantRows(db, tenantId, 'users');
  const [{ count }] = await filtered(db, tenantId, query).count({ count: '*' });
  return Number(count);
}

/** Direct group memberships of several users, in one statement; with a viewer, of the groups it may see only. */
export async function findGroupsOfUsers(db: Executor, tenantId: string, userIds: string[], viewer?: GroupViewer): Promise<Map<string, UserGroupRef[]>> {
  const out = new Map<string, UserGroupRef[]>(userIds.map((id) => [id, []]));
  if (!userIds.length) return out;
  const q = db('group_members as gm')
    .join('groups as g', function () {
      this.on('g.tenant_id', 'gm.tenant_id').andOn('g.id', 'gm.group_id');
    })
    .where('gm.tenant_id', tenantId)
    .where('gm.member_kind', 'user')
    .whereIn('gm.member_id', userIds);
  if (viewer) {
    const visible = visibleTo(viewer, 'g');
    q.whereRaw(visible.sql, visible.bindings as Knex.RawBinding[]);
  }
  const rows: { member_id: string; id: string; name: string }[] = await q.select('gm.member_id', 'g.id', 'g.name').orderBy('g.name');
  for (const r of rows) out.get(r.member_id)?.push({ id: r.id, name: r.name });
  return out;
}

/** The stored password hash of a user (never part of User). */
export async function findPasswordHash(db: Executor, tenantId: string, id: string): Promise<string | null | undefined> {
  const row = await db('users').select('password_hash').where({ tenant_id: tenantId, id }).first();
  return row ? row.password_hash : undefined;
}

/**
 * Applies changes and bumps the version, or returns undefined when they change nothing: a write
 * that sets every field to what it already is (an IdP's periodic PUT) leaves the version (the
 * ETag), `updated_at` and the change feed alone (RFC 7644 §3.14). A password counts as a change.
 */
export async function updateUser(db: Executor, tenantId: string, id: string, changes: Omit<UserChanges, 'password'> & { passwordHash?: string | null }): Promise<User | undefined> {
  const set = toColumns(changes);
  const compared = Object.entries(set).filter(([column]) => column !== 'password_hash');
  if (!('password_hash' in set) && !compared.length) return undefined;
  const q = db('users').where({ tenant_id: tenantId, id });
  if (!('password_hash' in set)) {
    q.where((w) => {
      for (const [column, value] of compared) w.orWhereRaw(`?? IS DISTINCT FROM ?${column === 'resource' ? '::jsonb' : ''}`, [column, value as Knex.Value]);
    });
  }
  const [row] = await q.update({ ...set, version: db.raw('version + 1'), updated_at: db.fn.now() }).returning(columns);
  return row ? toUser(row) : undefined;
}

export async function deleteUserRow(db: Executor, tenantId: string, id: string): Promise<void> {
  await db('users').where({ tenant_id: tenantId, id }).delete();
}

/** Exact number of users (or groups) of a tenant, from the trigger-maintained striped counters. */
export async function countTenantRows(db: Executor, tenantId: string, kind: 'users' | 'groups'): Promise<number> {
  const [{ total }] = await db('tenant_counters').where({ tenant_id: tenantId, kind }).sum({ total: 'n' });
  return Number(total ?? 0);
}
