import type { Executor } from '../../db/transaction';
import type { Principal } from '../principal';
import { findSystemRights, findUserGroupIds, findUserStatus, type Holder } from './access.repository';
import { mergeRightsSpecs, rightsOf, type RightsSpec } from './rights-spec';

/** What a session user may do: the union of the system rights of every group it belongs to. */
export interface SessionRights {
  rights: Set<string>;
  spec: RightsSpec;
  groupIds: string[];
}

/**
 * The rights of a session user, from its groups (direct, nested and dynamic). Undefined when
 * the user no longer exists or is deactivated: its sessions end with it.
 */
export async function resolveSessionRights(db: Executor, tenantId: string, userId: string): Promise<SessionRights | undefined> {
  const status = await findUserStatus(db, tenantId, userId);
  if (!status?.active) return undefined;
  const groupIds = await findUserGroupIds(db, tenantId, userId);
  const spec = mergeRightsSpecs(await findSystemRights(db, tenantId, groupIds));
  return { rights: new Set(rightsOf(spec)), spec, groupIds };
}

/** Who is asking, as the object-level checks need it. */
export interface Caller {
  principal: Principal;
  /** `admin` passes every object-level check (it may do anything in its tenant). */
  admin: boolean;
  /** The groups the acting user belongs to (empty for tokens that act as nobody). */
  groupIds: string[];
  holder: Holder;
}

/** Resolves the caller's groups once per request, for ACL and membership checks. */
export async function describeCaller(db: Executor, p: Principal): Promise<Caller> {
  const groupIds = p.userId ? await findUserGroupIds(db, p.tenantId, p.userId) : [];
  return {
    principal: p,
    admin: p.rights.has('admin'),
    groupIds,
    holder: { userId: p.userId, groupIds, tokenId: p.tokenId },
  };
}

/** True when the caller holds the right itself (or is admin). */
export function holds(caller: Caller, right: string): boolean {
  return caller.admin || caller.principal.rights.has(right);
}
