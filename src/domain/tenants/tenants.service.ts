import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { InvalidInput, NotFound } from '../errors';
import { deleteTenantById, findAllTenants, findTenantByIdOrName, insertTenant, type Tenant } from './tenants.repository';

export type { Tenant };

/** Tenants are created and listed by operators (CLI), never over the public API. */
export function tenantsService(db: Db) {
  return {
    async createTenant(name: string): Promise<Tenant> {
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
        throw new InvalidInput('tenant name: 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');
      }
      return inTransaction(db, (trx) => insertTenant(trx, name));
    },
    async getTenant(ref: string): Promise<Tenant> {
      const tenant = await findTenantByIdOrName(db, ref);
      if (!tenant) throw new NotFound('tenant', ref);
      return tenant;
    },
    listTenants: (): Promise<Tenant[]> => findAllTenants(db),

    /** Deletes a tenant (by id or name) with all it holds, in one transaction; returns it as it was. */
    async deleteTenant(ref: string): Promise<Tenant> {
      return inTransaction(db, async (trx) => {
        const tenant = await findTenantByIdOrName(trx, ref);
        if (!tenant || !(await deleteTenantById(trx, tenant.id))) throw new NotFound('tenant', ref);
        return tenant;
      });
    },
  };
}

export type TenantsService = ReturnType<typeof tenantsService>;
