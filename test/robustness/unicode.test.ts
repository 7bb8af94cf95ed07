import { expect } from 'chai';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';

/** Raw JSON text (a string body is sent as it is), so the escapes reach the server exactly as written. */
const raw = (text: string) => text;

describe('robustness: text must be Unicode (lone surrogate escapes)', () => {
  let t: TestTenant;
  let token: string;
  before(async () => {
    t = await newTenant();
    token = await t.token(['all']);
  });

  it('refuses a group name with a lone surrogate (400, Groups v2 shape) and stores nothing; a pair is text', async () => {
    const refused = await api()
      .post('/api/v2/groups')
      .set(bearer(token))
      .set('Content-Type', 'application/json')
      .send(raw('{"name":"lone \\ud800 half"}'))
      .expect(400);
    expect(refused.body.message).to.match(/not valid Unicode/);
    const list = await api().get('/api/v2/groups').set(bearer(token)).expect(200);
    expect(list.body.entities).to.deep.equal([]);

    const created = await api()
      .post('/api/v2/groups')
      .set(bearer(token))
      .set('Content-Type', 'application/json')
      .send(raw('{"name":"smile \\ud83d\\ude00"}'))
      .expect(200);
    expect(created.body.name).to.equal('smile \u{1F600}');
    expect((await api().get(`/api/v2/groups/${created.body.id}`).set(bearer(token)).expect(200)).body.name).to.equal('smile \u{1F600}');
  });

  it('refuses a lone surrogate in a key as well, in the SCIM shape', async () => {
    const res = await api()
      .post('/scim/v2/Users')
      .set(bearer(token))
      .set('Content-Type', 'application/scim+json')
      .send(raw('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"keyed","\\udc00":"x"}'))
      .expect(400);
    expect(res.body.detail).to.match(/not valid Unicode/);
    expect(res.body.schemas).to.deep.equal(['urn:ietf:params:scim:api:messages:2.0:Error']);
  });

  it('answers 400 invalidFilter for a lone surrogate escape in a SCIM filter string', async () => {
    const res = await api()
      .get('/scim/v2/Users')
      .query({ filter: 'userName eq "a\\ud800"' })
      .set(bearer(token))
      .expect(400);
    expect(res.body.scimType).to.equal('invalidFilter');
    expect(res.body.detail).to.match(/without its pair/);
    await api().get('/scim/v2/Users').query({ filter: 'userName eq "a\\ud83d\\ude00"' }).set(bearer(token)).expect(200);
  });
});
