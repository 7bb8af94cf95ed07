import { expect } from 'chai';
import { hashPassword } from '../../src/domain/users/passwords';
import { testContext } from '../helpers/context';
import type { TestTenant } from '../helpers/factories';
import { api } from '../helpers/http';

/** Sets a user's password the way the SCIM `password` attribute will: a scrypt hash in users.password_hash. */
export async function setPassword(userId: string, password: string): Promise<void> {
  await testContext().db('users').where({ id: userId }).update({ password_hash: await hashPassword(password) });
}

/** Starts a session and authenticates it; returns the session token. */
export async function login(t: TestTenant, userName: string, password: string): Promise<string> {
  const { token } = (await api().get('/api/v1/session').expect(200)).body;
  await api().post('/api/v1/session/authenticate').query({ token, login: userName, password, tenant: t.name }).expect(200);
  return token;
}

/** Sets what a group gives its members (easydb `_system_rights`), bypassing the API. */
export async function setSystemRights(groupId: string, rights: Record<string, Record<string, unknown>>): Promise<void> {
  await testContext().db('groups').where({ id: groupId }).update({ system_rights: JSON.stringify(rights) });
}

/** Adds an ACL entry on a group, bypassing the API. */
export async function grant(t: TestTenant, groupId: string, who: { kind: 'user' | 'group' | 'token'; id: string }, rights: string[]): Promise<void> {
  await testContext().db('group_acl').insert({ tenant_id: t.id, group_id: groupId, who_kind: who.kind, who_id: who.id, rights });
}

export function expectUserError(res: { status: number; body: Record<string, unknown> }, code: string, parameters?: Record<string, string>) {
  expect(res.status, JSON.stringify(res.body)).to.equal(400);
  expect(res.body).to.include({ realm: 'user', code: `error.user.${code}` });
  if (parameters) expect(res.body.parameters).to.deep.include(parameters);
}

export function expectApiError(res: { status: number; body: Record<string, unknown> }, code: string) {
  expect(res.status, JSON.stringify(res.body)).to.equal(400);
  expect(res.body).to.include({ realm: 'api', code: `error.api.${code}` });
  expect(res.body.description).to.be.a('string').and.not.empty;
}
