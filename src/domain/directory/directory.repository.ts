import type { Knex } from 'knex';
import type { Executor } from '../../db/transaction';
import type { GroupViewer } from '../groups/group';
import { visibleTo } from '../groups/groups.repository';
import { isUuid } from '../ids';

/**
 * Lookups the integer-id and client-id dialects need: groups by `seq` or `key`, users by `seq`
 * or user name, short descriptions of groups and users, and member lists by kind.
 */

/** The identifying facts of a group, as short formats show them. */
export interface GroupBrief {
  id: string;
  seq: number;
  name: string;
  key: string | null;
  system: boolean;
  vendorAttributes: Record<string, Record<string, unknown>>;
}

export interface UserBrief {
  id: string;
  seq: number;
  userName: string;
  displayName: string | null;
  version: number;
}

const toGroupBrief = (r: { id: string; seq: string | number; name: string; key: string | null; system: boolean; vendor_attributes: GroupBrief['vendorAttributes'] }): GroupBrief => ({
  id: r.id,
  seq: Number(r.seq),
  name: r.name,
  key: r.key,
  system: r.system,
  vendorAttributes: r.vendor_attributes ?? {},
});

const groupBriefColumns = ['id', 'seq', 'name', 'key', 'system', 'vendor_attributes'];

const toUserBrief = (r: { id: string; seq: string | number; user_name: string; display_name: string | null; version: number }): UserBrief => ({
  id: r.id,
  seq: Number(r.seq),
  userName: r.user_name,
  displayName: r.display_name,
  version: r.version,
});

const userBriefColumns = ['id', 'seq', 'user_name', 'display_name', 'version'];

/** Integer ids beyond what the identity columns can hold are simply unknown. */
const safeSeqs = (seqs: number[]) => seqs.filter((s) => Number.isSafeInteger(s) && s > 0);

export async function findGroupBriefsByIds(db: Executor, tenantId: string, ids: string[]): Promise<GroupBrief[]> {
  const wanted = ids.filter(isUuid);
  if (!wanted.length) return [];
  const rows = await db('groups').select(groupBriefColumns).where('tenant_id', tenantId).whereIn('id', wanted).orderBy('seq');
  return rows.map(toGroupBrief);
}

export async function findGroupBriefsBySeqs(db: Executor, tenantId: string, seqs: number[], opts: { forUpdate?: boolean; forKeyShare?: boolean } = {}): Promise<GroupBrief[]> {
  const wanted = safeSeqs(seqs);
  if (!wanted.length) return [];
  const q = db('groups').select(groupBriefColumns).where('tenant_id', tenantId).whereIn('seq', wanted).orderBy('seq');
  if (opts.forUpdate) q.forUpdate();
  else if (opts.forKeyShare) q.forKeyShare();
  return (await q).map(toGroupBrief);
}

/** A group by its client-chosen id (`key`) or, failing that, by its uuid. */
export async function findGroupBriefByKeyOrId(db: Executor, tenantId: string, ref: string): Promise<GroupBrief | undefined> {
  const byKey = await db('groups').select(groupBriefColumns).where({ tenant_id: tenantId, key: ref }).first();
  if (byKey) return toGroupBrief(byKey);
  if (!isUuid(ref)) return undefined;
  const byId = await db('groups').select(groupBriefColumns).where({ tenant_id: tenantId, id: ref.toLowerCase() }).first();
  return byId ? toGroupBrief(byId) : undefined;
}

/** Groups by key or uuid, for lists of references; unknown refs are absent from the map. */
export async function findGroupBriefsByKeysOrIds(db: Executor, tenantId: string, refs: string[]): Promise<Map<string, GroupBrief>> {
  const out = new Map<string, GroupBrief>();
  if (!refs.length) return out;
  const uuids = refs.filter(isUuid).map((r) => r.toLowerCase());
  const rows = await db('groups')
    .select(groupBriefColumns)
    .where('tenant_id', tenantId)
    .where((q) => {
      q.whereIn('key', refs);
      if (uuids.length) q.orWhereIn('id', uuids);
    });
  const briefs = rows.map(toGroupBrief);
  for (const ref of refs) {
    const hit = briefs.find((b) => b.key === ref) ?? briefs.find((b) => b.id === ref.toLowerCase());
    if (hit) out.set(ref, hit);
  }
  return out;
}

export async function findUserBriefsByIds(db: Executor, tenantId: string, ids: string[]): Promise<UserBrief[]> {
  const wanted = ids.filter(isUuid);
  if (!wanted.length) return [];
  const rows = await db('users').select(userBriefColumns).where('tenant_id', tenantId).whereIn('id', wanted).orderBy('seq');
  return rows.map(toUserBrief);
}

/**
 * Users by integer id. `forKeyShare` keeps them from being deleted until the transaction ends
 * (a row that will name them, an ACL entry, must not outlive them).
 */
export async function findUserBriefsBySeqs(db: Executor, tenantId: string, seqs: number[], opts: { forKeyShare?: boolean } = {}): Promise<UserBrief[]> {
  const wanted = safeSeqs(seqs);
  if (!wanted.length) return [];
  const q = db('users').select(userBriefColumns).where('tenant_id', tenantId).whereIn('seq', wanted).orderBy('seq');
  if (opts.forKeyShare) q.forKeyShare();
  const rows = await q;
  return rows.map(toUserBrief);
}

/** Users by uuid or by user name (case-insensitive); unknown refs are absent from the map. */
export async function findUserBriefsByRefs(db: Executor, tenantId: string, refs: string[]): Promise<Map<string, UserBrief>> {
  const out = new Map<string, UserBrief>();
  if (!refs.length) return out;
  const uuids = refs.filter(isUuid).map((r) => r.toLowerCase());
  const names = refs.map((r) => r.toLowerCase());
  const rows = await db('users')
    .select(userBriefColumns)
    .where('tenant_id', tenantId)
    .where((q) => {
      q.whereRaw('lower(user_name) = ANY(?::text[])', [names]);
      if (uuids.length) q.orWhereIn('id', uuids);
    });
  const briefs = rows.map(toUserBrief);
  for (const ref of refs) {
    const hit = briefs.find((b) => b.id === ref.toLowerCase()) ?? briefs.find((b) => b.userName.toLowerCase() === ref.toLowerCase());
    if (hit) out.set(ref, hit);
  }
  return out;
}

/**
 * The user names of a group's direct user members in creation order, as the text of a JSON array
 * written by PostgreSQL: a group of a million members is one text of its size, not a million rows
 * made into objects.
 */
export async function findMemberUserNamesJson(db: Executor, tenantId: string, groupId: string): Promise<string> {
  // Sorted before the aggregate, whose own sort then finds them in order (as findGroupSummaries).
  const members = db('group_members as gm')
    .join('users as u', (j) => j.on('u.tenant_id', 'gm.tenant_id').andOn('u.id', 'gm.member_id'))
    .select(db.raw('to_json(u.user_name)::text AS name'), 'u.seq')
    .where({ 'gm.tenant_id': tenantId, 'gm.group_id': groupId, 'gm.member_kind': 'user' })
    .orderBy('u.seq');
  const [row] = await db.from(members.as('m')).select(db.raw(`'[' || coalesce(string_agg(m.name, ',' ORDER BY m.seq), '') || ']' AS names`));
  return (row as { names: string }).names;
}

/**
 * A group's direct group members, or the groups it is directly a member of; with a viewer (a
 * token acting as a user), only the groups it may see (groups.repository.ts's visibleTo).
 */
export async function findRelatedGroups(db: Executor, tenantId: string, groupId: string, direction: 'members' | 'parents', viewer?: GroupViewer): Promise<GroupBrief[]> {
  const [mine, theirs] = direction === 'members' ? ['gm.group_id', 'gm.member_id'] : ['gm.member_id', 'gm.group_id'];
  const q = db('group_members as gm')
    .join('groups as g', (j) => j.on('g.tenant_id', 'gm.tenant_id').andOn('g.id', theirs))
    .select(groupBriefColumns.map((c) => `g.${c}`))
    .where({ 'gm.tenant_id': tenantId, 'gm.member_kind': 'group' })
    .where(mine, groupId);
  if (viewer) {
    const visible = visibleTo(viewer, 'g');
    q.whereRaw(visible.sql, visible.bindings as Knex.RawBinding[]);
  }
  const rows = await q.orderBy('g.seq');
  return rows.map(toGroupBrief);
}

/** Locks a group row for the rest of the transaction (serialises replace operations on it). */
export async function lockGroup(db: Executor, tenantId: string, groupId: string): Promise<boolean> {
  const row = await db('groups').select('id').where({ tenant_id: tenantId, id: groupId }).forUpdate().first();
  return !!row;
}

/** The tenant's partner id (v1 `pid`). */
export async function findTenantPid(db: Executor, tenantId: string): Promise<number> {
  const row = await db('tenants').select('pid').where('id', tenantId).first();
  return Number(row?.pid);
}

/** One page of v1 group summaries: columns plus the direct user members. */
export interface GroupSummaryRow {
  id: string;
  seq: number;
  name: string;
  description: string | null;
  wildcards: string[];
  /** The number of direct user members. */
  membershipCount: number;
  /** Their integer ids (seq) in ascending order, comma-separated, as PostgreSQL wrote them ("" for none). */
  usersText: string;
}

/**
 * The direct user members of the group `g` as v1 shows them, for a CROSS JOIN LATERAL named `m`:
 * their integer ids (seq) in ascending order as one text (`string_agg`) and their count. A group of
 * a million members is ~7 MB of text, not a million-element array (a GET of one, measured:
 * 1.8–2.1 s and a peak RSS of 169–175 MiB, against 2.1–2.3 s and 195–228 MiB as an array;
 * bench/HISTORY.md). The members come sorted into the aggregate, whose own sort then finds them
 * in order (measured on 1,000,000 members: ~1.0 s against ~1.3 s with the aggregate's sort alone).
 */
const USERS_TEXT_OF_G = `CROSS JOIN LATERAL (SELECT coalesce(string_agg(s.seq::text, ',' ORDER BY s.seq), '') AS users_text, count(*) AS membership_count
                           FROM (SELECT u.seq FROM group_members gm JOIN users u ON u.tenant_id = gm.tenant_id AND u.id = gm.member_id
                                  WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id AND gm.member_kind = 'user' ORDER BY u.seq) s) m`;

type SummaryColumns = { id: string; seq: string | number; name: string; description: string | null; wildcards: string[] };

const summaryOf = (r: SummaryColumns) => ({ id: r.id, seq: Number(r.seq), name: r.name, description: r.description, wildcards: r.wildcards });

/** Groups (`ids`, or a page in group order) with their user members (USERS_TEXT_OF_G), in one statement. */
export async function findGroupSummaries(db: Executor, tenantId: string, page: { offset: number; limit: number; ids?: string[] }): Promise<GroupSummaryRow[]> {
  const q = db('groups as g')
    .select('g.id', 'g.seq', 'g.name', 'g.description', 'g.wildcards', 'm.users_text', 'm.membership_count')
    .joinRaw(USERS_TEXT_OF_G)
    .where('g.tenant_id', tenantId)
    .orderBy('g.seq')
    .offset(page.offset)
    .limit(page.limit);
  if (page.ids) q.whereIn('g.id', page.ids);
  const rows: (SummaryColumns & { users_text: string; membership_count: string | number })[] = await q;
  return rows.map((r) => ({ ...summaryOf(r), membershipCount: Number(r.membership_count), usersText: r.users_text }));
}

/** A v1 group without its members, and how many direct members it has (of both kinds, as stored). */
export type GroupSummaryHead = Omit<GroupSummaryRow, 'membershipCount' | 'usersText'> & { memberCount: number };

/** A page of groups in group order, without their members (findGroupUsersTexts reads those). */
export async function findGroupSummaryHeads(db: Executor, tenantId: string, page: { offset: number; limit: number }, viewer?: GroupViewer): Promise<GroupSummaryHead[]> {
  const q = db('groups as g')
    .select('g.id', 'g.seq', 'g.name', 'g.description', 'g.wildcards', 'g.member_count')
    .where('g.tenant_id', tenantId)
    .orderBy('g.seq')
    .offset(page.offset)
    .limit(page.limit);
  if (viewer) {
    const visible = visibleTo(viewer, 'g');
    q.whereRaw(visible.sql, visible.bindings as Knex.RawBinding[]);
  }
  const rows: (SummaryColumns & { member_count: string | number })[] = await q;
  return rows.map((r) => ({ ...summaryOf(r), memberCount: Number(r.member_count) }));
}

/** The user members (USERS_TEXT_OF_G) of the tenant's groups `ids`, by group id; a group gone since has none. */
export async function findGroupUsersTexts(db: Executor, tenantId: string, ids: string[]): Promise<Map<string, { usersText: string; membershipCount: number }>> {
  const rows: { id: string; users_text: string; membership_count: string | number }[] = await db('groups as g')
    .select('g.id', 'm.users_text', 'm.membership_count')
    .joinRaw(USERS_TEXT_OF_G)
    .where('g.tenant_id', tenantId)
    .whereIn('g.id', ids);
  return new Map(rows.map((r) => [r.id, { usersText: r.users_text, membershipCount: Number(r.membership_count) }]));
}

export async function countTenantGroups(db: Executor, tenantId: string): Promise<number> {
  const [{ count }] = await db('groups').where('tenant_id', tenantId).count({ count: '*' });
  return Number(count);
}
