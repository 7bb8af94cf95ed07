import { newTenant, type TestTenant } from '../helpers/factories';
import { testContext } from '../helpers/context';
import { api } from '../helpers/http';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * A tenant with a SCIM provisioning token, and a client that sends SCIM requests with it.
 * `token` is that token; `mint` issues more tokens in the tenant (the factory's `token()`).
 */
export async function scimTenant(): Promise<Omit<TestTenant, 'token'> & { token: string; mint: TestTenant['token']; scim: ReturnType<typeof scimClient> }> {
  const t = await newTenant();
  const mint = t.token.bind(t);
  const token = await mint(['scim_provisioning']);
  return Object.assign(t, { token, mint, scim: scimClient(token) });
}

/** Requests under /scim/v2 with the token and the SCIM media type. */
export function scimClient(token: string) {
  const auth = (r: ReturnType<ReturnType<typeof api>['get']>) => r.set('Authorization', `Bearer ${token}`).set('Accept', 'application/scim+json');
  const withBody = (r: ReturnType<ReturnType<typeof api>['post']>, body: unknown) =>
    auth(r).set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
  return {
    get: (path: string) => auth(api().get(`/scim/v2${path}`)),
    delete: (path: string) => auth(api().delete(`/scim/v2${path}`)),
    post: (path: string, body: unknown) => withBody(api().post(`/scim/v2${path}`), body),
    put: (path: string, body: unknown) => withBody(api().put(`/scim/v2${path}`), body),
    patch: (path: string, body: unknown) => withBody(api().patch(`/scim/v2${path}`), body),
  };
}

export const patchOp = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

export async function createUser(scim: ReturnType<typeof scimClient>, userName: string, extra: Record<string, unknown> = {}) {
  const res = await scim.post('/Users', { schemas: [USER], userName, ...extra });
  if (res.status !== 201) throw new Error(`create user ${userName}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; meta: { version: string } } & Record<string, unknown>;
}

export async function createGroup(scim: ReturnType<typeof scimClient>, displayName: string, members: string[] = []) {
  const res = await scim.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) });
  if (res.status !== 201) throw new Error(`create group ${displayName}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; meta: { version: string } } & Record<string, unknown>;
}

export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

export type ScimClient = ReturnType<typeof scimClient>;
export type ScimTenant = Awaited<ReturnType<typeof scimTenant>>;

/** `?a=1&b=2` with every value percent-encoded (spaces as %20). */
export function qs(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Asserts a SCIM Error body (RFC 7644 §3.12): string status, the scimType when given, SCIM media type. */
export function expectScimError(res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }, status: number, scimType?: string): void {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  if (res.headers['content-type'] !== 'application/scim+json') throw new Error(`content-type ${res.headers['content-type']}`);
  const body = res.body;
  if (!Array.isArray(body.schemas) || body.schemas[0] !== ERROR) throw new Error(`not a SCIM Error: ${JSON.stringify(body)}`);
  if (body.status !== String(status)) throw new Error(`status ${JSON.stringify(body.status)} is not "${status}"`);
  if (typeof body.detail !== 'string') throw new Error('no detail');
  if (scimType !== undefined && body.scimType !== scimType) throw new Error(`scimType ${JSON.stringify(body.scimType)}, expected ${scimType}: ${JSON.stringify(body)}`);
}

/** Ids of a ListResponse's resources. */
export const idsOf = (res: { body: { Resources?: { id: string }[] } }) => (res.body.Resources ?? []).map((r) => r.id);

/** Lists users with a filter (and other params) and returns their ids; fails on non-200. */
export async function filterIds(scim: ScimClient, resource: 'Users' | 'Groups', filter: string, extra: Record<string, string | number> = {}): Promise<string[]> {
  const res = await scim.get(`/${resource}${qs({ filter, ...extra })}`);
  if (res.status !== 200) throw new Error(`filter ${filter}: ${res.status} ${JSON.stringify(res.body)}`);
  return idsOf(res);
}

/** Direct member ids of a group, from the database (not through SCIM). */
export async function memberRows(groupId: string): Promise<string[]> {
  const rows: { member_id: string }[] = await testContext().db('group_members').where({ group_id: groupId }).select('member_id');
  return rows.map((r) => r.member_id).sort();
}
