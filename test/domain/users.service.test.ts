import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { findAuditEvents } from '../../src/domain/audit/audit.repository';
import { AlreadyExists, NotFound, VersionMismatch } from '../../src/domain/errors';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('users service', () => {
  let t: TestTenant;
  const users = () => testContext().deps.services.users;

  beforeEach(async () => {
    t = await newTenant();
  });

  it('creates, reads, lists, replaces, patches and deletes a user', async () => {
    const created = await users().createUser(t.admin, { userName: 'ada@example.com', displayName: 'Ada', externalId: 'ext-1', resource: { name: { givenName: 'Ada' } } });
    expect(created).to.include({ userName: 'ada@example.com', displayName: 'Ada', externalId: 'ext-1', active: true, version: 1 });
    expect((await users().getUser(t.admin, created.id)).resource).to.deep.equal({ name: { givenName: 'Ada' } });

    const page = await users().listUsers(t.admin, { offset: 0, limit: 10 });
    expect(page.total).to.equal(1);
    expect(page.items[0].id).to.equal(created.id);

    const replaced = await users().replaceUser(t.admin, created.id, { userName: 'ada@example.org' }, 1);
    expect(replaced).to.include({ userName: 'ada@example.org', displayName: null, externalId: null, version: 2 });
    expect(replaced.resource).to.deep.equal({});

    const patched = await users().patchUser(t.admin, created.id, { active: false });
    expect(patched).to.include({ userName: 'ada@example.org', active: false, version: 3 });

    await users().deleteUser(t.admin, created.id);
    expect(await rejection(users().getUser(t.admin, created.id))).to.be.instanceOf(NotFound);
    const actions = (await findAuditEvents(testContext().db, t.id)).map((e) => e.action);
    expect(actions).to.deep.equal(['user.created', 'user.replaced', 'user.updated', 'user.deleted']);
  });

  it('keeps user names unique per tenant, case-insensitively, and not across tenants', async () => {
    await users().createUser(t.admin, { userName: 'Grace@Example.com' });
    const err = await rejection(users().createUser(t.admin, { userName: 'grace@example.COM' }));
    expect(err).to.be.instanceOf(AlreadyExists);
    expect((err as AlreadyExists).field).to.equal('userName');
    const other = await newTenant();
    await users().createUser(other.admin, { userName: 'grace@example.com' });
  });

  it('finds users by user name in any case', async () => {
    const u = await users().createUser(t.admin, { userName: 'Linus@Example.com' });
    const page = await users().listUsers(t.admin, { offset: 0, limit: 5, userName: 'LINUS@EXAMPLE.COM' });
    expect(page.items.map((x) => x.id)).to.deep.equal([u.id]);
  });

  it('refuses a stale version', async () => {
    const u = await t.user();
    expect(await rejection(users().patchUser(t.admin, u.id, { displayName: 'x' }, 5))).to.be.instanceOf(VersionMismatch);
  });

  it('treats unknown, malformed and foreign ids as not found', async () => {
    const other = await newTenant();
    const foreign = await other.user();
    for (const id of [randomUUID(), 'nope', foreign.id]) {
      expect(await rejection(users().getUser(t.admin, id))).to.be.instanceOf(NotFound);
      expect(await rejection(users().patchUser(t.admin, id, { active: false }))).to.be.instanceOf(NotFound);
      expect(await rejection(users().deleteUser(t.admin, id))).to.be.instanceOf(NotFound);
    }
    expect((await users().getUser(other.admin, foreign.id)).active).to.equal(true);
  });

  it('removes a deleted user from every group and adjusts the counts', async () => {
    const { memberships, groups } = testContext().deps.services;
    const [u, v] = [await t.user(), await t.user()];
    const [g1, g2] = [await t.group(), await t.group()];
    await memberships.addMembers(t.admin, g1.id, [{ kind: 'user', id: u.id }, { kind: 'user', id: v.id }]);
    await memberships.addMembers(t.admin, g2.id, [{ kind: 'user', id: u.id }]);
    await users().deleteUser(t.admin, u.id);
    expect((await groups.getGroup(t.admin, g1.id)).memberCount).to.equal(1);
    expect((await groups.getGroup(t.admin, g2.id)).memberCount).to.equal(0);
    const rows = await testContext().db('group_members').where({ tenant_id: t.id, member_id: u.id });
    expect(rows).to.have.length(0);
  });
});
