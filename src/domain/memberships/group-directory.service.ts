import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../db/knex';
import { canSortBy, compileCriteria, type MultiField } from '../../db/criteria-sql';
import { inTransaction, type Executor } from '../../db/transaction';
import { insertAuditEvent } from '../audit/audit.repository';
import type { Criteria } from '../criteria';
import { Conflict, InvalidInput, NotFound } from '../errors';
import type { Group, GroupChanges, GroupViewer, NewGroup, Page } from '../groups/group';
import { groupFields } from '../groups/groups.fields';
import { assertMayChangeWhoIsIn } from '../access/conferred';
import { assertCanManageMembers } from '../groups/groups.policy';
import { deleteGroupRow, findGroupById, findGroupPage, insertGroup, updateGroup } from '../groups/groups.repository';
import { loadVisibleGroup } from '../groups/groups.service';
import { viewerOf } from '../groups/group-members.service';
import { isUuid } from '../ids';
import { actorOf, type Principal } from '../principal';
import { countTenantRows } from '../users/users.repository';
import { assertVersion, type VersionCondition } from '../versions';
import { countGroupsWhere, findGroupIdPage, type GroupQuery } from './groups-query.repository';
import { findFirstMembers, findMemberBatch, idRangeEnds, MEMBERS_PER_PART, memberIdSpan, type MemberTemplates, type MemberTextBatch } from './member-reads.repository';
import { writeMembers, writeMembersInOneTransaction, type MemberWrite, type MemberWriteContext, type MemberWriteResult } from './member-writes.repository';
import { writeLanes, type WriteLanes } from '../write-lanes';
import { checkLength, MAX_EXTERNAL_ID_LENGTH, MAX_NAME_LENGTH } from '../text-limits';
import type { MemberKind, MemberRef } from './membership';
import { ChangedMembers, LISTED_ADDITIONS, LISTED_REMOVALS } from './membership-events';
import {
  classifyIds,
  deleteMembers,
  deleteMembersExcept,
  deleteMembersWhere,
  insertMembers,
  lockHierarchy,
  removeFromAllGroups,
  setMemberCount,
  wouldCreateCycle,
} from './memberships.repository';

/** A member named by id, with its kind when the client said it (SCIM `type`). */
export interface MemberInput {
  id: string;
  kind?: MemberKind;
}

/**
 * One atomic change to a group: attribute changes plus membership deltas, applied under the
 * group's row lock with one version bump and one audit event. Membership changes are set-based
 * statements; the member list is never loaded to be changed.
 */
export interface GroupMutation {
  changes?: GroupChanges;
  /** Replace all members with exactly these. Applied before add/remove. */
  replaceMembers?: MemberInput[];
  addMembers?: MemberInput[];
  removeMembers?: MemberInput[];
  /** Remove the members matching these criteria (fields `value`, `type`). */
  removeMembersWhere?: Criteria;
  /**
   * Membership changes applied after these, in the same transaction: PATCH operations apply in
   * order, and a filtered removal cannot be folded into the additions that precede it.
   */
  next?: GroupMutation;
}

const memberFields = (groupFields.members as MultiField).sub;

/** Whether the principal may change the members of any group it can see (no ownership needed). */
function managesEveryGroup(p: Principal): boolean {
  try {
    assertCanManageMembers(p, { ownerIds: [] as string[] } as Group);
    return true;
  } catch {
    return false;
  }
}

const versionsOf = (condition: VersionCondition): readonly number[] | undefined =>
  condition === undefined ? undefined : typeof condition === 'number' ? [condition] : condition;

/**
 * The one-statement forms of the commonest PATCHes (SCIM add of users, removal by ids or by a
 * value filter): see member-writes.repository.ts. Undefined when the mutation is of another shape
 * or the statement declined it; the general path then applies it (and names any error).
 */
async function mutateMembersFast(
  db: Db,
  lanes: WriteLanes<MemberWrite, MemberWriteResult | undefined>,
  p: Principal,
  groupId: string,
  m: GroupMutation,
  condition: VersionCondition,
): Promise<Group | undefined> {
  const changes = Object.values(m.changes ?? {}).some((v) => v !== undefined);
  if (changes || m.replaceMembers || m.next || !isUuid(groupId) || !managesEveryGroup(p)) return undefined;
  const added = m.addMembers ?? [];
  const removes = m.removeMembers ?? [];
  const c: MemberWriteContext = { tenantId: p.tenantId, groupId: groupId.toLowerCase(), versions: versionsOf(condition), publicOnly: Boolean(p.userId), ...actorOf(p) };
  // Concurrent changes of one group take turns here, and those that queue up run together (src/domain/write-lanes.ts).
  const key = `${c.tenantId}/${c.groupId}`;
  // Who may change who is in a group that gives rights (no statement for admin and the IdP's token).
  await assertMayChangeWhoIsIn(db, p, c.groupId);
  if (added.length && !removes.length && !m.removeMembersWhere) {
    // CASE: ids named as groups (nesting: hierarchy lock, cycle check) or not ids at all go the general way.
    if (added.some((x) => !isUuid(x.id) || x.kind === 'group')) return undefined;
    const userIds = [...new Set(added.map((x) => x.id.toLowerCase()))].sort();
    return (await lanes.run(key, { kind: 'add', c, userIds }))?.group;
  }
  if (!added.length && (removes.length || m.removeMembersWhere)) {
    const ids = [...new Set(removes.filter((x) => isUuid(x.id)).map((x) => x.id.toLowerCase()))];
    const kinds = (['user', 'group'] as const).filter((k) => removes.some((x) => x.kind === k || !x.kind));
    const where = m.removeMembersWhere ? compileCriteria(m.removeMembersWhere, memberFields) : undefined;
    return (await lanes.run(key, { kind: 'remove', c, ids, kinds, where }))?.group;
  }
  return undefined;
}

/** Resolves member inputs to kind-qualified refs; unknown ids are an InvalidInput naming them. */
async function resolveMembers(trx: Executor, tenantId: string, inputs: MemberInput[]): Promise<MemberRef[]> {
  const bad = inputs.filter((m) => !isUuid(m.id)).map((m) => m.id);
  const ids = [...new Set(inputs.filter((m) => isUuid(m.id)).map((m) => m.id.toLowerCase()))];
  const kinds = await classifyIds(trx, tenantId, ids);
  const missing = [...bad, ...ids.filter((id) => !kinds.has(id))];
  const wrongKind = inputs.filter((m) => m.kind && isUuid(m.id) && kinds.get(m.id.toLowerCase()) && kinds.get(m.id.toLowerCase()) !== m.kind);
  if (missing.length) throw new InvalidInput(`unknown member ids: ${missing.slice(0, 20).join(', ')}`, { field: 'members', ids: missing.slice(0, 100) });
  if (wrongKind.length) throw new InvalidInput(`member ${wrongKind[0].id} is not of type ${wrongKind[0].kind}`, { field: 'members' });
  return ids.map((id) => ({ id, kind: kinds.get(id)! }));
}

const byKind = (refs: MemberRef[], kind: MemberKind) => refs.filter((r) => r.kind === kind).map((r) => r.id);

/**
 * How many id ranges a big group's `expected` user members are read in: 10% more than batches
 * (in integers: 100,000 members in batches of 10,000 make 11 ranges). Random ids fill a range
 * with its expected share give or take about its square root, so ranges cut to exactly one batch
 * overflowed half the time and each overflow cost a statement (and a wait) for a few members.
 */
export const memberRangeCount = (expected: number, batchSize: number) => Math.ceil((expected * 11) / (batchSize * 10));

/** A SCIM group's indexed texts: displayName and externalId (text-limits.ts). */
function checkGroupTexts(g: { name?: string; externalId?: string | null }): void {
  checkLength(g.name, MAX_NAME_LENGTH, 'displayName');
  checkLength(g.externalId, MAX_EXTERNAL_ID_LENGTH, 'externalId');
}

/** Group directory use cases used by provisioning clients (SCIM): query, create/replace/patch with members. */
export function groupDirectoryService(db: Db) {
  const memberWrites = writeLanes<MemberWrite, MemberWriteResult | undefined>(
    (w) => writeMembers(db, w),
    (batch) => writeMembersInOneTransaction(db, batch),
  );

  /** Applies the membership part; returns rows added minus rows removed, and whether any moved. */
  async function applyMembers(
    trx: Executor,
    p: Principal,
    group: Group,
    m: GroupMutation,
    changed: { added: ChangedMembers; removed: ChangedMembers } = { added: new ChangedMembers(LISTED_ADDITIONS), removed: new ChangedMembers(LISTED_REMOVALS) },
  ): Promise<{ delta: number; touched: boolean; added: ChangedMembers; removed: ChangedMembers }> {
    let delta = 0;
    let touched = false;
    const count = (n: number) => {
      delta += n;
      touched ||= n !== 0;
    };
    const inserted = (kind: MemberKind, ids: string[]) => {
      changed.added.note(ids.map((id) => ({ kind, id })));
      count(ids.length);
    };
    const deleted = (gone: { count: number; refs: MemberRef[] }) => {
      changed.removed.note(gone.refs, gone.count - gone.refs.length);
      count(-gone.count);
    };
    // Kinds are resolved first, so the tenant's hierarchy lock is taken only when groups are
    // being nested (user-only changes, the common case, never wait on it).
    const replaceRefs = m.replaceMembers ? await resolveMembers(trx, p.tenantId, m.replaceMembers) : undefined;
    const addRefs = m.addMembers?.length ? await resolveMembers(trx, p.tenantId, m.addMembers) : undefined;
    const nested = [...(replaceRefs ?? []), ...(addRefs ?? [])].filter((r) => r.kind === 'group');
    if (nested.length) {
      await lockHierarchy(trx, p.tenantId);
      if (await wouldCreateCycle(trx, p.tenantId, group.id, nested.map((r) => r.id))) {
        throw new InvalidInput('adding these groups would create a membership cycle', { field: 'members' });
      }
    }
    if (replaceRefs) {
      const refs = replaceRefs;
      deleted(await deleteMembersExcept(trx, p.tenantId, group.id, refs, changed.removed.room()));
      inserted('user', await insertMembers(trx, p.tenantId, group.id, 'user', byKind(refs, 'user')));
      inserted('group', await insertMembers(trx, p.tenantId, group.id, 'group', byKind(refs, 'group')));
    }
    if (m.removeMembersWhere) {
      deleted(await deleteMembersWhere(trx, p.tenantId, group.id, compileCriteria(m.removeMembersWhere, memberFields), changed.removed.room()));
    }
    if (m.removeMembers?.length) {
      const ids = [...new Set(m.removeMembers.filter((x) => isUuid(x.id)).map((x) => x.id.toLowerCase()))];
      for (const kind of ['user', 'group'] as const) {
        const wanted = m.removeMembers.some((x) => x.kind === kind || !x.kind) ? ids : [];
        const gone = await deleteMembers(trx, p.tenantId, group.id, kind, wanted);
        deleted({ count: gone.length, refs: gone.map((id) => ({ kind, id })) });
      }
    }
    if (addRefs) {
      const refs = addRefs;
      inserted('user', await insertMembers(trx, p.tenantId, group.id, 'user', byKind(refs, 'user')));
      inserted('group', await insertMembers(trx, p.tenantId, group.id, 'group', byKind(refs, 'group')));
    }
    if (m.next) {
      const after = await applyMembers(trx, p, group, m.next, changed);
      delta += after.delta;
      touched ||= after.touched;
    }
    return { delta, touched, ...changed };
  }

  const hasMemberChange = (m: GroupMutation): boolean =>
    Boolean(m.replaceMembers || m.removeMembersWhere || m.removeMembers?.length || m.addMembers?.length || (m.next && hasMemberChange(m.next)));

  return {
    /** Whether groups can be sorted by this attribute path. */
    canSortBy: (path: string): boolean => canSortBy(groupFields, path),

    /**
     * A page of the groups the principal may see matching criteria, with the total (skipped when
     * `skipCount`) and the viewer it was read for. A token acting as a user sees what Groups v2
     * lists for it (visibility).
     */
    async queryGroups(p: Principal, query: Omit<GroupQuery, 'viewer'> & { skipCount?: boolean }): Promise<Page<Group> & { seqs: number[]; viewer?: GroupViewer }> {
      // CASE: a token acting as no user sees every group: no statement for the viewer, none added.
      const viewer = await viewerOf(db, p);
      const [idPage, total] = await Promise.all([
        findGroupIdPage(db, p.tenantId, { ...query, viewer }),
        query.skipCount ? Promise.resolve(-1) : countGroupsWhere(db, p.tenantId, query.criteria, viewer),
      ]);
      const ids = idPage.map((r) => r.id);
      const loaded = ids.length ? await findGroupPage(db, p.tenantId, { ids, offset: 0, limit: ids.length }) : [];
      const byId = new Map(loaded.map((g) => [g.id, g]));
      return { items: ids.map((id) => byId.get(id)).filter((g): g is Group => Boolean(g)), total, seqs: idPage.map((r) => r.seq), viewer };
    },

    /**
     * Direct members in batches — nested groups, then users, each by id — as text in the caller's
     * format (member-reads.repository.ts: PostgreSQL writes each batch), for streaming a group of any
     * size in bounded memory without holding a connection between batches. A group of up to
     * `firstBatch` members is one statement; a bigger one continues with keyset batches, each an
     * index range scan from where the previous stopped.
     *
     * The user members of a big group (`expected`: its stored member count) are read as id
     * ranges of about 90% of `batchSize` members each (memberRangeCount; equal parts of the span
     * their ids occupy, idRangeEnds), in order, with the next range's first batch read while the
     * current one is read and written: two statements in flight, so the database works on two
     * cores, and never more than two batches held.
     * `usersInRange` overrides the choice between probing the users key per member and joining
     * the range's users, which otherwise depends on the group's share of its tenant's users.
     */
    async *memberBatches(
      p: Principal,
      groupId: string,
      templates: MemberTemplates,
      {
        batchSize = 10_000,
        firstBatch = 1_000,
        expected = 0,
        perPart = MEMBERS_PER_PART,
        usersInRange,
        viewer: knownViewer,
      }: {
        batchSize?: number;
        firstBatch?: number;
        expected?: number;
        perPart?: number;
        usersInRange?: boolean;
        /** The principal's viewer (groups.viewerOf) when the caller has it: a page of groups reads it once. */
        viewer?: Promise<GroupViewer | undefined>;
      } = {},
    ): AsyncGenerator<MemberTextBatch> {
      // A token acting as a user is not shown the member groups hidden from it (visibility).
      const viewer = await (knownViewer ?? viewerOf(db, p));
      const first = await findFirstMembers(db, p.tenantId, groupId, firstBatch, templates, perPart, viewer);
      if (first.count) yield first;
      if (first.count < firstBatch || !first.last) return;
      const last = first.last;
      const ranges = memberRangeCount(expected, batchSize);
      // A group holding at least half of its tenant's users joins each range's users (see findMemberBatch).
      const joinUsers = usersInRange ?? (ranges > 1 && 2 * expected >= (await countTenantRows(db, p.tenantId, 'users')));
      const read = (kind: MemberKind, from: string | undefined, upTo: string | undefined) => {
        const batch = findMemberBatch(db, p.tenantId, groupId, kind, from, batchSize, templates, upTo, perPart, joinUsers, viewer);
        // CASE: a client that goes away abandons the prefetched batch; its failure is nobody's.
        batch.catch(() => undefined);
        return batch;
      };
      /** A range's batches, its first one read from the moment the range is opened. */
      const openRange = (kind: MemberKind, from: string | undefined, upTo: string | undefined) => {
        let next = read(kind, from, upTo);
        return async function* (): AsyncGenerator<MemberTextBatch> {
          for (;;) {
            const batch = await next;
            // A full batch may have more after it: the next one is read while this one is written.
            const more = batch.count === batchSize ? batch.last : undefined;
            if (more) next = read(kind, more.id, upTo);
            if (batch.count) yield batch;
            if (!more) return;
          }
        };
      };
      let after: string | undefined = last.id;
      for (const kind of last.kind === 'group' ? (['group', 'user'] as const) : (['user'] as const)) {
        // The user members' ids split into ranges over the span they occupy (see idRangeEnds).
        const span = kind === 'user' && ranges > 1 ? await memberIdSpan(db, p.tenantId, groupId, 'user') : undefined;
        const bounds = kind === 'user' ? idRangeEnds(ranges, after, span) : [undefined];
        let current = openRange(kind, after, bounds[0]);
        for (let i = 0; i < bounds.length; i++) {
          const following = i + 1 < bounds.length ? openRange(kind, bounds[i], bounds[i + 1]) : undefined;
          yield* current();
          if (following) current = following;
        }
        after = undefined;
      }
    },

    /** Creates a group with its initial members in one transaction. */
    async createGroup(p: Principal, input: NewGroup, members: MemberInput[] = []): Promise<Group> {
      if (!input.name?.trim()) throw new InvalidInput('a group needs a non-empty name', { field: 'name' });
      checkGroupTexts(input);
      return inTransaction(db, async (trx) => {
        const id = await insertGroup(trx, p.tenantId, input, p.userId ?? null);
        let group = (await findGroupById(trx, p.tenantId, id))!;
        const event = { tenantId: p.tenantId, ...actorOf(p), resourceId: id };
        await insertAuditEvent(trx, { ...event, action: 'group.created', resourceType: 'group', after: { name: group.name, externalId: group.externalId } });
        if (members.length) {
          const { delta, added } = await applyMembers(trx, p, group, { addMembers: members });
          await setMemberCount(trx, p.tenantId, id, delta, false);
          group = (await findGroupById(trx, p.tenantId, id))!;
          // Its first members as any later ones: named in a membership.added event (the first
          // LISTED_ADDITIONS of them), not all in the creation's event.
          if (added.count) await insertAuditEvent(trx, { ...event, action: 'membership.added', resourceType: 'membership', after: added.payload('added') });
        }
        return group;
      });
    },

    /** Applies a GroupMutation atomically under the version condition (SCIM If-Match). */
    async mutateGroup(p: Principal, groupId: string, m: GroupMutation, condition?: VersionCondition): Promise<Group> {
      if (m.changes?.name !== undefined && !m.changes.name.trim()) throw new InvalidInput('a group needs a non-empty name', { field: 'name' });
      if (m.changes) checkGroupTexts(m.changes);
      const fast = await mutateMembersFast(db, memberWrites, p, groupId, m, condition);
      if (fast) return fast;
      return inTransaction(db, async (trx) => {
        const before = await loadVisibleGroup(trx, p, groupId, true);
        assertVersion(condition, before.version);
        if (hasMemberChange(m)) {
          assertCanManageMembers(p, before);
          await assertMayChangeWhoIsIn(trx, p, groupId);
        }
        // CASE: a field set to what it already is (a PUT of the same group) is no change: no new version, no event.
        const current = before as unknown as Record<string, unknown>;
        const changes = Object.fromEntries(Object.entries(m.changes ?? {}).filter(([k, v]) => v !== undefined && !isDeepStrictEqual(v, current[k]))) as GroupChanges;
        const changed = Object.keys(changes).length > 0;
        const members = hasMemberChange(m) ? await applyMembers(trx, p, before, m) : undefined;
        const touched = members?.touched ?? false;
        if (!changed && !touched) return before;
        if (changed) await updateGroup(trx, p.tenantId, groupId, changes);
        if (touched) await setMemberCount(trx, p.tenantId, groupId, before.memberCount + members!.delta, !changed);
        const after = (await findGroupById(trx, p.tenantId, groupId))!;
        const event = { tenantId: p.tenantId, ...actorOf(p), resourceId: groupId };
        if (changed) {
          await insertAuditEvent(trx, {
            ...event,
            action: 'group.updated',
            resourceType: 'group',
            before: { name: before.name, externalId: before.externalId, memberCount: before.memberCount, version: before.version },
            after: { name: after.name, externalId: after.externalId, memberCount: after.memberCount, version: after.version, changes },
          });
        }
        // Member changes are recorded as every dialect records them: who went, then who came.
        if (members?.removed.count) await insertAuditEvent(trx, { ...event, action: 'membership.removed', resourceType: 'membership', before: members.removed.payload('removed') });
        if (members?.added.count) await insertAuditEvent(trx, { ...event, action: 'membership.added', resourceType: 'membership', after: members.added.payload('added') });
        return after;
      });
    },

    /** Deletes a group under a version condition, removing it from its parents. */
    async deleteGroup(p: Principal, groupId: string, condition?: VersionCondition): Promise<void> {
      if (!isUuid(groupId)) throw new NotFound('group', groupId);
      await inTransaction(db, async (trx) => {
        const before = await loadVisibleGroup(trx, p, groupId, true);
        if (before.system) throw new Conflict('a system group cannot be deleted', { id: groupId });
        assertVersion(condition, before.version);
        await removeFromAllGroups(trx, p.tenantId, { kind: 'group', id: groupId });
        await deleteGroupRow(trx, p.tenantId, groupId);
        await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.deleted', resourceType: 'group', resourceId: groupId, before: { name: before.name, externalId: before.externalId } });
      });
    },
  };
}

export type GroupDirectoryService = ReturnType<typeof groupDirectoryService>;
