import type { Db } from './db/knex';
import { AlreadyExists } from './domain/errors';
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
  // CASE: two instances starting together on a new database both counted no tenant: the one that
  // loses the race to create `default` prints nothing, rather than fail to start.
  const tenant = await services.tenants.createTenant('default').catch((err: unknown) => {
    if (err instanceof AlreadyExists) return undefined;
    throw err;
  });
  if (!tenant) return undefined;
  // As the operator's `token create` does it: the creation is in the change feed.
  const { secret } = await services.tokenAdmin.createToken(operatorIn(tenant.id, RIGHTS), { kind: 'token', name: 'bootstrap-admin', rights: ['all'] });
  return { tenant: tenant.name, token: secret };
}
