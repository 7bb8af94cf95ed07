import type { Knex } from 'knex';
import type { Executor } from '../../db/transaction';
import type { MemberKind } from './membership';

/**
 * A batch of a group's direct members as SCIM member objects, rendered by PostgreSQL: the JSON
 * text of the objects joined by commas (no brackets), how many there are, and the last one's
 * kind and id (where the next batch starts).
 */
export interface MemberJsonBatch {
  json: string;
  count: number;
  last?: { kind: MemberKind; id: string };
}

/**
 * Where a member's `$ref` points: the opening of a JSON string up to the member's id, for each
 * kind, e.g. `"https://roster.example/scim/v2/Users/` (see scimRefOpenings in http/scim).
 */
export interface MemberRefOpenings {
  user: string;
  group: string;
}

/**
 * The SQL of one SCIM member object (`{"value","$ref","display","type"}`, the order of
 * presentGroup's members) over a row `b` of (kind, id, display). This is the hot loop of a
 * million-member GET: PostgreSQL writes the JSON text of each batch in the statement that reads
 * it, so Node neither parses a row object per member nor builds its JSON (measured: a
 * 100,000-member GET ~0.55 → ~0.3 s, Node's CPU for it mostly gone). Ids are UUIDs (nothing to
 * escape); display names go through to_json; the `$ref` openings are bound parameters, already
 * JSON-escaped. A member whose row is gone (a concurrent delete) has no display, as before.
 */
function memberObjectSql(kind: MemberKind | 'column'): string {
  const ref = kind === 'column' ? "CASE b.kind WHEN 'user' THEN ?::text ELSE ?::text END" : '?::text';
  const type = kind === 'column' ? `CASE b.kind WHEN 'user' THEN 'User' ELSE 'Group' END` : kind === 'user' ? "'User'" : "'Group'";
  return `'{"value":"' || b.id::text || '","$ref":' || ${ref} || b.id::text || '"' || coalesce(',"display":' || to_json(b.display)::text, '') || ',"type":"' || ${type} || '"}'`;
}

function toBatch(row: { json: string | null; n: number | string; last: string | null }, kind?: MemberKind): MemberJsonBatch {
  const count = Number(row.n);
  if (!count || !row.last) return { json: '', count: 0 };
  // The last member is "kind id" when the batch holds both kinds, the id alone otherwise.
  const space = row.last.indexOf(' ');
  const last = kind ? { kind, id: row.last } : { kind: row.last.slice(0, space) as MemberKind, id: row.last.slice(space + 1) };
  return { json: row.json ?? '', count, last };
}

/**
 * One keyset batch of a group's direct members of one kind, after `afterId`, as SCIM JSON. The
 * condition is exactly a prefix of the primary key (tenant_id, group_id, member_kind,
 * member_id) plus a lower bound on its last column, so each batch is an index range scan that
 * starts where the previous one stopped: reading batch k costs the same at any depth (a row
 * comparison over (member_kind, member_id) is not used as an index bound and rescans from the
 * start). Users are joined for their display name one primary-key probe per member.
 *
 * CASE: the planner expects tens of thousands of rows and picks a parallel plan, whose worker
 * start-up costs more than the whole batch (measured: 5k-member batches 3x slower); the batch
 * runs in its own short transaction with parallel workers off.
 */
export async function findMemberBatch(
  db: Executor,
  tenantId: string,
  groupId: string,
  kind: MemberKind,
  afterId: string | undefined,
  limit: number,
  refs: MemberRefOpenings,
  /** Only members up to this id (inclusive): the end of a range read beside others. */
  upTo?: string,
): Promise<MemberJsonBatch> {
  const display = kind === 'user' ? 'coalesce(u.display_name, u.user_name)' : 'g.name';
  const join =
    kind === 'user'
      ? 'LEFT JOIN users u ON u.tenant_id = gm.tenant_id AND u.id = gm.member_id'
      : 'LEFT JOIN groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.member_id';
  const read = async (trx: Knex.Transaction) => {
    await trx.raw('SET LOCAL max_parallel_workers_per_gather = 0');
    return trx.raw(
      `SELECT string_agg(${memberObjectSql(kind)}, ',' ORDER BY b.id) AS json, count(*) AS n, max(b.id::text COLLATE "C") AS last
         FROM (SELECT gm.member_id AS id, ${display} AS display
                 FROM group_members gm ${join}
                WHERE gm.tenant_id = ? AND gm.group_id = ? AND gm.member_kind = ? AND gm.member_id > ?::uuid${upTo ? ' AND gm.member_id <= ?::uuid' : ''}
                ORDER BY gm.member_id
                LIMIT ?) b`,
      [kind === 'user' ? refs.user : refs.group, tenantId, groupId, kind, afterId ?? '00000000-0000-0000-0000-000000000000', ...(upTo ? [upTo] : []), limit],
    );
  };
  const result = (db as Knex.Transaction).isTransaction ? await read(db as Knex.Transaction) : await (db as Knex).transaction(read);
  return toBatch(result.rows[0], kind);
}

/**
 * The first `limit` direct members of both kinds (groups, then users, each by id) as SCIM JSON:
 * a small group is read whole in this one plain statement; a bigger one continues with
 * findMemberBatch.
 */
export async function findFirstMembers(db: Executor, tenantId: string, groupId: string, limit: number, refs: MemberRefOpenings): Promise<MemberJsonBatch> {
  const result = await db.raw(
    `SELECT string_agg(${memberObjectSql('column')}, ',' ORDER BY b.kind, b.id) AS json, count(*) AS n, max((b.kind || ' ' || b.id::text) COLLATE "C") AS last
       FROM (SELECT gm.member_kind AS kind, gm.member_id AS id, coalesce(u.display_name, u.user_name, g.name) AS display
               FROM group_members gm
               LEFT JOIN users u ON gm.member_kind = 'user' AND u.tenant_id = gm.tenant_id AND u.id = gm.member_id
               LEFT JOIN groups g ON gm.member_kind = 'group' AND g.tenant_id = gm.tenant_id AND g.id = gm.member_id
              WHERE gm.tenant_id = ? AND gm.group_id = ?
              ORDER BY gm.member_kind, gm.member_id
              LIMIT ?) b`,
    [refs.user, refs.group, tenantId, groupId, limit],
  );
  return toBatch(result.rows[0]);
}

const MAX_RANGES = 1024;
const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * The inclusive upper ends of `count` equal id ranges (split on the first 32 bits of the UUID),
 * keeping those past `after`; the last is the largest UUID. One range or none: `[undefined]`
 * (no upper end). Random UUIDs spread evenly, so each range holds about 1/count of the members.
 */
export function idRangeEnds(count: number, after?: string): (string | undefined)[] {
  const n = Math.min(MAX_RANGES, Math.floor(count));
  if (!(n > 1)) return [undefined];
  const ends: string[] = [];
  for (let i = 1; i <= n; i++) {
    const end = i === n ? LAST_ID : `${(Math.floor((i * 0x1_0000_0000) / n) - 1).toString(16).padStart(8, '0')}-ffff-ffff-ffff-ffffffffffff`;
    if (after === undefined || end > after.toLowerCase()) ends.push(end);
  }
  return ends;
}
