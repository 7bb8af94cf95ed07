import { validateAclRights } from '../../domain/access/rights-spec';
import type { BagAttributes, BagInput, PrincipalRef } from '../../domain/bags/bag';
import { InvalidInput } from '../../domain/errors';

/**
 * easydb JSON → the core's bag input. The spec has already checked types and shapes; this maps
 * field names and reads references ({ _basetype, user|group: { _id } }) as integer ids.
 */

type Json = Record<string, unknown>;

const intId = (value: unknown, field: string): number => {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new InvalidInput(`${field} must be a positive integer`, { field });
  return n;
};

/** A user or group reference in short format. */
function refOf(value: unknown, field: string): PrincipalRef {
  const v = (value ?? {}) as Json;
  const kind = v._basetype === 'user' || (v._basetype === undefined && v.user) ? 'user' : v._basetype === 'group' || (v._basetype === undefined && v.group) ? 'group' : undefined;
  const inner = kind ? (v[kind] as Json | undefined) : undefined;
  if (!kind || !inner) throw new InvalidInput(`${field} must be a user or group in short format ({ "_basetype": "user", "user": { "_id": 1 } })`, { field });
  return { kind, seq: intId(inner._id, `${field}.${kind}._id`) };
}

function attributesOf(g: Json): BagAttributes {
  const out: BagAttributes = {};
  if (g.displayname !== undefined) out.displayname = g.displayname as Record<string, string>;
  if (g.type !== undefined) out.type = g.type as string;
  if (g.frontend_prefs !== undefined) out.frontendPrefs = g.frontend_prefs as Record<string, unknown>;
  if (g.authorization_info !== undefined) out.authorizationInfo = g.authorization_info as string | null;
  return out;
}

/** An ACL entry; entries are always active here (there is no validity period to store). */
function aclEntryOf(e: Json, i: number) {
  if (e.active === false) throw new InvalidInput(`_acl[${i}]: inactive ACL entries are not supported; leave the entry out instead`, { field: '_acl' });
  return { who: refOf(e.who, `_acl[${i}].who`), rights: validateAclRights(e.rights ?? {}) };
}

/** One group object of a PUT or POST batch. `_id` and the document's example form `id` both name the group. */
export function bagInputOf(item: Json): BagInput {
  const g = (item.group ?? {}) as Json;
  if (g._id !== undefined && g.id !== undefined && String(g._id) !== String(g.id)) {
    throw new InvalidInput('group._id and group.id name different groups', { field: 'group._id' });
  }
  const rawId = g._id ?? g.id;
  return {
    ...(rawId !== undefined && rawId !== null ? { seq: intId(rawId, 'group._id') } : {}),
    ...(g._version !== undefined ? { version: g._version as number } : {}),
    ...(g.name !== undefined ? { name: g.name as string } : {}),
    ...(g.comment !== undefined ? { comment: g.comment as string | null } : {}),
    attributes: attributesOf(g),
    ...(item._owner !== undefined ? { owner: item._owner === null ? null : refOf(item._owner, '_owner') } : {}),
    ...(item._acl !== undefined
      ? { acl: (item._acl as Json[]).map((e, i) => aclEntryOf(e, i)) }
      : {}),
    ...(item._system_rights !== undefined ? { systemRights: item._system_rights as BagInput['systemRights'] } : {}),
  };
}
