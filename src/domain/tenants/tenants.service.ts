import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { InvalidInput, NotFound } from '../errors';
import { findAllTenants, findTenantByIdOrName, insertTenant, type Tenant } from './tenants.repository';

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
  };
}

export type TenantsService = ReturnType<typeof tenantsService>;
