import { expect } from 'chai';
import { InvalidInput, NotFound } from '../../src/domain/errors';
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

describe('membership service', () => {
  let t: TestTenant;
  const svc = () => testContext().deps.services;

  beforeEach(async () => {
    t = await newTenant();
  });

  it('nests groups and lists direct members of both kinds', async () => {
    const [parent, child] = [await t.group(), await t.group()];
    const u = await t.user();
    const change = await svc().memberships.addMembers(t.admin, parent.id, [{ kind: 'group', id: child.id }, { kind: 'user', id: u.id }]);
    expect(change.added).to.have.length(2);
    expect(change.version).to.equal(2);
    const page = await svc().memberships.listMembers(t.admin, parent.id, 0, 10);
    expect(page.total).to.equal(2);
    expect(page.items).to.deep.include.members([{ kind: 'group', id: child.id }, { kind: 'user', id: u.id }]);
  });

  it('refuses a group as its own member and any cycle through nesting', async () => {
    const [a, b, c] = [await t.group(), await t.group(), await t.group()];
    await svc().memberships.addMembers(t.admin, a.id, [{ kind: 'group', id: b.id }]);
    await svc().memberships.addMembers(t.admin, b.id, [{ kind: 'group', id: c.id }]);
    expect(await rejection(svc().memberships.addMembers(t.admin, a.id, [{ kind: 'group', id: a.id }]))).to.be.instanceOf(InvalidInput);
    expect(await rejection(svc().memberships.addMembers(t.admin, c.id, [{ kind: 'group', id: a.id }]))).to.be.instanceOf(InvalidInput);
    expect((await svc().groups.getGroup(t.admin, c.id)).memberCount).to.equal(0);
  });

  it('refuses two concurrent adds that would together close a cycle', async () => {
    const [a, b] = [await t.group(), await t.group()];
    const results = await Promise.allSettled([
      svc().memberships.addMembers(t.admin, a.id, [{ kind: 'group', id: b.id }]),
      svc().memberships.addMembers(t.admin, b.id, [{ kind: 'group', id: a.id }]),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
  });

  it('removing a deleted group from its parents keeps their counts right', async () => {
    const [parent, child] = [await t.group(), await t.group()];
    await svc().memberships.addMembers(t.admin, parent.id, [{ kind: 'group', id: child.id }]);
    await svc().groups.deleteGroup(t.admin, child.id);
    expect((await svc().groups.getGroup(t.admin, parent.id)).memberCount).to.equal(0);
  });

  it('ignores ids that are not members when removing, and changes no version', async () => {
    const g = await t.group();
    const u = await t.user();
    const change = await svc().memberships.removeMembers(t.admin, g.id, [{ kind: 'user', id: u.id }, { kind: 'user', id: 'junk' }]);
    expect(change).to.deep.equal({ added: [], removed: [], version: 1 });
  });

  it('adds a thousand members in one set-based change', async () => {
    const g = await t.group();
    const { db } = testContext();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ tenant_id: t.id, user_name: `bulk-${i}@example.com` }));
    const ids: string[] = (await db('users').insert(rows).returning('id')).map((r: { id: string }) => r.id);
    const change = await svc().memberships.addMembers(t.admin, g.id, ids.map((id) => ({ kind: 'user' as const, id })));
    expect(change.added).to.have.length(1000);
    expect((await svc().groups.getGroup(t.admin, g.id)).memberCount).to.equal(1000);
  });

  it('answers not found for an unknown group', async () => {
    const u = await t.user();
    expect(await rejection(svc().memberships.addMembers(t.admin, '00000000-0000-0000-0000-000000000000', [{ kind: 'user', id: u.id }]))).to.be.instanceOf(NotFound);
  });
});
