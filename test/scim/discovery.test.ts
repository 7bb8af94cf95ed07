import { expect } from 'chai';
import { MAX_BULK_OPERATIONS, MAX_BULK_PAYLOAD } from '../../src/http/scim/bulk';
import { DEFAULT_COUNT, MAX_COUNT } from '../../src/http/scim/params';
import { api, bearer } from '../helpers/http';
import { ENTERPRISE, expectScimError, GROUP, LIST, scimTenant, USER, type ScimTenant } from './helpers';

const SP_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

interface Attr {
  name: string;
  type: string;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: string;
  returned: string;
  uniqueness: string;
  canonicalValues?: string[];
  subAttributes?: Attr[];
}

/** RFC 7644 §4 / RFC 7643 §5-7: what the service says it supports is what it supports. */
describe('SCIM: discovery', () => {
  let t: ScimTenant;
  before(async () => {
    t = await scimTenant();
  });

  it('describes the service in ServiceProviderConfig', async () => {
    const res = await t.scim.get('/ServiceProviderConfig').expect(200);
    expect(res.headers['content-type']).to.equal('application/scim+json');
    const c = res.body;
    expect(c.schemas).to.deep.equal([SP_CONFIG]);
    expect(c.patch).to.deep.equal({ supported: true });
    expect(c.bulk).to.deep.equal({ supported: true, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: MAX_BULK_PAYLOAD });
    expect(MAX_BULK_OPERATIONS).to.equal(1000);
    expect(MAX_BULK_PAYLOAD).to.equal(1_048_576);
    expect(c.filter).to.deep.equal({ supported: true, maxResults: MAX_COUNT });
    expect(c.sort).to.deep.equal({ supported: true });
    expect(c.etag).to.deep.equal({ supported: true });
    expect(c.changePassword).to.deep.equal({ supported: true });
    expect(c.pagination).to.deep.equal({ cursor: true, index: true, defaultPaginationMethod: 'index', defaultPageSize: DEFAULT_COUNT, maxPageSize: MAX_COUNT, cursorTimeout: 0 });
    expect(c.authenticationSchemes).to.have.length(1);
    expect(c.authenticationSchemes[0]).to.include({ type: 'oauthbearertoken', primary: true });
    expect(c.meta).to.include({ resourceType: 'ServiceProviderConfig' });
    expect(c.meta.location).to.match(/\/scim\/v2\/ServiceProviderConfig$/);
  });

  it('keeps its promises: the default page size, and the limits it advertises', async () => {
    const s = await scimTenant();
    for (let i = 0; i < 3; i++) await s.scim.post('/Users', { schemas: [USER], userName: `d${i}@example.com` }).expect(201);
    const list = await s.scim.get('/Users').expect(200);
    expect(list.body.itemsPerPage).to.equal(3);
    expect(DEFAULT_COUNT).to.be.at.least(3);
    // Sorting and ETags, as advertised.
    const sorted = await s.scim.get('/Users?sortBy=userName&sortOrder=descending').expect(200);
    expect(sorted.body.Resources[0].userName).to.equal('d2@example.com');
    expect((await s.scim.get(`/Users/${sorted.body.Resources[0].id}`).expect(200)).headers.etag).to.match(/^W\/"\d+"$/);
  });

  it('lists the resource types and serves each by id', async () => {
    const res = await t.scim.get('/ResourceTypes').expect(200);
    expect(res.body).to.include({ totalResults: 2, itemsPerPage: 2, startIndex: 1 });
    expect(res.body.schemas).to.deep.equal([LIST]);
    const [user, group] = res.body.Resources;
    expect(user).to.deep.include({ schemas: [RESOURCE_TYPE], id: 'User', name: 'User', endpoint: '/Users', schema: USER, schemaExtensions: [{ schema: ENTERPRISE, required: false }] });
    expect(group).to.deep.include({ schemas: [RESOURCE_TYPE], id: 'Group', name: 'Group', endpoint: '/Groups', schema: GROUP });
    const one = await t.scim.get('/ResourceTypes/Group').expect(200);
    const strip = ({ meta: _meta, ...rest }: Record<string, unknown>) => rest;
    expect(strip(one.body)).to.deep.equal(strip(group));
    expect(one.body.meta.location).to.match(/\/scim\/v2\/ResourceTypes\/Group$/);
    expectScimError(await t.scim.get('/ResourceTypes/Widget'), 404);
  });

  it('lists the schemas with their attribute characteristics and serves each by URN', async () => {
    const res = await t.scim.get('/Schemas').expect(200);
    expect(res.body.totalResults).to.equal(3);
    expect(res.body.Resources.map((s: { id: string }) => s.id)).to.deep.equal([USER, GROUP, ENTERPRISE]);
    for (const s of res.body.Resources) {
      expect(s.schemas).to.deep.equal([SCHEMA]);
      expect(s.meta.location).to.equal(`${s.meta.location.split('/Schemas/')[0]}/Schemas/${s.id}`);
    }
    const user = (await t.scim.get(`/Schemas/${USER}`).expect(200)).body as { attributes: Attr[] };
    const attr = (name: string) => user.attributes.find((a) => a.name === name)!;
    expect(attr('userName')).to.include({ type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite', returned: 'default' });
    expect(attr('id')).to.include({ mutability: 'readOnly', returned: 'always', caseExact: true });
    expect(attr('externalId')).to.include({ caseExact: true, uniqueness: 'none' });
    expect(attr('password')).to.include({ mutability: 'writeOnly', returned: 'never' });
    expect(attr('groups')).to.include({ mutability: 'readOnly', multiValued: true });
    expect(attr('emails').subAttributes!.map((s) => s.name)).to.have.members(['value', 'display', 'type', 'primary']);
    expect(attr('emails').subAttributes!.find((s) => s.name === 'type')!.canonicalValues).to.deep.equal(['work', 'home', 'other']);
    for (const name of ['name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates']) {
      expect(attr(name), name).to.be.an('object');
    }
    const group = (await t.scim.get(`/Schemas/${GROUP}`).expect(200)).body as { attributes: Attr[] };
    const members = group.attributes.find((a) => a.name === 'members')!;
    expect(members.subAttributes!.find((s) => s.name === 'type')!.canonicalValues).to.deep.equal(['User', 'Group']);
    expect(group.attributes.find((a) => a.name === 'displayName')).to.include({ required: true, uniqueness: 'server' });
    const ext = (await t.scim.get(`/Schemas/${ENTERPRISE}`).expect(200)).body as { attributes: Attr[] };
    expect(ext.attributes.map((a) => a.name)).to.have.members(['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']);
    expectScimError(await t.scim.get('/Schemas/urn:example:nope'), 404);
  });

  it('enforces what the schemas say: readOnly ignored, required refused, canonical values checked', async () => {
    const u = await t.scim.post('/Users', { schemas: [USER], userName: 'schema@example.com', id: 'mine', groups: [{ value: 'x' }] }).expect(201);
    expect(u.body.id).to.not.equal('mine');
    expect(u.body).to.not.have.property('groups');
    expectScimError(await t.scim.post('/Users', { schemas: [USER] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Groups', { schemas: [GROUP] }), 400, 'invalidValue');
    expectScimError(await t.scim.post('/Users', { schemas: [USER], userName: 'c@example.com', phoneNumbers: [{ value: '1', type: 'carrier-pigeon' }] }), 400, 'invalidValue');
  });

  it('refuses a filter with 403 (RFC 7644 §4) and ignores other unknown parameters', async () => {
    for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/Schemas', `/Schemas/${USER}`]) {
      expectScimError(await t.scim.get(`${path}?filter=${encodeURIComponent('id eq "User"')}`), 403);
      expectScimError(await t.scim.get(`${path}?Filter=x`), 403);
      await t.scim.get(`${path}?aadOptscim062020&foo=1`).expect(200);
    }
  });

  it('needs a token like every other endpoint', async () => {
    expectScimError(await api().get('/scim/v2/ServiceProviderConfig'), 401);
    expectScimError(await api().get('/scim/v2/Schemas').set(bearer(await t.mint(['bag_read']))), 403);
  });
});
