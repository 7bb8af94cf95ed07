import type { Db } from './db/knex';
import { countTenants } from './domain/tenants/tenants.repository';
import type { Services } from './container';
import { operatorIn } from './domain/principal';
import { RIGHTS } from './domain/rights';

/**
 * First start on an empty database: creates the `default` tenant and an admin token carrying
 * every right, and returns the token so the caller can print it once. Returns undefined when the
 * database already has a tenant.
 */
export async function bootstrapAdmin(db: Db, services: Services): Promise<{ tenant: string; token: string } | undefined> {
  if ((await countTenants(db)) > 0) return undefined;
  const tenant = await services.tenants.createTenant('default');
  // As the operator's `token create` does it: the creation is in the change feed.
  const { secret } = await services.tokenAdmin.createToken(operatorIn(tenant.id, RIGHTS), { kind: 'token', name: 'bootstrap-admin', rights: ['all'] });
  return { tenant: tenant.name, token: secret };
}
