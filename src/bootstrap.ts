import type { Db } from './db/knex';
import { countTenants } from './domain/tenants/tenants.repository';
import type { Services } from './container';

/**
 * First start on an empty database: creates the `default` tenant and an admin token carrying
 * every right, and returns the token so the caller can print it once. Returns undefined when the
 * database already has a tenant.
 */
export async function bootstrapAdmin(db: Db, services: Services): Promise<{ tenant: string; token: string } | undefined> {
  if ((await countTenants(db)) > 0) return undefined;
  const tenant = await services.tenants.createTenant('default');
  const { token } = await services.tokens.issueToken({ tenantId: tenant.id, name: 'bootstrap-admin', rights: ['all'] });
  return { tenant: tenant.name, token };
}
