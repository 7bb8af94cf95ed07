import { aclSpec } from '../../domain/access/rights-spec';
import { bagTypeOf, type BagView, type Who } from '../../domain/bags/bag';
import type { GroupBrief, UserBrief } from '../../domain/directory/directory.repository';
import type { SessionView } from '../../domain/sessions/sessions.service';

const easydbAttrs = (g: { vendorAttributes: Record<string, Record<string, unknown>> }) => g.vendorAttributes.easydb ?? {};

/** User, short format. */
export function presentUserShort(u: UserBrief) {
  return {
    _basetype: 'user',
    user: { _id: u.seq, _version: u.version, type: 'easydb', login: u.userName, _generated_displayname: u.displayName ?? u.userName },
  };
}

/** Group, short format. */
export function presentGroupShort(g: GroupBrief) {
  const attrs = easydbAttrs(g);
  return {
    _basetype: 'group',
    group: { _id: g.seq, name: g.name, type: bagTypeOf(g.system, g.vendorAttributes), ...(attrs.displayname ? { _displayname: attrs.displayname } : {}) },
  };
}

const presentWho = (w: Who) => (w.kind === 'user' ? presentUserShort(w.user) : presentGroupShort(w.group));

/** Group, full format: the group attributes plus owner, ACL, system rights and the caller's rights on it. */
export function presentBag(v: BagView) {
  const attrs = easydbAttrs(v.access);
  const g = v.group;
  return {
    _basetype: 'group',
    ...(v.owner ? { _owner: presentWho(v.owner) } : {}),
    _acl: v.acl.map((e) => ({ who: presentWho(e.who), rights: aclSpec(e.rights), active: true })),
    _has_acl: v.acl.length > 0,
    _system_rights: v.access.systemRights,
    _generated_rights: aclSpec(v.generatedRights),
    group: {
      _id: g.seq,
      _version: g.version,
      type: bagTypeOf(g.system, v.access.vendorAttributes),
      is_system_group: g.system,
      name: g.name,
      ...(attrs.displayname ? { displayname: attrs.displayname } : {}),
      comment: g.description,
      ...(attrs.frontend_prefs ? { frontend_prefs: attrs.frontend_prefs } : {}),
      ...(attrs.authorization_info !== undefined ? { authorization_info: attrs.authorization_info } : {}),
    },
  };
}

/** Session: the common attributes, plus user, groups, rights and authentication once authenticated. */
export function presentSession(s: SessionView) {
  const common = {
    token: s.token,
    instance: { api: '1', server_version: 1, solution: 'roster', 'user-schema': 1, name: 'roster' },
    frontend_language: 'en-US',
    authentication_methods: [{ method: 'easydb' }],
    config: { base: {}, defaults: {}, extensions: {} },
  };
  if (!s.authenticated) return common;
  const a = s.authenticated;
  return {
    ...common,
    pending_tasks: [],
    system_rights: a.systemRights,
    user: { ...presentUserShort(a.user), _groups: a.groups.map(presentGroupShort) },
    groups: a.groups.map(presentGroupShort),
    authenticated: { method: a.method, timestamp: a.at.toISOString() },
  };
}
