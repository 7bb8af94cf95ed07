import { expect } from 'chai';
import { translateDbError } from '../../src/db/pg-errors';
import { InvalidInput } from '../../src/domain/errors';
import { MAX_EXTERNAL_ID_LENGTH, MAX_NAME_LENGTH } from '../../src/domain/text-limits';
import { BULK_REQUEST, expectScimError, GROUP, patchOp, scimTenant, USER, type ScimTenant } from './helpers';

/**
 * A string of length `n` as JavaScript (and Roster's limits) count it, in UTF-16 code units, of
 * the characters that take the most UTF-8 bytes per unit: 3 (U+4E2D; a 4-byte character counts
 * as 2 units). The most bytes an index row can be asked to hold for that length.
 */
const units = (n: number) => '\u4E2D'.repeat(n);

describe('SCIM: names and external ids are bounded before PostgreSQL would refuse them', () => {
  let t: ScimTenant;
  before(async () => {
    t = await scimTenant();
  });

  it('refuses a Group displayName or externalId over the limit with 400 invalidValue, storing nothing', async () => {
    const cases = [
      { displayName: 'x'.repeat(MAX_NAME_LENGTH + 1) },
      { displayName: 'x'.repeat(3000) },
      { displayName: 'ok long id', externalId: 'x'.repeat(MAX_EXTERNAL_ID_LENGTH + 1) },
      { displayName: 'ok huge id', externalId: 'x'.repeat(9000) },
    ];
    for (const c of cases) {
      const res = await t.scim.post('/Groups', { schemas: [GROUP], ...c });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).to.match(/is at most \d+ characters/);
    }
    expect((await t.scim.get('/Groups?count=0').expect(200)).body.totalResults).to.equal(0);
  });

  it('refuses a User displayName or externalId over the limit on POST, PUT, PATCH and in Bulk', async () => {
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'long-display@example.com', displayName: 'd'.repeat(3000) }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'long-ext@example.com', externalId: 'e'.repeat(MAX_EXTERNAL_ID_LENGTH + 1) }), 400, 'invalidValue');
    const u = (await t.scim.post('/Users', { schemas: [USER], userName: 'bounded@example.com' }).expect(201)).body;
    expectScimError(await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'd'.repeat(MAX_NAME_LENGTH + 1) })), 400, 'invalidValue');
    expectScimError(await t.scim.patch(`/Users/${u.id}`, patchOp({ op: 'replace', value: { externalId: 'e'.repeat(3000) } })), 400, 'invalidValue');
    expectScimError(await t.scim.put(`/Users/${u.id}`, { schemas: [USER], userName: 'bounded@example.com', displayName: 'd'.repeat(3000) }), 400, 'invalidValue');
    const bulk = await t.scim
      .post('/Bulk', {
        schemas: [BULK_REQUEST],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'u', data: { schemas: [USER], userName: 'bulk-long@example.com', displayName: 'd'.repeat(3000) } },
          { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'g'.repeat(3000) } },
        ],
      })
      .expect(200);
    expect(bulk.body.Operations.map((o: { status: string }) => o.status)).to.deep.equal(['400', '400']);
    const after = (await t.scim.get(`/Users/${u.id}`).expect(200)).body;
    expect(after.meta.version).to.equal(u.meta.version);
    expect((await t.scim.get('/Users?count=0').expect(200)).body.totalResults).to.equal(1);
  });

  it('stores values at the limit in the widest characters (3 UTF-8 bytes per unit): the indexes hold them', async () => {
    const user = await t.scim
      .post('/Users', { schemas: [USER], userName: units(MAX_NAME_LENGTH), displayName: units(MAX_NAME_LENGTH), externalId: units(MAX_EXTERNAL_ID_LENGTH) })
      .expect(201);
    expect(user.body.displayName).to.equal(units(MAX_NAME_LENGTH));
    const group = await t.scim.post('/Groups', { schemas: [GROUP], displayName: units(MAX_NAME_LENGTH), externalId: units(MAX_EXTERNAL_ID_LENGTH), members: [{ value: user.body.id }] }).expect(201);
    expect(group.body.externalId).to.equal(units(MAX_EXTERNAL_ID_LENGTH));
    const found = await t.scim.get(`/Users?filter=${encodeURIComponent(`externalId eq "${units(MAX_EXTERNAL_ID_LENGTH)}"`)}`).expect(200);
    expect(found.body.totalResults).to.equal(1);
  });

  it('answers any value still too long for an index (SQLSTATE 54000) with a 400, never a 500', () => {
    const err = Object.assign(new Error('index row size 3032 exceeds btree version 4 maximum 2704 for index "x"'), { code: '54000' });
    expect(translateDbError(err)).to.be.instanceOf(InvalidInput);
  });
});
