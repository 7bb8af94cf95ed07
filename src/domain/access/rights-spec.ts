import { InvalidInput } from '../errors';
import { CustomTypeRequired, RightNotFound } from './access.errors';
import { own } from '../own';

/**
 * Rights specifications (easydb): a map from right name to its parameters, `{}` when it has
 * none. Groups carry one as `_system_rights` (what they give their members) and each ACL entry
 * carries one as `rights` (what its `who` may do on the group).
 */
export type RightsSpec = Record<string, Record<string, unknown>>;

interface ParamDef {
  type: 'boolean' | 'text';
  choices?: readonly string[];
}

const bool: ParamDef = { type: 'boolean' };

/** Fields a user may edit on itself (system.user.write_self) or set when registering (create_new). */
const USER_FIELDS = [
  'first_name', 'last_name', 'displayname', 'company', 'department', 'phone', 'street', 'house_number',
  'address_supplement', 'postal_code', 'town', 'country', 'picture', 'mail_schedule', '_new_primary_email',
];
const userFieldParams = Object.fromEntries(USER_FIELDS.map((f) => [f, bool]));

/**
 * The system rights a group may give: easydb's user-management rights, and Roster's own rights
 * (so a group can make its members administrators of other dialects too).
 */
export const SYSTEM_RIGHTS: Record<string, Record<string, ParamDef>> = {
  'system.group': { create: bool },
  'system.user': { create: bool },
  'system.user.write_self': userFieldParams,
  'system.user.change_password': {},
  'system.user.create_new': {
    ...userFieldParams,
    // "custom" is the document's; "custom_type" is what Roster accepted before, kept for stored rights.
    type: { type: 'text', choices: ['easydb', 'easydb_self_register', 'custom', 'custom_type'] },
    custom_type: { type: 'text' },
    require_group: bool,
    _password: bool,
    login: bool,
  },
  admin: {},
  group_administration: {},
  group_creation: {},
  scim_provisioning: {},
  bag_read: {},
  bag_write: {},
  bag_delete: {},
};

/** Rights an ACL entry on a group may grant. */
export const ACL_RIGHTS = ['bag_read', 'bag_write', 'bag_delete'] as const;
export type AclRight = (typeof ACL_RIGHTS)[number];

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkParams(right: string, params: unknown, defs: Record<string, ParamDef>): Record<string, unknown> {
  if (!isPlainObject(params)) throw new InvalidInput(`the parameters of right "${right}" must be an object ({} when it has none)`);
  for (const [name, value] of Object.entries(params)) {
    const def = defs[name];
    if (!def) throw new InvalidInput(`right "${right}" has no parameter "${name}"`);
    if (def.type === 'boolean' && typeof value !== 'boolean') throw new InvalidInput(`parameter "${name}" of right "${right}" must be a boolean`);
    if (def.type === 'text') {
      if (typeof value !== 'string' || value.length > 200) throw new InvalidInput(`parameter "${name}" of right "${right}" must be a string`);
      if (def.choices && !def.choices.includes(value)) {
        throw new InvalidInput(`parameter "${name}" of right "${right}" must be one of ${def.choices.join(', ')}`);
      }
    }
  }
  return params;
}

/** Checks a `_system_rights` specification against the catalogue; returns it unchanged. */
export function validateSystemRights(spec: unknown): RightsSpec {
  if (!isPlainObject(spec)) throw new InvalidInput('_system_rights must be an object mapping right names to parameters');
  for (const [right, params] of Object.entries(spec)) {
    const defs = own(SYSTEM_RIGHTS, right);
    if (!defs) throw new RightNotFound(right);
    checkParams(right, params, defs);
    // CASE: create_new with a custom type must say which custom type.
    if (right === 'system.user.create_new') {
      const p = params as Record<string, unknown>;
      if ((p.type === 'custom' || p.type === 'custom_type') && !(typeof p.custom_type === 'string' && p.custom_type.trim())) throw new CustomTypeRequired();
    }
  }
  return spec as RightsSpec;
}

/** Checks an ACL entry's rights specification; returns the right names it grants. */
export function validateAclRights(spec: unknown): AclRight[] {
  if (!isPlainObject(spec)) throw new InvalidInput('the rights of an ACL entry must be an object mapping right names to parameters');
  const out: AclRight[] = [];
  for (const [right, params] of Object.entries(spec)) {
    if (!(ACL_RIGHTS as readonly string[]).includes(right)) throw new RightNotFound(right);
    checkParams(right, params, {});
    out.push(right as AclRight);
  }
  return out;
}

/** The Roster rights a specification gives: each right name, plus `create` for system.group {create}. */
export function rightsOf(spec: RightsSpec): string[] {
  const out: string[] = [];
  for (const [right, params] of Object.entries(spec)) {
    out.push(right);
    if (right === 'system.group' && params.create === true) out.push('create');
  }
  return out;
}

/** Union of several specifications (boolean parameters are or-ed; text parameters: first wins). */
export function mergeRightsSpecs(specs: RightsSpec[]): RightsSpec {
  const out: RightsSpec = {};
  for (const spec of specs) {
    for (const [right, params] of Object.entries(spec ?? {})) {
      const merged = { ...(out[right] ?? {}) };
      for (const [k, v] of Object.entries(params ?? {})) {
        merged[k] = typeof v === 'boolean' ? merged[k] === true || v : (merged[k] ?? v);
      }
      out[right] = merged;
    }
  }
  return out;
}

/** An ACL rights list as a specification: ['bag_read'] → { bag_read: {} }. */
export function aclSpec(rights: readonly string[]): RightsSpec {
  return Object.fromEntries([...rights].sort().map((r) => [r, {}]));
}
