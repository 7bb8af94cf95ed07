import { expect } from 'chai';
import { countTenantRows } from '../../src/domain/users/users.repository';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';

describe('per-tenant counters', () => {
  it('stay exact through single, bulk and concurrent inserts and deletes', async () => {
    const t = await newTenant();
    const { db, deps } = testContext();
    await Promise.all(Array.from({ length: 10 }, () => t.user()));
    await db('users').insert(Array.from({ length: 25 }, (_, i) => ({ tenant_id: t.id, user_name: `c${i}@example.com` })));
    const one = await t.user();
    await deps.services.users.deleteUser(t.admin, one.id);
    await db('users').where({ tenant_id: t.id }).whereLike('user_name', 'c1%').delete();
    const [{ count }] = await db('users').where({ tenant_id: t.id }).count({ count: '*' });
    expect(await countTenantRows(db, t.id, 'users')).to.equal(Number(count));
    const page = await deps.services.users.listUsers(t.admin, { offset: 0, limit: 1 });
    expect(page.total).to.equal(Number(count));
    await Promise.all([t.group(), t.group(), t.group()]);
    expect(await countTenantRows(db, t.id, 'groups')).to.equal(3);
  });
});
