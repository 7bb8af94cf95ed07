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

export function canRead(caller: Caller, groupId: string, aclRights: ReadonlySet<string> | undefined): boolean {
  return caller.groupIds.includes(groupId) || bagRights(caller, aclRights).includes('bag_read');
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
