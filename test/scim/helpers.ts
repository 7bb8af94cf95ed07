import { newTenant, type TestTenant } from '../helpers/factories';
import { api } from '../helpers/http';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A tenant with a SCIM provisioning token, and a client that sends SCIM requests with it. */
export async function scimTenant(): Promise<TestTenant & { token: string; scim: ReturnType<typeof scimClient> }> {
  const t = await newTenant();
  const token = await t.token(['scim_provisioning']);
  return Object.assign(t, { token, scim: scimClient(token) }) as TestTenant & { token: string; scim: ReturnType<typeof scimClient> };
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
