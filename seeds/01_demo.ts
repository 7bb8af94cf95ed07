import type { Knex } from 'knex';

/** The demo tenant's name; the seed does nothing when a tenant with this name exists. */
const TENANT = 'demo';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

interface DemoUser {
  userName: string;
  externalId: string;
  givenName: string;
  familyName: string;
  title: string;
  department: string;
  employeeNumber: string;
  active: boolean;
}

const USERS: DemoUser[] = [
  { userName: 'alice@example.com', externalId: '00u1alice', givenName: 'Alice', familyName: 'Johnson', title: 'Engineering Manager', department: 'Engineering', employeeNumber: '1001', active: true },
  { userName: 'bob@example.com', externalId: '00u2bob', givenName: 'Bob', familyName: 'Smith', title: 'Software Engineer', department: 'Engineering', employeeNumber: '1002', active: true },
  { userName: 'carol@example.com', externalId: '00u3carol', givenName: 'Carol', familyName: 'Diaz', title: 'Account Executive', department: 'Sales', employeeNumber: '1003', active: true },
  { userName: 'dave@example.com', externalId: '00u4dave', givenName: 'Dave', familyName: 'Lee', title: 'Sales Engineer', department: 'Sales', employeeNumber: '1004', active: false },
];

interface DemoGroup {
  name: string;
  description: string;
  users: string[];
  groups: string[];
  owners: string[];
}

/** Nested groups come after the groups they contain. */
const GROUPS: DemoGroup[] = [
  { name: 'Engineering', description: 'Everyone who builds the product', users: ['alice@example.com', 'bob@example.com'], groups: [], owners: ['alice@example.com'] },
  { name: 'Sales', description: 'Account executives and sales engineers', users: ['carol@example.com', 'dave@example.com'], groups: [], owners: [] },
  { name: 'All Staff', description: 'Every team, through nested groups', users: [], groups: ['Engineering', 'Sales'], owners: [] },
];

/** The SCIM profile kept in users.resource (RFC 7643 §4.1 core attributes and §4.3 enterprise extension). */
function resourceOf(u: DemoUser): Record<string, unknown> {
  return {
    name: { givenName: u.givenName, familyName: u.familyName, formatted: `${u.givenName} ${u.familyName}` },
    emails: [{ value: u.userName, type: 'work', primary: true }],
    title: u.title,
    [ENTERPRISE]: { employeeNumber: u.employeeNumber, department: u.department },
  };
}

/**
 * Demo data for development: tenant `demo` with four users, three groups (one nesting the other
 * two) and an owner. Idempotent: skipped when the tenant exists. Needs the migrations applied.
 */
export async function seed(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('tenants'))) {
    throw new Error('the schema is missing: run "npm run migrate" before seeding');
  }
  await knex.transaction(async (trx) => {
    if (await trx('tenants').where({ name: TENANT }).first()) return;
    const [{ id: tenantId }] = await trx('tenants').insert({ name: TENANT }).returning('id');

    const userRows: { id: string; user_name: string }[] = await trx('users')
      .insert(
        USERS.map((u) => ({
          tenant_id: tenantId,
          user_name: u.userName,
          display_name: `${u.givenName} ${u.familyName}`,
          external_id: u.externalId,
          active: u.active,
          resource: JSON.stringify(resourceOf(u)),
        })),
      )
      .returning(['id', 'user_name']);
    const userIds = new Map(userRows.map((r) => [r.user_name, r.id]));

    const groupIds = new Map<string, string>();
    for (const g of GROUPS) {
      const members = [
        ...g.users.map((u) => ({ member_kind: 'user', member_id: userIds.get(u) })),
        ...g.groups.map((name) => ({ member_kind: 'group', member_id: groupIds.get(name) })),
      ];
      const [{ id: groupId }] = await trx('groups')
        .insert({ tenant_id: tenantId, name: g.name, description: g.description, member_count: members.length })
        .returning('id');
      groupIds.set(g.name, groupId);
      if (members.length) {
        await trx('group_members').insert(members.map((m) => ({ tenant_id: tenantId, group_id: groupId, ...m })));
      }
      if (g.owners.length) {
        await trx('group_owners').insert(g.owners.map((u) => ({ tenant_id: tenantId, group_id: groupId, user_id: userIds.get(u) })));
      }
    }
  });
}
