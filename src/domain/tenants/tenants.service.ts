import type { Db } from '../../db/knex';
import { inTransaction } from '../../db/transaction';
import { InvalidInput, NotFound } from '../errors';
import { findTokenIdsOfTenant } from '../tokens/tokens.repository';
import { tokenRuntimeOf } from '../tokens/token-runtime';
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

    /**
     * Deletes a tenant (by id or name) with all it holds, in one transaction; returns it as it
     * was, once its tokens' end has been heard (this instance's cache forgets them at the commit,
     * other instances hear the same announcement), as a revocation does.
     */
    async deleteTenant(ref: string): Promise<Tenant> {
      let announced: Promise<void> = Promise.resolve();
      const tenant = await inTransaction(db, async (trx) => {
        const found = await findTenantByIdOrName(trx, ref);
        if (!found) throw new NotFound('tenant', ref);
        const tokenIds = await findTokenIdsOfTenant(trx, found.id);
        if (!(await deleteTenantById(trx, found.id))) throw new NotFound('tenant', ref);
        announced = tokenRuntimeOf(trx).invalidateAfterCommit(trx, tokenIds);
        return found;
      });
      await announced;
      return tenant;
    },
  };
}

export type TenantsService = ReturnType<typeof tenantsService>;
