import { expect } from 'chai';
import request from 'supertest';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';

/**
 * Names a client chooses (filter and sort attributes, search fields, profile fields, wildcard
 * attributes) are looked up in maps of what Roster knows. `constructor` is a property every
 * object inherits: it used to be found there (a 500 for a filter on it, a Groups v2 search field
 * that was a 500, a profile that showed the group's internal record, a wildcard rule that was
 * stored). It is an unknown name like any other.
 */
describe('robustness: names every object inherits are unknown names', () => {
  let t: TestTenant;
  let token: string;
  let groupId: string;

  before(async () => {
    t = await newTenant();
    token = await t.token(['all']);
    groupId = (await t.group({ name: 'inherited names' })).id;
  });

  const app = () => testContext().app;

  for (const resource of ['Users', 'Groups']) {
    it(`SCIM ${resource}: a filter or sortBy on constructor is a 400 invalidFilter naming it`, async () => {
      for (const query of ['filter=constructor%20eq%20%22x%22', 'filter=CONSTRUCTOR%20pr', 'filter=emails.constructor%20eq%20%22x%22', 'sortBy=constructor']) {
        const res = await request(app()).get(`/scim/v2/${resource}?${query}`).set(bearer(token)).expect(400);
        expect(res.body).to.include({ scimType: 'invalidFilter' });
        expect(res.body.detail, query).to.match(/unknown attribute "(emails\.)?constructor"/i);
      }
    });
  }

  it('Groups v2 search: a constructor field is a 400 naming the known fields', async () => {
    for (const body of [
      { query: [{ type: 'EXACT', fields: ['constructor'], value: 'x' }] },
      { query: [], sort: [{ sortBy: 'constructor', sortOrder: 'ASC' }] },
    ]) {
      const res = await request(app()).post('/api/v2/groups/search').set(bearer(token)).send(body).expect(400);
      expect(res.body).to.include({ code: 'bad.request' });
      expect(res.body.message).to.match(/unknown search field "constructor"/);
    }
  });

  it("Groups v2 profile: fields=constructor is a 400 unknown field (it showed the group's internal record)", async () => {
    const res = await request(app()).get(`/api/v2/groups/${groupId}/profile?fields=constructor`).set(bearer(token)).expect(400);
    expect(res.body).to.include({ code: 'bad.request' });
    expect(res.body.message).to.match(/unknown profile field\(s\): constructor/);
    expect(JSON.stringify(res.body)).to.not.include(t.id);
  });

  it('Groups v1: a wildcard rule on constructor is refused and nothing is created', async () => {
    const res = await request(app()).post('/api/v1/groups').set(bearer(token)).send({ name: 'inherited wildcard', wildcards: ['constructor:x'] }).expect(400);
    expect(res.body.message).to.match(/unknown wildcard attribute "constructor"/);
    const list = await request(app()).post('/api/v2/groups/search').set(bearer(token)).send({ query: [{ type: 'EXACT', fields: ['name'], value: 'inherited wildcard' }] }).expect(200);
    expect(list.body.total).to.equal(0);
  });
});
