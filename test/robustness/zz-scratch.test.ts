import { buildWorld, fingerprint } from './helpers/world';
import { rapi, bearer, logLines } from './helpers/app';
describe('scratch', () => {
  it('world', async () => {
    const t0 = Date.now();
    const w = await buildWorld('a');
    console.log('world ms', Date.now() - t0);
    const t1 = Date.now();
    const fp = await fingerprint(w.tenant.id);
    console.log('fp ms', Date.now() - t1, fp);
    const r = await (await rapi()).get('/scim/v2/Users').set(bearer(w.admin));
    console.log(r.status, JSON.stringify(r.body).slice(0, 300));
    const t2 = Date.now();
    for (let i = 0; i < 100; i++) await (await rapi()).get(`/api/v2/groups/${w.groups[0].id}`).set(bearer(w.admin));
    console.log('100 req ms', Date.now() - t2, logLines().length, logLines()[0]);
  });
});
