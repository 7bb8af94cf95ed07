import { expect } from 'chai';
import { hashToken } from '../../src/domain/tokens/token';
import { tokenRuntimeOf } from '../../src/domain/tokens/token-runtime';
import { testContext } from '../helpers/context';
import { newTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

describe('ops: deleting a tenant (`npm run tenant -- delete`)', () => {
  it('removes everything the tenant holds, refuses its tokens at once, and leaves other tenants alone', async () => {
    const { services } = testContext().deps;
    const doomed = await newTenant();
    const other = await newTenant();
    const token = await doomed.token(['all']);
    const user = await doomed.user();
    const userToken = await doomed.token(['all'], { userId: user.id });
    const group = await doomed.group();
    await services.memberships.addMembers(doomed.admin, group.id, [{ kind: 'user', id: user.id }]);
    await api().get('/api/v2/groups').set(bearer(token)).expect(200); // cached now
    await api().get('/api/v2/groups').set(bearer(userToken)).expect(200);
    const keep = await other.token(['all']);
    const theirs = await other.group();

    const { cache } = tokenRuntimeOf(testContext().db);
    const wasCached = cache.enabled ? [cache.get(hashToken(token)), cache.get(hashToken(userToken))] : [];
    const deleted = await services.tenants.deleteTenant(doomed.name);
    expect(deleted).to.include({ id: doomed.id, name: doomed.name });
    // This instance forgets them as the deletion returns, not when its listener hears of it.
    expect(wasCached.every(Boolean)).to.equal(true);
    expect([cache.get(hashToken(token)), cache.get(hashToken(userToken))]).to.deep.equal([undefined, undefined]);

    await api().get('/api/v2/groups').set(bearer(token)).expect(401);
    await api().get('/api/v2/groups').set(bearer(userToken)).expect(401);
    const { db } = testContext();
    for (const table of ['users', 'groups', 'group_members', 'api_tokens', 'audit_events', 'tenant_counters']) {
      const [{ n }] = await db(table).where({ tenant_id: doomed.id }).count({ n: '*' });
      expect(Number(n), table).to.equal(0);
    }
    const mine = await api().get(`/api/v2/groups/${theirs.id}`).set(bearer(keep)).expect(200);
    expect(mine.body.id).to.equal(theirs.id);
    // By id too; an unknown tenant is a NotFound.
    await services.tenants.deleteTenant(other.id);
    let missing: unknown;
    await services.tenants.deleteTenant(other.id).catch((err: unknown) => (missing = err));
    expect(missing).to.have.property('name', 'NotFound');
  });
});
