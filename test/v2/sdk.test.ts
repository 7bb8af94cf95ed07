import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import platformClient from 'purecloud-platform-client-v2';
import { ENTERPRISE_USER } from '../../src/domain/users/users.fields';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';

/**
 * The official Genesys Cloud JavaScript SDK (purecloud-platform-client-v2), unchanged, against a
 * Roster listening on a real port: every one of its 14 GroupsApi methods, in the sequences an
 * integration runs them. The SDK joins array query parameters with commas and sends
 * `Content-Type: application/json` on every call, bodiless GET and DELETE included.
 */
describe('Groups v2 with the official SDK (purecloud-platform-client-v2)', function () {
  this.timeout(60_000);
  let server: http.Server;
  let t: TestTenant;
  const client = platformClient.ApiClient.instance;
  const groupsApi = new platformClient.GroupsApi(client);

  /** What the SDK rejects with on an HTTP error: the response body (the v2 error). */
  async function failure(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
    try {
      await p;
    } catch (err) {
      return err as { status: number; code: string; message: string };
    }
    throw new Error('expected the SDK call to fail');
  }

  before(async () => {
    server = http.createServer(testContext().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // setEnvironment always builds https://api.<env>; a gateway may name protocol, host and port.
    client.setGateway({ host: '127.0.0.1', protocol: 'http', port } as never);
  });

  after(async () => {
    client.setGateway(undefined as never);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    t = await newTenant();
    client.setAccessToken(await t.token(['group_administration']));
  });

  it('manages a group: create, read, list by ids, update, profile, field config, delete', async () => {
    const owner = await t.user({ userName: 'owner@acme.com' });
    const created = await groupsApi.postGroups({
      name: 'Support',
      description: 'Front line',
      type: 'official',
      visibility: 'public',
      rulesVisible: false,
      ownerIds: [owner.id],
      addresses: [{ address: '+15551234', display: '555-1234', type: 'GROUPPHONE', mediaType: 'PHONE' }],
    });
    expect(created).to.include({ name: 'Support', version: 1, state: 'active', type: 'official' });
    const other = await groupsApi.postGroups({ name: 'Billing', type: 'social', visibility: 'public', rulesVisible: false });
    await groupsApi.postGroups({ name: 'Sales', type: 'official', visibility: 'public', rulesVisible: false });

    const got = await groupsApi.getGroup(created.id!);
    expect(got).to.include({ id: created.id, name: 'Support', description: 'Front line' });
    expect((got as unknown as { ownerIds: string[] }).ownerIds).to.deep.equal([owner.id]);

    const byIds = await groupsApi.getGroups({ id: [created.id!, other.id!], sortOrder: 'descending', pageSize: 10, pageNumber: 1 });
    expect(byIds.entities!.map((g) => g.name)).to.deep.equal(['Support', 'Billing']);
    expect(byIds).to.include({ total: 2, pageNumber: 1, pageSize: 10 });
    const firstPage = await groupsApi.getGroups({ pageSize: 2 });
    expect(firstPage).to.include({ total: 3, pageCount: 2 });
    expect(firstPage.nextUri).to.equal('/api/v2/groups?pageSize=2&pageNumber=2');

    const updated = await groupsApi.putGroup(created.id!, { body: { name: 'Support EMEA', version: 1, visibility: 'members' } });
    expect(updated).to.include({ name: 'Support EMEA', version: 2, visibility: 'members', description: 'Front line' });

    const profile = await groupsApi.getGroupProfile(created.id!, { fields: 'description,visibility' });
    expect(profile).to.include({ id: created.id, name: 'Support EMEA', version: 2, description: 'Front line', visibility: 'members' });
    const profiles = await groupsApi.getProfilesGroups({ pageSize: 25, pageNumber: 1, id: [created.id!, other.id!], sortOrder: 'ascending' });
    expect(profiles.entities!.map((p) => p.name)).to.deep.equal(['Billing', 'Support EMEA']);

    const config = await groupsApi.getFieldconfig('group');
    expect(config.entityType).to.equal('group');
    const keys = config.sections!.flatMap((s) => s.fieldList!.map((f) => f.key));
    expect(keys).to.include.members(['description', 'visibility']);

    await groupsApi.deleteGroup(other.id!);
    const gone = await failure(groupsApi.getGroup(other.id!));
    expect(gone).to.include({ status: 404, code: 'not.found' });
  });

  it('manages members: add, list members and individuals (with owners and rule members), remove', async () => {
    const [ada, bob, cy] = [
      await t.user({ userName: 'ada@corp.example', displayName: 'Ada', resource: { emails: [{ value: 'ada@corp.example', primary: true }], [ENTERPRISE_USER]: { department: 'R&D' } } }),
      await t.user({ userName: 'bob@corp.example' }),
      await t.user({ userName: 'cy@corp.example' }),
    ];
    const owner = await t.user({ userName: 'owner@elsewhere.example' });
    const ruled = await t.user({ userName: 'dee@partners.example' });
    const group = await groupsApi.postGroups({ name: 'Engineering', type: 'official', visibility: 'public', rulesVisible: true, ownerIds: [owner.id] });
    await groupsApi.putGroup(group.id!, { body: { version: 1, wildcards: ['*@partners.example'] } as never });

    await groupsApi.postGroupMembers(group.id!, { memberIds: [ada.id, bob.id, cy.id], version: 2 });
    const afterAdd = await groupsApi.getGroup(group.id!);
    expect(afterAdd).to.include({ memberCount: 3, version: 3 });

    const members = await groupsApi.getGroupMembers(group.id!, { pageSize: 25, pageNumber: 1, sortOrder: 'ascending', expand: ['presence', 'routingStatus'] });
    expect(members.total).to.equal(5);
    expect(members.entities!.map((u) => u.id).sort()).to.deep.equal([ada.id, bob.id, cy.id, owner.id, ruled.id].sort());
    expect(members.entities!.find((u) => u.id === ada.id)).to.include({ name: 'Ada', username: 'ada@corp.example', email: 'ada@corp.example', department: 'R&D', state: 'active' });
    const paged = await groupsApi.getGroupMembers(group.id!, { pageSize: 2, pageNumber: 3, sortOrder: 'descending' });
    expect(paged.entities).to.have.length(1);

    const individuals = await groupsApi.getGroupIndividuals(group.id!);
    expect(individuals.entities!.map((u) => u.id).sort()).to.deep.equal([ada.id, bob.id, cy.id].sort());

    await groupsApi.deleteGroupMembers(group.id!, [ada.id, bob.id].join(','));
    const left = await groupsApi.getGroupIndividuals(group.id!);
    expect(left.entities!.map((u) => u.id)).to.deep.equal([cy.id]);
    expect(await groupsApi.getGroup(group.id!)).to.include({ memberCount: 1, version: 4 });
  });

  it('searches, then follows the q64 page links', async () => {
    for (const name of ['Team Alpha', 'Team Beta', 'Team Gamma', 'Team Delta', 'Ops']) {
      await groupsApi.postGroups({ name, type: name === 'Ops' ? 'social' : 'official', visibility: 'public', rulesVisible: false });
    }
    const first = await groupsApi.postGroupsSearch({
      pageSize: 2,
      pageNumber: 1,
      sort: [{ sortBy: 'name', sortOrder: 'ASC' }],
      query: [
        { type: 'STARTS_WITH', fields: ['name'], value: 'team' },
        { type: 'EXACT', fields: ['name'], value: 'Team Gamma', operator: 'NOT' },
        { type: 'MATCH_ALL', operator: 'AND', group: [{ type: 'EXACT', fields: ['type'], values: ['official'] }] },
      ],
    });
    expect(first).to.include({ total: 3, pageCount: 2, pageNumber: 1, pageSize: 2 });
    expect(first.types).to.deep.equal(['groups']);
    expect(first.results.map((g) => g.name)).to.deep.equal(['Team Alpha', 'Team Beta']);
    const q64 = new URL(first.nextPage!, 'http://roster').searchParams.get('q64')!;
    const second = await groupsApi.getGroupsSearch(q64, { expand: ['anything'] });
    expect(second).to.include({ pageNumber: 2, total: 3 });
    expect(second.results.map((g) => g.name)).to.deep.equal(['Team Delta']);
    const back = await groupsApi.getGroupsSearch(new URL(second.previousPage!, 'http://roster').searchParams.get('q64')!);
    expect(back.results.map((g) => g.name)).to.deep.equal(['Team Alpha', 'Team Beta']);

    const bad = await failure(groupsApi.postGroupsSearch({ query: [{ type: 'EXACT', fields: ['salary'], value: '1' }] }));
    expect(bad).to.include({ status: 400, code: 'bad.request' });
    const tampered = await failure(groupsApi.getGroupsSearch(`${q64}x`));
    expect(tampered).to.include({ status: 400 });
  });

  it('surfaces 409 version mismatch, 403 and 401 as the SDK\'s rejections', async () => {
    const group = await groupsApi.postGroups({ name: 'Contended', type: 'official', visibility: 'public', rulesVisible: false });
    await groupsApi.putGroup(group.id!, { body: { name: 'First', version: 1 } });
    const stale = await failure(groupsApi.putGroup(group.id!, { body: { name: 'Second', version: 1 } }));
    expect(stale).to.include({ status: 409, code: 'version.mismatch' });
    const user = await t.user();
    const staleMembers = await failure(groupsApi.postGroupMembers(group.id!, { memberIds: [user.id], version: 1 }));
    expect(staleMembers.status).to.equal(409);

    client.setAccessToken(await t.token([]));
    const forbidden = await failure(groupsApi.deleteGroup(group.id!));
    expect(forbidden).to.include({ status: 403, code: 'missing.any.permissions' });
    const forbiddenMembers = await failure(groupsApi.deleteGroupMembers(group.id!, user.id));
    expect(forbiddenMembers.status).to.equal(403);

    client.setAccessToken('rst_not-a-real-token');
    const unauthenticated = await failure(groupsApi.getGroups());
    expect(unauthenticated).to.include({ status: 401, code: 'authentication.required' });
  });
});
