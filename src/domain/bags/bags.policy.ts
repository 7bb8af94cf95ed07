import { InsufficientRights, NoSystemRight } from '../access/access.errors';
import { holds, type Caller } from '../access/access.service';
import { ACL_RIGHTS, rightsOf, type RightsSpec } from '../access/rights-spec';

/**
 * Who may do what with a bag, exactly as the bag document says: reading needs system.group and
 * (membership or bag_read), creating system.group with create, updating system.group and
 * bag_write, deleting bag_delete. A bag right comes from the caller's own rights or from an ACL
 * entry naming its user, one of its user's groups, or its token. `admin` passes everything.
 */

/** The ACL rights the caller has on one group, given the rights its ACL grants the caller. */
export function bagRights(caller: Caller, aclRights: ReadonlySet<string> | undefined): string[] {
  return ACL_RIGHTS.filter((r) => holds(caller, r) || aclRights?.has(r));
}

export function assertSystemRight(caller: Caller, right: string, param?: 'create'): void {
  if (!holds(caller, right)) throw new NoSystemRight(right);
  if (param && !holds(caller, param)) throw new NoSystemRight(right, param);
}

/** The document's rule: a caller reads the groups it holds bag_read on, and the "easydb" groups it belongs to (bagTypeOf). */
export function canRead(caller: Caller, group: { id: string; type: string }, aclRights: ReadonlySet<string> | undefined): boolean {
  return (group.type === 'easydb' && caller.groupIds.includes(group.id)) || bagRights(caller, aclRights).includes('bag_read');
}

export function assertBagRight(caller: Caller, aclRights: ReadonlySet<string> | undefined, right: 'bag_write' | 'bag_delete', seq: number): void {
  if (!bagRights(caller, aclRights).includes(right)) throw new InsufficientRights(right === 'bag_write' ? 'update' : 'delete', right, [seq]);
}

/** Nobody grants a right it does not hold: every right added to `_system_rights` must be the caller's. */
export function assertMayGrant(caller: Caller, before: RightsSpec, after: RightsSpec): void {
  const had = new Set(rightsOf(before));
  for (const right of rightsOf(after)) {
    if (!had.has(right) && !holds(caller, right)) throw new NoSystemRight(right === 'create' ? 'system.group' : right, right === 'create' ? 'create' : undefined);
  }
}

/**
 * Nobody grants a right it does not hold, in `_acl` as in `_system_rights`: every right an ACL
 * entry gains must be one the caller holds on this group (its own rights, or ACL entries naming
 * it; `admin` holds all) unless the caller owns the group (its user or one of its groups is the
 * owner; a creator owns what it creates), since an owner decides who may do what with it.
 * Rights an entry already had may stay or go. Entries are keyed "kind:id".
 */
export function assertMayGrantAcl(
  caller: Caller,
  owns: boolean,
  mine: ReadonlySet<string> | undefined,
  before: { who: string; rights: string[] }[],
  after: { who: string; rights: string[] }[],
  seqs: number[],
): void {
  if (owns) return;
  const had = new Set(before.flatMap((e) => e.rights.map((r) => `${e.who}:${r}`)));
  const held = new Set(bagRights(caller, mine));
  for (const e of after) {
    for (const right of e.rights) {
      if (!had.has(`${e.who}:${right}`) && !held.has(right)) throw new InsufficientRights('update', right, seqs);
    }
  }
}

/**
 * Only the owner of a group (or `admin`) gives it another owner. Otherwise a caller with
 * bag_write could name itself owner, and as owner grant itself any ACL right (assertMayGrantAcl).
 * A group without an owner (made in another dialect, or its owner deleted) gets one from `admin`
 * only. Naming the current owner again changes nothing and is allowed.
 */
export function assertMayChangeOwner(
  caller: Caller,
  before: { ownerUserId: string | null; ownerGroupId: string | null },
  next: { userId: string | null; groupId: string | null },
  seq: number,
): void {
  if (next.userId === before.ownerUserId && next.groupId === before.ownerGroupId) return;
  if (caller.admin || ownsGroup(caller, before)) return;
  throw new InsufficientRights('update', '_owner', [seq]);
}

/** Whether the caller owns a group: its user is the owner, or the owner is one of its groups. */
export const ownsGroup = (caller: Caller, owner: { ownerUserId: string | null; ownerGroupId: string | null }): boolean =>
  (owner.ownerUserId !== null && owner.ownerUserId === caller.holder.userId) || (owner.ownerGroupId !== null && caller.groupIds.includes(owner.ownerGroupId));
