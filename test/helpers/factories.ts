import { randomUUID } from 'node:crypto';
import type { Principal } from '../../src/domain/principal';
import type { Group, NewGroup } from '../../src/domain/groups/group';
import type { NewUser, User } from '../../src/domain/users/user';
import { testContext } from './context';

export interface TestTenant {
  id: string;
  name: string;
  /** A principal with every right, for arranging data through the services. */
  admin: Principal;
  /** Mints a bearer token in this tenant with exactly these rights. */
  token(rights: string[], opts?: { userId?: string; expiresInMs?: number }): Promise<string>;
  user(overrides?: Partial<NewUser>): Promise<User>;
  group(overrides?: Partial<NewGroup>): Promise<Group>;
}

/** A fresh tenant per test keeps tests independent without truncating tables. */
export async function newTenant(): Promise<TestTenant> {
  const { services } = testContext().deps;
  const tenant = await services.tenants.createTenant(`t-${randomUUID().slice(0, 12)}`);
  const { record } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'factory', rights: ['all'] });
  const admin: Principal = { tenantId: tenant.id, tokenId: record.id, rights: new Set(record.rights) };
  return {
    id: tenant.id,
    name: tenant.name,
    admin,
    async token(rights, opts = {}) {
      const { token } = await services.tokens.issueToken({ tenantId: tenant.id, name: `t-${randomUUID()}`, rights, ...opts });
      return token;
    },
    user: (overrides = {}) => services.users.createUser(admin, { userName: `user-${randomUUID().slice(0, 8)}@example.com`, ...overrides }),
    group: (overrides = {}) => services.groups.createGroup(admin, { name: `group-${randomUUID().slice(0, 8)}`, ...overrides }),
  };
}
