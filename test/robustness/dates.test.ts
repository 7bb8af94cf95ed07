import { expect } from 'chai';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/** Dates PostgreSQL cannot hold (JavaScript's reach past year 9999) in filters and searches: 400, never 500. */
describe('dates out of the database range', () => {
  let t: TestTenant;
  let scim: string;
  let groups: string;
  beforeEach(async () => {
    t = await newTenant();
    scim = await t.token(['scim_provisioning']);
    groups = await t.token(['group_administration']);
  });

  const far = ['10000-01-01', '+100000-01-01', '-271821-04-20'];

  it('a SCIM filter on meta.created or meta.lastModified answers 400 in the SCIM shape', async () => {
    for (const date of far) {
      for (const path of ['/scim/v2/Users', '/scim/v2/Groups']) {
        const res = await api().get(path).query({ filter: `meta.lastModified gt "${date}"` }).set(bearer(scim));
        expect(res.status, `${path} ${date}: ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.schemas).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:Error']);
      }
    }
  });

  it('a Groups v2 search on dateModified answers 400 in the v2 shape', async () => {
    for (const date of far) {
      const res = await api()
        .post('/api/v2/groups/search')
        .set(bearer(groups))
        .send({ query: [{ type: 'DATE_RANGE', fields: ['dateModified'], startValue: date }] });
      expect(res.status, `${date}: ${JSON.stringify(res.body)}`).to.equal(400);
      expect(res.body).to.include({ status: 400 });
    }
  });
});
