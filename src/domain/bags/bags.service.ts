import type { Db } from '../../db/knex';
import { inTransaction, type Executor } from '../../db/transaction';
import { ChangeOwnerOnCreation, InsufficientRights, SystemGroupUndeletable } from '../access/access.errors';
import { findAclEntries, findAclRights, findGroupAccess, replaceAcl, updateGroupAccess, type GroupAccess } from '../access/access.repository';
import { describeCaller, holds, type Caller } from '../access/access.service';
import { validateSystemRights } from '../access/rights-spec';
import { insertAuditEvent } from '../audit/audit.repository';
import { findGroupBriefsByIds, findGroupBriefsBySeqs, findUserBriefsByIds, findUserBriefsBySeqs } from '../directory/directory.repository';
import { directoryService } from '../directory/directory.service';
import { InvalidInput, NotFound, VersionMismatch } from '../errors';
import type { Group, GroupChanges } from '../groups/group';
import { groupsService, loadVisibleGroup } from '../groups/groups.service';
import { actorOf, type Principal } from '../principal';
import { bagTypeOf, isWritableGroupType, type BagAttributes, type BagInput, type BagView, type PrincipalRef, type Who } from './bag';
import { assertBagRight, assertMayGrant, assertMayChangeOwner, assertMayGrantAcl, assertSystemRight, bagRights, canRead, ownsGroup } from './bags.policy';
import { findReadableGroupIds } from './bags.repository';

/** Most groups one list call returns. */
export const MAX_BAG_PAGE = 1000;

/**
 * Resolves integer-id references to users and groups; an unknown one is NotFound('user'|'group', seq).
 * They stay locked against deletion until the transaction ends: an ACL entry or owner written
 * for a user deleted meanwhile would otherwise outlive it (the delete removes only what it sees).
 */
async function resolveRefs(trx: Executor, tenantId: string, refs: PrincipalRef[]): Promise<Map<string, Who>> {
  const users = await findUserBriefsBySeqs(trx, tenantId, refs.filter((r) => r.kind === 'user').map((r) => r.seq), { forKeyShare: true });
  const groups = await findGroupBriefsBySeqs(trx, tenantId, refs.filter((r) => r.kind === 'group').map((r) => r.seq), { forKeyShare: true });
  const out = new Map<string, Who>();
  for (const r of refs) {
    const hit = r.kind === 'user' ? users.find((u) => u.seq === r.seq) : groups.find((g) => g.seq === r.seq);
    if (!hit) throw new NotFound(r.kind, String(r.seq));
    out.set(`${r.kind}:${r.seq}`, r.kind === 'user' ? { kind: 'user', user: hit as never } : { kind: 'group', group: hit as never });
  }
  return out;
}

const whoId = (w: Who) => (w.kind === 'user' ? w.user.id : w.group.id);
/** ACL entries keyed "kind:id", as assertMayGrantAcl compares them. */
const aclByWho = (acl: { who: Who; rights: string[] }[]) => acl.map((e) => ({ who: `${e.who.kind}:${whoId(e.who)}`, rights: e.rights }));

/** Vendor attributes merged over the stored ones (an absent attribute stays). */
function mergeAttributes(current: GroupAccess['vendorAttributes'], given: BagAttributes): GroupAccess['vendorAttributes'] {
  const easydb = { ...(current.easydb ?? {}) };
  if (given.displayname !== undefined) easydb.displayname = given.displayname;
  if (given.type !== undefined) easydb.type = given.type;
  if (given.frontendPrefs !== undefined) easydb.frontend_prefs = given.frontendPrefs;
  if (given.authorizationInfo !== undefined) easydb.authorization_info = given.authorizationInfo;
  return { ...current, easydb };
}

/** Group bags: list, get, batch create, batch update, delete; every batch is one transaction. */
export function bagsService(db: Db) {
  /**
   * Full views of the groups, in the order of `ids`. A group deleted since it was read (a
   * concurrent DELETE; reads outside a transaction see each commit) is left out, as it would
   * have been a moment later.
   */
  async function views(trx: Executor, caller: Caller, groups: Group[]): Promise<BagView[]> {
    const ids = groups.map((g) => g.id);
    const tenantId = caller.principal.tenantId;
    const [access, acl, mine] = [await findGroupAccess(trx, tenantId, ids), await findAclEntries(trx, tenantId, ids), await findAclRights(trx, tenantId, ids, caller.holder)];
    const named = [...acl.map((e) => ({ kind: e.whoKind, id: e.whoId })), ...[...access.values()].flatMap((a) => [
      ...(a.ownerUserId ? [{ kind: 'user', id: a.ownerUserId }] : []),
      ...(a.ownerGroupId ? [{ kind: 'group', id: a.ownerGroupId }] : []),
    ])];
    const users = await findUserBriefsByIds(trx, tenantId, named.filter((n) => n.kind === 'user').map((n) => n.id));
    const groupBriefs = await findGroupBriefsByIds(trx, tenantId, named.filter((n) => n.kind === 'group').map((n) => n.id));
    const who = (kind: string, id: string | null): Who | null => {
      const u = kind === 'user' ? users.find((x) => x.id === id) : undefined;
      const g = kind === 'group' ? groupBriefs.find((x) => x.id === id) : undefined;
      return u ? { kind: 'user', user: u } : g ? { kind: 'group', group: g } : null;
    };
    return groups.flatMap((group) => {
      const a = access.get(group.id);
      if (!a) return [];
      const view: BagView = {
        group,
        access: a,
        owner: who('group', a.ownerGroupId) ?? who('user', a.ownerUserId),
        acl: acl.filter((e) => e.groupId === group.id).flatMap((e) => {
          const w = who(e.whoKind, e.whoId);
          return w ? [{ who: w, rights: e.rights }] : [];
        }),
        generatedRights: bagRights(caller, mine.get(group.id)),
      };
      return [view];
    });
  }

  /** The visible groups among `ids`, in the order of `ids`, in one query. */
  async function loadGroups(trx: Executor, p: Principal, ids: string[]): Promise<Group[]> {
    if (!ids.length) return [];
    const page = await groupsService(trx as Db).listGroups(p, { offset: 0, limit: ids.length, ids });
    const byId = new Map(page.items.map((g) => [g.id, g]));
    return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  }

  /** Validates what create and update share; returns the resolved ACL entries and owner. */
  async function checkInput(trx: Executor, p: Principal, input: BagInput) {
    if (input.attributes.type !== undefined && !isWritableGroupType(input.attributes.type)) {
      throw new InvalidInput(`group type "${input.attributes.type}" is not allowed: use "easydb" or "custom-<name>"`, { field: 'group.type' });
    }
    if (input.owner === null) throw new InvalidInput('_owner cannot be null; leave it out to keep the owner', { field: '_owner' });
    const refs = [...(input.owner ? [input.owner] : []), ...(input.acl ?? []).map((e) => e.who)];
    const resolved = await resolveRefs(trx, p.tenantId, refs);
    const systemRights = input.systemRights === undefined ? undefined : validateSystemRights(input.systemRights);
    const owner = input.owner ? resolved.get(`${input.owner.kind}:${input.owner.seq}`)! : undefined;
    const acl = input.acl?.map((e) => ({ who: resolved.get(`${e.who.kind}:${e.who.seq}`)!, rights: e.rights }));
    return { owner, acl, systemRights };
  }

  async function writeAccess(trx: Executor, p: Principal, groupId: string, before: GroupAccess, input: BagInput, checked: Awaited<ReturnType<typeof checkInput>>) {
    const { owner, acl, systemRights } = checked;
    await updateGroupAccess(trx, p.tenantId, groupId, {
      vendorAttributes: mergeAttributes(before.vendorAttributes, input.attributes),
      ...(systemRights ? { systemRights } : {}),
      ...(owner ? { ownerUserId: owner.kind === 'user' ? owner.user.id : null, ownerGroupId: owner.kind === 'group' ? owner.group.id : null } : {}),
    });
    if (acl) {
      const merged = new Map<string, { whoKind: 'user' | 'group'; whoId: string; rights: Set<string> }>();
      for (const e of acl) {
        const key = `${e.who.kind}:${whoId(e.who)}`;
        const entry = merged.get(key) ?? { whoKind: e.who.kind, whoId: whoId(e.who), rights: new Set<string>() };
        e.rights.forEach((r) => entry.rights.add(r));
        merged.set(key, entry);
      }
      await replaceAcl(trx, p.tenantId, groupId, [...merged.values()].map((e) => ({ ...e, rights: [...e.rights].sort() })));
    }
    if (acl || systemRights || owner) {
      await insertAuditEvent(trx, { tenantId: p.tenantId, ...actorOf(p), action: 'group.access_updated', resourceType: 'group', resourceId: groupId, before, after: { acl: acl?.map((e) => ({ who: `${e.who.kind}:${whoId(e.who)}`, rights: e.rights })), systemRights, owner: owner && `${owner.kind}:${whoId(owner)}` } });
    }
  }

  return {
    /** The groups the caller may read, by integer id. Needs system.group. */
    async listBags(p: Principal, page: { offset: number; limit: number }): Promise<BagView[]> {
      const caller = await describeCaller(db, p);
      assertSystemRight(caller, 'system.group');
      const rows = await findReadableGroupIds(db, p.tenantId, { all: holds(caller, 'bag_read'), memberOf: caller.groupIds, holder: caller.holder }, page);
      return views(db, caller, await loadGroups(db, p, rows.map((r) => r.id)));
    },

    /**
     * Every group the caller may read from `offset` on, by integer id, in batches of `batchSize`
     * (the document's "all groups": a client that gives no limit gets them all, never a silent
     * first page). Each batch after the first continues after the last one's id, so a batch costs
     * the same at any depth. Needs system.group, checked before the first batch.
     */
    async *allBags(p: Principal, offset = 0, batchSize = 1000): AsyncGenerator<BagView[]> {
      const caller = await describeCaller(db, p);
      assertSystemRight(caller, 'system.group');
      const who = { all: holds(caller, 'bag_read'), memberOf: caller.groupIds, holder: caller.holder };
      let page: { offset: number; limit: number; afterSeq?: number } = { offset, limit: batchSize };
      for (;;) {
        const rows = await findReadableGroupIds(db, p.tenantId, who, page);
        if (rows.length) yield await views(db, caller, await loadGroups(db, p, rows.map((r) => r.id)));
        if (rows.length < batchSize) return;
        page = { offset: 0, limit: batchSize, afterSeq: rows[rows.length - 1].seq };
      }
    },

    /** One group, or none when it does not exist; a group the caller may not read is InsufficientRights. */
    async getBag(p: Principal, seq: number): Promise<BagView[]> {
      const caller = await describeCaller(db, p);
      assertSystemRight(caller, 'system.group');
      const [brief] = await findGroupBriefsBySeqs(db, p.tenantId, [seq]);
      if (!brief) return [];
      let group: Group;
      try {
        group = await loadVisibleGroup(db, p, brief.id);
      } catch (err) {
        if (err instanceof NotFound) return [];
        throw err;
      }
      const [acl, access] = await Promise.all([findAclRights(db, p.tenantId, [group.id], caller.holder), findGroupAccess(db, p.tenantId, [group.id])]);
      const type = bagTypeOf(group.system, access.get(group.id)?.vendorAttributes ?? {});
      if (!canRead(caller, { id: group.id, type }, acl.get(group.id))) throw new InsufficientRights('read', 'bag_read', [seq]);
      return views(db, caller, [group]);
    },

    /** Creates every group of the batch or none. The owner is the caller; a different one is refused. */
    async createBags(p: Principal, inputs: BagInput[]): Promise<BagView[]> {
      return inTransaction(db, async (trx) => {
        const caller = await describeCaller(trx, p);
        assertSystemRight(caller, 'system.group', 'create');
        const created: string[] = [];
        for (const input of inputs) {
          if (input.seq !== undefined) throw new InvalidInput('group._id cannot be given when creating (PUT); update with POST', { field: 'group._id' });
          if (input.version !== undefined && input.version !== 1) throw new VersionMismatch(input.version, 1);
          if (!input.name) throw new InvalidInput('group.name is required', { field: 'group.name', required: true });
          const checked = await checkInput(trx, p, input);
          if (checked.owner && !(checked.owner.kind === 'user' && checked.owner.user.id === p.userId)) throw new ChangeOwnerOnCreation();
          if (checked.systemRights) assertMayGrant(caller, {}, checked.systemRights);
          // The creator owns the new group, so it may give others any ACL right on it.
          if (checked.acl) assertMayGrantAcl(caller, true, undefined, [], aclByWho(checked.acl), []);
          const group = await groupsService(trx).createGroup(p, { name: input.name, description: input.comment ?? null });
          const before = (await findGroupAccess(trx, p.tenantId, [group.id])).get(group.id)!;
          await writeAccess(trx, p, group.id, before, { ...input, attributes: { type: 'easydb', ...input.attributes } }, { ...checked, owner: undefined });
          created.push(group.id);
        }
        return views(trx, caller, await loadGroups(trx, p, created));
      });
    },

    /** Updates every group of the batch or none; `version` must be the stored version plus one. */
    async updateBags(p: Principal, inputs: BagInput[]): Promise<BagView[]> {
      return inTransaction(db, async (trx) => {
        const caller = await describeCaller(trx, p);
        assertSystemRight(caller, 'system.group');
        const updated: string[] = [];
        for (const input of inputs) {
          if (input.seq === undefined) throw new InvalidInput('group._id is required to update a group', { field: 'group._id', required: true });
          const [brief] = await findGroupBriefsBySeqs(trx, p.tenantId, [input.seq], { forUpdate: true });
          if (!brief) throw new NotFound('group', String(input.seq));
          const current = await loadVisibleGroup(trx, p, brief.id, true);
          const mine = (await findAclRights(trx, p.tenantId, [brief.id], caller.holder)).get(brief.id);
          assertBagRight(caller, mine, 'bag_write', brief.seq);
          if (input.version === undefined) throw new InvalidInput('group._version is required to update a group', { field: 'group._version', required: true });
          if (input.version !== current.version + 1) throw new VersionMismatch(input.version, current.version + 1);
          if (current.system && input.name !== undefined && input.name !== current.name) {
            throw new InvalidInput('the name of a system group cannot be changed', { field: 'group.name' });
          }
          const checked = await checkInput(trx, p, input);
          const before = (await findGroupAccess(trx, p.tenantId, [brief.id])).get(brief.id)!;
          if (checked.systemRights) assertMayGrant(caller, before.systemRights, checked.systemRights);
          if (checked.owner) {
            const next = checked.owner.kind === 'user' ? { userId: checked.owner.user.id, groupId: null } : { userId: null, groupId: checked.owner.group.id };
            assertMayChangeOwner(caller, before, next, brief.seq);
          }
          if (checked.acl) {
            const stored = (await findAclEntries(trx, p.tenantId, [brief.id])).map((e) => ({ who: `${e.whoKind}:${e.whoId}`, rights: e.rights }));
            assertMayGrantAcl(caller, ownsGroup(caller, before), mine, stored, aclByWho(checked.acl), [brief.seq]);
          }
          const changes: GroupChanges = {};
          if (input.name !== undefined) changes.name = input.name;
          if (input.comment !== undefined) changes.description = input.comment;
          await groupsService(trx).updateGroup(p, brief.id, changes);
          await writeAccess(trx, p, brief.id, before, input, checked);
          updated.push(brief.id);
        }
        return views(trx, caller, await loadGroups(trx, p, updated));
      });
    },

    /** Deletes a group the caller holds bag_delete on; system groups stay; references to it are removed. */
    async deleteBag(p: Principal, seq: number): Promise<void> {
      await inTransaction(db, async (trx) => {
        const caller = await describeCaller(trx, p);
        const [brief] = await findGroupBriefsBySeqs(trx, p.tenantId, [seq], { forUpdate: true });
        if (!brief) throw new NotFound('group', String(seq));
        await loadVisibleGroup(trx, p, brief.id, true);
        assertBagRight(caller, (await findAclRights(trx, p.tenantId, [brief.id], caller.holder)).get(brief.id), 'bag_delete', seq);
        if (brief.system) throw new SystemGroupUndeletable(seq);
        await directoryService(trx).removeGroups(p, [brief], 'detach');
      });
    },
  };
}

export type BagsService = ReturnType<typeof bagsService>;
