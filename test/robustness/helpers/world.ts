import { randomBytes } from 'node:crypto';
import { keyedGroupsService } from '../../../src/domain/directory/keyed-groups.service';
import { permissionsService } from '../../../src/domain/permissions/permissions.service';
import { hashPassword } from '../../../src/domain/users/passwords';
import { testContext } from '../../helpers/context';
import { newTenant, type TestTenant } from '../../helpers/factories';
import { rememberSecret } from './app';

/**
 * A tenant with a little of everything every dialect can address: users (with passwords),
 * groups with members, a nested group, a client-keyed group, object permissions, an ACL entry,
 * system rights and an OAuth client. Every name carries the world's `marker`, so a response
 * that leaks anything of this tenant can be recognised by text.
 */
export interface WorldUser {
  id: string;
  seq: number;
  userName: string;
  password: string;
}

export interface WorldGroup {
  id: string;
  seq: number;
  name: string;
  key: string | null;
}

export interface World {
  tenant: TestTenant;
  marker: string;
  /** A token with every right (admin included). */
  admin: string;
  users: WorldUser[];
  groups: WorldGroup[];
  oauth: { clientId: string; clientSecret: string };
  /** Ids (not secrets) of the world's API tokens and OAuth client. */
  tokenIds: string[];
  /** Every identifier of this world's objects, as text, for leak scans. */
  identifiers(): string[];
}

const SYSTEM_RIGHTS = { 'system.group': { create: {} }, bag_read: {}, bag_write: {}, bag_delete: {} };

/** Builds a world; `label` only makes names easier to read in failures. Passwords (scrypt, slow) on request. */
export async function buildWorld(label = 'w', opts: { passwords?: boolean } = {}): Promise<World> {
  const { db, deps } = testContext();
  const tenant = await newTenant();
  const marker = `${label}${randomBytes(5).toString('hex')}`;
  const admin = rememberSecret(await tenant.token(['all']));
  const users: WorldUser[] = [];
  for (let i = 0; i < 3; i++) {
    const password = rememberSecret(`pw-${marker}-${i}-${randomBytes(6).toString('hex')}`);
    const u = await tenant.user({ userName: `${marker}.u${i}@example.com`, displayName: `${marker} User ${i}`, externalId: `${marker}-ext-u${i}` });
    if (opts.passwords) await db('users').where({ tenant_id: tenant.id, id: u.id }).update({ password_hash: await hashPassword(password) });
    users.push({ id: u.id, seq: u.seq, userName: u.userName, password });
  }
  const g0 = await tenant.group({ name: `${marker} Group 0`, description: `${marker} description`, externalId: `${marker}-ext-g0` });
  const g1 = await tenant.group({ name: `${marker} Group 1` });
  const keyed = await keyedGroupsService(db).createGroup(tenant.admin, `${marker}-key`, { label: `${marker} Keyed`, memberUsers: [users[2].id] });
  await deps.services.memberships.addMembers(tenant.admin, g0.id, [
    { kind: 'user', id: users[0].id },
    { kind: 'user', id: users[1].id },
  ]);
  await deps.services.memberships.addMembers(tenant.admin, g1.id, [{ kind: 'group', id: g0.id }]);
  await permissionsService(db).setGroupPermissions(tenant.admin, g0.seq, [{ objectType: 'SEGMENT', objectId: '4242', permissions: ['READ', 'WRITE'] }]);
  await db('group_acl').insert({ tenant_id: tenant.id, group_id: g1.id, who_kind: 'user', who_id: users[0].id, rights: ['bag_read'] });
  await db('groups').where({ tenant_id: tenant.id, id: g0.id }).update({ system_rights: JSON.stringify(SYSTEM_RIGHTS) });
  const oauth = await deps.services.oauth.createClient(tenant.id, `${marker}-client`, ['scim_provisioning']);
  rememberSecret(oauth.clientSecret);

  const groups: WorldGroup[] = [
    { id: g0.id, seq: g0.seq, name: g0.name, key: null },
    { id: g1.id, seq: g1.seq, name: g1.name, key: null },
    { id: keyed.group.id, seq: keyed.group.seq, name: keyed.group.name, key: keyed.ref },
  ];
  const tokenIds = (await db('api_tokens').where({ tenant_id: tenant.id }).pluck('id')) as string[];
  return {
    tenant,
    marker,
    admin,
    users,
    groups,
    oauth,
    tokenIds,
    identifiers: () => [marker, ...users.map((u) => u.id), ...groups.map((g) => g.id), oauth.clientId, ...tokenIds],
  };
}

const FINGERPRINTED = ['users', 'groups', 'group_members', 'group_owners', 'group_acl', 'group_object_permissions'];

/**
 * A digest of everything a tenant owns that a request could change (rows of its users, groups,
 * members, owners, ACLs, permissions; its audit log length and counters). Token last-use times,
 * pending sessions and failed-login counters are deliberately left out: they change on reads
 * and on refused logins by design.
 */
export async function fingerprint(tenantId: string): Promise<string> {
  const { db } = testContext();
  const parts = FINGERPRINTED.map(
    (table) => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ${table} t WHERE t.tenant_id = :tenant)`,
  );
  const sql = `SELECT concat_ws(',', ${parts.join(', ')},
      (SELECT count(*)::text FROM audit_events WHERE tenant_id = :tenant),
      (SELECT coalesce(string_agg(kind || '=' || total, ';' ORDER BY kind), '') FROM (SELECT kind, sum(n)::text AS total FROM tenant_counters WHERE tenant_id = :tenant GROUP BY kind) c)
    ) AS fp`;
  const { rows } = (await db.raw(sql, { tenant: tenantId })) as { rows: { fp: string }[] };
  return rows[0].fp;
}
