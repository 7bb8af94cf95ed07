import type { Knex } from 'knex';
import type { Executor } from '../../db/transaction';
import type { GroupViewer } from '../groups/group';
import { visibleTo } from '../groups/groups.repository';
import type { MemberKind } from './membership';

/**
 * A batch of a group's direct members written as text by PostgreSQL from a MemberTemplate: the
 * members' texts joined by commas, in parts of at most MEMBERS_PER_PART members (the parts go
 * one after the other, joined by commas too), how many there are, and the last one's kind and
 * id (where the next batch starts).
 */
export interface MemberTextBatch {
  parts: string[];
  count: number;
  last?: { kind: MemberKind; id: string };
}

/**
 * Members per row of a batch: ~17 KB of SCIM text, under the 64 KB a socket read brings. pg's
 * protocol parser gathers a message larger than a read in a buffer it doubles as the message
 * grows, so one 1.7 MB row per 10,000-member batch left ~4 MB of dead buffers per batch, which
 * V8 collects only once external memory has grown by 64 MB (measured: a 100,000-member GET
 * +44 MiB of RSS). Rows smaller than a read are parsed in place.
 */
export const MEMBERS_PER_PART = 100;

/**
 * How one member is written, the caller's format: literal pieces around the member's id (twice)
 * and its display name (as a JSON string; the piece before it and the name are left out when
 * the member has none). The SCIM dialect's member objects are one such format.
 */
export interface MemberTemplate {
  beforeId: string;
  betweenIds: string;
  afterIds: string;
  beforeDisplay: string;
  end: string;
}

/** A template per member kind. */
export type MemberTemplates = Record<MemberKind, MemberTemplate>;

const templateValues = (t: MemberTemplate) => [t.beforeId, t.betweenIds, t.afterIds, t.beforeDisplay, t.end];

/**
 * The SQL of one member's text over a row `b` of (kind, id, display), the template's pieces bound
 * as parameters (five per kind, user then group where the row's kind decides). This is the hot
 * loop of a million-member GET: PostgreSQL writes the text of each batch in the statement that
 * reads it, so Node neither parses a row object per member nor builds its text (measured: a
 * 100,000-member SCIM GET ~0.55 → ~0.42 s). Ids are UUIDs (nothing to escape); display names go
 * through to_json. A member whose row is gone (a concurrent delete) has no display.
 */
function memberTextSql(kind: MemberKind | 'column'): string {
  const one = `?::text || b.id::text || ?::text || b.id::text || ?::text || coalesce(?::text || to_json(b.display)::text, '') || ?::text`;
  return kind === 'column' ? `CASE b.kind WHEN 'user' THEN ${one} ELSE ${one} END` : one;
}

/**
 * memberTextSql for a viewer (a token acting as a user): a member group the viewer may not see
 * (groups.repository.ts's visibleTo) has no text, so string_agg leaves it out, but it still
 * counts and can be a batch's last member: the batches go on where they would have. Without a
 * viewer the text is memberTextSql's, and so is the statement.
 */
function visibleMemberText(kind: MemberKind | 'column', tenantId: string, viewer: GroupViewer | undefined): { sql: string; bindings: Knex.RawBinding[] } {
  if (!viewer || kind === 'user') return { sql: memberTextSql(kind), bindings: [] };
  const visible = visibleTo(viewer, 'vg');
  return {
    sql: `CASE WHEN b.kind = 'group' AND NOT EXISTS (SELECT 1 FROM groups vg WHERE vg.tenant_id = ? AND vg.id = b.id AND ${visible.sql}) THEN NULL ELSE ${memberTextSql(kind)} END`,
    bindings: [tenantId, ...(visible.bindings as Knex.RawBinding[])],
  };
}

/**
 * A batch's statement over `members` (its rows `b` of kind, id and display, in order): the
 * members' texts in parts of `perPart`, each part a row with its text, its count and its last
 * member (`lastOf`), the parts in order.
 */
function partsSql(members: string, text: string, order: ('kind' | 'id')[], lastOf: string, perPart: number): string {
  const by = (alias: string) => order.map((column) => `${alias}.${column}`).join(', ');
  return `SELECT string_agg(c.t, ',' ORDER BY ${by('c')}) AS text, count(*) AS n, max(c.last COLLATE "C") AS last
            FROM (SELECT b.kind, b.id, ${text} AS t, ${lastOf} AS last,
                         (row_number() OVER (ORDER BY ${by('b')}) - 1) / ${Math.max(1, Math.floor(perPart))} AS part
                    FROM (${members}) b) c
           GROUP BY c.part ORDER BY c.part`;
}

function toBatch(rows: { text: string | null; n: number | string; last: string | null }[], kind?: MemberKind): MemberTextBatch {
  const count = rows.reduce((n, r) => n + Number(r.n), 0);
  const lastText = rows.length ? rows[rows.length - 1].last : null;
  if (!count || !lastText) return { parts: [], count: 0 };
  // The last member is "kind id" when the batch holds both kinds, the id alone otherwise.
  const space = lastText.indexOf(' ');
  const last = kind ? { kind, id: lastText } : { kind: lastText.slice(0, space) as MemberKind, id: lastText.slice(space + 1) };
  return { parts: rows.map((r) => r.text ?? ''), count, last };
}

/** A user's display name over its row `u`: its displayName, else its userName. */
const USER_DISPLAY = 'coalesce(u.display_name, u.user_name)';

/**
 * A member's display name, read by a scalar subquery over `gm`: one primary-key probe per member
 * whatever the tenant's size. As a join, the planner hashed the whole tenant's users for every
 * batch (a sequential scan of 150,000 users for 10,000 members: ~85 → ~50 ms per batch here).
 */
const displayOf: Record<MemberKind, string> = {
  user: `(SELECT ${USER_DISPLAY} FROM users u WHERE u.tenant_id = gm.tenant_id AND u.id = gm.member_id)`,
  group: '(SELECT g.name FROM groups g WHERE g.tenant_id = gm.tenant_id AND g.id = gm.member_id)',
};

/**
 * One keyset batch of a group's direct members of one kind, after `afterId`, as text. The
 * condition is exactly a prefix of the primary key (tenant_id, group_id, member_kind,
 * member_id) plus a lower bound on its last column, so each batch is an index range scan that
 * starts where the previous one stopped: reading batch k costs the same at any depth (a row
 * comparison over (member_kind, member_id) is not used as an index bound and rescans from the
 * start). Display names come from displayOf, or with `usersInRange` (a range of a group that
 * holds a good share of the tenant's users) from a join with the tenant's users in the same id
 * range: the planner hashes or merges those users, read in key order, instead of probing the key
 * once per member (measured: a 10,000-member batch of a group holding two thirds of its tenant's
 * users ~45 → ~37 ms). The join is bounded by the range, so it never reads the whole tenant; a
 * group holding few of the tenant's users keeps the probes (there the range would hold many more
 * users than members).
 *
 * CASE: the planner expects tens of thousands of rows and picks a parallel plan, whose worker
 * start-up costs more than the whole batch (measured: 5k-member batches 3x slower); the batch
 * runs in its own short transaction with parallel workers off. The join runs with nested loops
 * off too: for one range of a million-member group the planner chose a nested loop that scanned
 * the range's users once per member (4.8 s instead of ~35 ms); a hash or merge join reads them once.
 */
export async function findMemberBatch(
  db: Executor,
  tenantId: string,
  groupId: string,
  kind: MemberKind,
  afterId: string | undefined,
  limit: number,
  templates: MemberTemplates,
  /** Only members up to this id (inclusive): the end of a range read beside others. */
  upTo?: string,
  perPart = MEMBERS_PER_PART,
  usersInRange = false,
  /** A token acting as a user: the member groups it may not see are counted but not written. */
  viewer?: GroupViewer,
): Promise<MemberTextBatch> {
  const from = afterId ?? '00000000-0000-0000-0000-000000000000';
  const joined = usersInRange && kind === 'user' && upTo !== undefined;
  const members = joined
    ? `SELECT gm.member_kind AS kind, gm.member_id AS id, ${USER_DISPLAY} AS display
         FROM group_members gm
         LEFT JOIN users u ON u.tenant_id = gm.tenant_id AND u.id = gm.member_id AND u.id > ?::uuid AND u.id <= ?::uuid
        WHERE gm.tenant_id = ? AND gm.group_id = ? AND gm.member_kind = ? AND gm.member_id > ?::uuid AND gm.member_id <= ?::uuid
        ORDER BY gm.member_id
        LIMIT ?`
    : `SELECT gm.member_kind AS kind, gm.member_id AS id, ${displayOf[kind]} AS display
         FROM group_members gm
        WHERE gm.tenant_id = ? AND gm.group_id = ? AND gm.member_kind = ? AND gm.member_id > ?::uuid${upTo ? ' AND gm.member_id <= ?::uuid' : ''}
        ORDER BY gm.member_id
        LIMIT ?`;
  const bindings = [...(joined ? [from, upTo] : []), tenantId, groupId, kind, from, ...(upTo ? [upTo] : []), limit];
  const read = async (trx: Knex.Transaction) => {
    // set_config(…, true) is SET LOCAL: it lasts until the batch's transaction ends.
    await trx.raw(`SELECT set_config('max_parallel_workers_per_gather', '0', true)${joined ? ", set_config('enable_nestloop', 'off', true)" : ''}`);
    const text = visibleMemberText(kind, tenantId, viewer);
    return trx.raw(partsSql(members, text.sql, ['id'], 'b.id::text', perPart), [...text.bindings, ...templateValues(templates[kind]), ...bindings]);
  };
  const result = (db as Knex.Transaction).isTransaction ? await read(db as Knex.Transaction) : await (db as Knex).transaction(read);
  return toBatch(result.rows, kind);
}

/**
 * The first `limit` direct members of both kinds (groups, then users, each by id) as text:
 * a small group is read whole in this one plain statement; a bigger one continues with
 * findMemberBatch.
 */
export async function findFirstMembers(
  db: Executor,
  tenantId: string,
  groupId: string,
  limit: number,
  templates: MemberTemplates,
  perPart = MEMBERS_PER_PART,
  viewer?: GroupViewer,
): Promise<MemberTextBatch> {
  const members = `SELECT gm.member_kind AS kind, gm.member_id AS id,
                            CASE gm.member_kind WHEN 'user' THEN ${displayOf.user} ELSE ${displayOf.group} END AS display
                     FROM group_members gm
                    WHERE gm.tenant_id = ? AND gm.group_id = ?
                    ORDER BY gm.member_kind, gm.member_id
                    LIMIT ?`;
  const text = visibleMemberText('column', tenantId, viewer);
  const result = await db.raw(partsSql(members, text.sql, ['kind', 'id'], "b.kind || ' ' || b.id::text", perPart), [
    ...text.bindings,
    ...templateValues(templates.user),
    ...templateValues(templates.group),
    tenantId,
    groupId,
    limit,
  ]);
  return toBatch(result.rows);
}

const MAX_RANGES = 1024;
const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** The first 64 bits of a UUID, as a number. */
const prefixOf = (id: string): bigint => BigInt(`0x${id.replace(/-/g, '').slice(0, 16)}`);

/** The largest UUID whose first 64 bits are `prefix`. */
function lastIdWith(prefix: bigint): string {
  const hex = prefix.toString(16).padStart(16, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-ffff-ffffffffffff`;
}

/**
 * The inclusive upper ends of `count` equal id ranges, keeping those past `after`; the last is
 * the largest UUID, so the ranges cover every id after `after` whatever was added meanwhile. One
 * range or none: `[undefined]` (no upper end). With `span` (the smallest and largest member id,
 * memberIdSpan) the ranges split that span on the ids' first 64 bits; without it, the whole UUID
 * space. Random (version 4) ids spread evenly over the space; time-ordered (version 7) ids, which
 * users and groups get since migration 20261205000100, spread over their creation times, all
 * within a sliver of the space (read as equal parts of the whole space, one range held them all).
 */
export function idRangeEnds(count: number, after?: string, span?: { first: string; last: string }): (string | undefined)[] {
  const n = Math.min(MAX_RANGES, Math.floor(count));
  if (!(n > 1)) return [undefined];
  const lo = span ? prefixOf(span.first) : 0n;
  const width = span ? prefixOf(span.last) - lo + 1n : 1n << 64n;
  const ends: string[] = [];
  for (let i = 1; i <= n; i++) {
    const at = lo + (width * BigInt(i)) / BigInt(n) - 1n;
    // CASE: a span narrower than the count that starts at the first id of the space: no range ends before it.
    if (i < n && at < 0n) continue;
    const end = i === n ? LAST_ID : lastIdWith(at);
    // CASE: a span narrower than the count: several ranges end at the same id; keep one.
    if ((after === undefined || end > after.toLowerCase()) && end !== ends[ends.length - 1]) ends.push(end);
  }
  return ends;
}

/**
 * The smallest and largest id among a group's members of a kind, or undefined when it has none:
 * two index probes, one at each end of the group's part of the primary key.
 *
 * CASE: the text column is named `id`, and the order is by the qualified uuid column. Written as
 * `SELECT member_id::text … ORDER BY member_id`, the ORDER BY named the output column, which
 * keeps the name member_id: the text. No index gives that order, so PostgreSQL read all of the
 * group's members and sorted them, at each end (75 ms of a 100,000-member GET, against 1 ms).
 */
export async function memberIdSpan(db: Executor, tenantId: string, groupId: string, kind: MemberKind): Promise<{ first: string; last: string } | undefined> {
  // PostgreSQL 15 has no min/max over uuid: each end is the first row of the key in one direction.
  const end = (dir: 'ASC' | 'DESC') =>
    `(SELECT gm.member_id::text AS id FROM group_members gm WHERE gm.tenant_id = ? AND gm.group_id = ? AND gm.member_kind = ? ORDER BY gm.member_id ${dir} LIMIT 1)`;
  const result = await db.raw(`SELECT ${end('ASC')} AS first, ${end('DESC')} AS last`, [tenantId, groupId, kind, tenantId, groupId, kind]);
  const row = result.rows[0] as { first: string | null; last: string | null } | undefined;
  return row?.first && row.last ? { first: row.first, last: row.last } : undefined;
}
