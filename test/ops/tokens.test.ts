import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { createDb } from '../../src/db/knex';
import { findAuditEvents } from '../../src/domain/audit/audit.repository';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { secondInstance } from './helpers';

describe('ops: token lifecycle /api/v2/tokens', () => {
  let t: TestTenant;
  let admin: string;
  beforeEach(async () => {
    t = await newTenant();
    admin = await t.token(['admin']);
  });

  it('mints a token whose secret is shown once, lists it without secrets, and revokes it', async () => {
    const created = await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'okta', rights: ['scim_provisioning'], expiresInSeconds: 3600 }).expect(200);
    expect(created.headers['cache-control']).to.equal('no-store');
    expect(created.body).to.include({ name: 'okta', kind: 'token', state: 'active', selfUri: `/api/v2/tokens/${created.body.id}` });
    expect(created.body.rights).to.deep.equal(['scim_provisioning']);
    expect(created.body.secret).to.match(/^rst_/);
    expect(Date.parse(created.body.dateExpires) - Date.now()).to.be.within(3500_000, 3600_000);
    await api().get('/scim/v2/Users').set(bearer(created.body.secret)).expect(200);

    const list = await api().get('/api/v2/tokens').set(bearer(admin)).expect(200);
    expect(list.body).to.include({ pageSize: 25, pageNumber: 1 });
    expect(list.body.entities.map((e: { name: string }) => e.name)).to.include('okta');
    expect(JSON.stringify(list.body)).to.not.include(created.body.secret);
    expect(list.body.entities.every((e: Record<string, unknown>) => !('secret' in e))).to.equal(true);
    const one = await api().get(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(200);
    expect(one.body.dateLastUsed).to.be.a('string');

    await api().delete(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(204);
    await api().get('/scim/v2/Users').set(bearer(created.body.secret)).expect(401);
    const revoked = await api().get(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(200);
    expect(revoked.body).to.include({ state: 'revoked' });
    // Idempotent.
    await api().delete(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(204);

    const feed = await api().get('/api/v2/changes').query({ resourceType: 'token' }).set(bearer(admin)).expect(200);
    expect(feed.body.entities.map((e: { action: string }) => e.action)).to.deep.equal(['token.created', 'token.revoked']);
    expect(JSON.stringify(feed.body)).to.not.include(created.body.secret);
  });

  it('registers an OAuth client whose id and secret obtain access tokens; revoking it revokes them', async () => {
    const created = await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'entra', kind: 'oauth_client', rights: ['scim_provisioning'] }).expect(200);
    expect(created.body).to.include({ kind: 'oauth_client' });
    expect(created.body.secret).to.match(/^rsc_/);
    const grant = await api().post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: created.body.id, client_secret: created.body.secret }).expect(200);
    await api().get('/scim/v2/Users').set(bearer(grant.body.access_token)).expect(200);
    await api().delete(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(204);
    await api().get('/scim/v2/Users').set(bearer(grant.body.access_token)).expect(401);
    await api().post('/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: created.body.id, client_secret: created.body.secret }).expect(401);
  });

  it('refuses unknown rights, a client with an expiry, and needs the admin right', async () => {
    const bad = await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'x', rights: ['root'] }).expect(400);
    expect(bad.body).to.include({ status: 400, code: 'bad.request' });
    await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'x', kind: 'oauth_client', rights: [], expiresInSeconds: 600 }).expect(400);
    await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'x', rights: [], secret: 'mine' }).expect(400);
    await api().get('/api/v2/tokens').set(bearer(await t.token(['group_administration']))).expect(403);
  });

  it('never shows or revokes another tenant\'s tokens (404)', async () => {
    const other = await newTenant();
    const theirs = await api().post('/api/v2/tokens').set(bearer(await other.token(['admin']))).send({ name: 'theirs', rights: [] }).expect(200);
    await api().get(`/api/v2/tokens/${theirs.body.id}`).set(bearer(admin)).expect(404);
    await api().delete(`/api/v2/tokens/${theirs.body.id}`).set(bearer(admin)).expect(404);
    await api().get('/api/v2/tokens/not-a-uuid').set(bearer(admin)).expect(404);
    const mine = await api().get('/api/v2/tokens').set(bearer(admin)).expect(200);
    expect(mine.body.entities.map((e: { id: string }) => e.id)).to.not.include(theirs.body.id);
  });

  it('pages the listing in the entity listing envelope', async () => {
    for (let i = 0; i < 3; i++) await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: `p${i}`, rights: [] }).expect(200);
    // factory + admin + 3 = 5 tokens
    const page = await api().get('/api/v2/tokens').query({ pageSize: 2, pageNumber: 2 }).set(bearer(admin)).expect(200);
    expect(page.body).to.include({ total: 5, pageCount: 3, pageNumber: 2 });
    expect(page.body.entities).to.have.length(2);
    expect(page.body.nextUri).to.equal('/api/v2/tokens?pageSize=2&pageNumber=3');
  });

  it('revocation on one instance is seen by a second instance on the next request', async () => {
    const other = secondInstance();
    try {
      const created = await api().post('/api/v2/tokens').set(bearer(admin)).send({ name: 'dyno', rights: ['admin'] }).expect(200);
      await request(other.app).get('/api/v2/groups').set(bearer(created.body.secret)).expect(200);
      await api().delete(`/api/v2/tokens/${created.body.id}`).set(bearer(admin)).expect(204);
      const refused = await request(other.app).get('/api/v2/groups').set(bearer(created.body.secret)).expect(401);
      expect(refused.headers['www-authenticate']).to.match(/^Bearer/);
    } finally {
      await other.close();
    }
  });
});

describe('ops: `npm run token -- client …` (OAuth clients from the command line)', function () {
  this.timeout(120_000);
  let dir: string;
  const saved = { PGLITE_DIR: process.env.PGLITE_DIR, DATABASE_URL: process.env.DATABASE_URL };

  /** Runs a command's main() in-process on a database of its own; captures stdout and stderr. */
  async function run(cli: 'token' | 'tenant', args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const { main } = cli === 'token' ? await import('../../src/cli/token') : await import('../../src/cli/tenant');
    const { UsageError } = await import('../../src/cli/common');
    const captured = { stdout: '', stderr: '' };
    const write = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = ((chunk: string) => ((captured.stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((captured.stderr += chunk), true)) as typeof process.stderr.write;
    let code = 0;
    try {
      await main(args);
    } catch (err) {
      code = err instanceof UsageError ? 2 : 1;
      captured.stderr += String(err);
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
    return { code, ...captured };
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-cli-'));
    process.env.PGLITE_DIR = dir;
    delete process.env.DATABASE_URL;
  });
  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a client (secret alone on the last stdout line), lists it, rotates and revokes it', async () => {
    const tenant = await run('tenant', ['create', '--name', 'acme']);
    expect(tenant.code, tenant.stderr).to.equal(0);
    const created = await run('token', ['client', 'create', '--name', 'entra', '--rights', 'scim_provisioning']);
    expect(created.code, created.stderr).to.equal(0);
    const lines = created.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^client_id=[0-9a-f-]{36}$/);
    expect(lines[lines.length - 1]).to.match(/^rsc_[A-Za-z0-9_-]{40,}$/);
    const id = lines[0].slice('client_id='.length);

    const listed = await run('token', ['list', '--json']);
    const entry = (JSON.parse(listed.stdout) as { id: string; kind: string; name: string }[]).find((x) => x.id === id);
    expect(entry).to.include({ kind: 'oauth_client', name: 'entra' });
    expect(listed.stdout).to.not.include(lines[lines.length - 1]);

    const rotated = await run('token', ['client', 'rotate', '--id', id]);
    expect(rotated.code, rotated.stderr).to.equal(0);
    expect(rotated.stdout.trim().split('\n').pop()).to.match(/^rsc_/);

    const revoked = await run('token', ['client', 'revoke', '--id', id]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout.trim()).to.equal(`revoked client_id=${id}`);
    const after = JSON.parse((await run('token', ['list', '--json'])).stdout) as { id: string; revokedAt: string | null }[];
    expect(after.find((x) => x.id === id)?.revokedAt).to.be.a('string');

    expect((await run('token', ['client', 'rotate', '--id', 'nope'])).code).to.equal(2);
    expect((await run('token', ['client', 'rotate', '--id', id])).code).to.equal(1);
    expect((await run('token', ['client', 'create', '--name', 'x'])).code).to.equal(2);
  });

  it('`tenant delete` needs --yes, then deletes the tenant with its tokens', async () => {
    const made = await run('tenant', ['create', '--name', 'leaving']);
    const id = /id=([0-9a-f-]{36})/.exec(made.stdout)?.[1] as string;
    await run('token', ['create', '--name', 'x', '--rights', 'all', '--tenant', 'leaving']);
    const unsure = await run('tenant', ['delete', '--name', 'leaving']);
    expect(unsure.code).to.equal(2);
    expect(unsure.stderr).to.match(/cannot be undone: add --yes/);
    const gone = await run('tenant', ['delete', '--name', 'leaving', '--yes']);
    expect(gone.code, gone.stderr).to.equal(0);
    expect(gone.stdout.trim()).to.match(new RegExp(`^deleted id=${id} pid=\\d+ name=leaving$`));
    const left = JSON.parse((await run('tenant', ['list', '--json'])).stdout) as { id: string }[];
    expect(left.map((t) => t.id)).to.not.include(id);
    const tokens = JSON.parse((await run('token', ['list', '--json'])).stdout) as { tenantId: string }[];
    expect(tokens.filter((t) => t.tenantId === id)).to.deep.equal([]);
    expect((await run('tenant', ['delete', '--name', 'leaving', '--yes'])).code).to.equal(1);
  });

  it('writes token.created and token.revoked events with no actor, as the HTTP API writes them with its caller', async () => {
    const tenant = await run('tenant', ['create', '--name', 'audited']);
    expect(tenant.code, tenant.stderr).to.equal(0);
    const tenantId = /id=([0-9a-f-]{36})/.exec(tenant.stdout)?.[1] as string;
    const created = await run('token', ['create', '--name', 'okta', '--rights', 'scim_provisioning', '--tenant', 'audited']);
    expect(created.code, created.stderr).to.equal(0);
    const tokenId = /created token id=([0-9a-f-]{36})/.exec(created.stderr)?.[1] as string;
    const secret = created.stdout.trim().split('\n').pop() as string;
    await run('token', ['create', '--name', 'twice', '--rights', 'audit_read', '--tenant', 'audited']);
    await run('token', ['create', '--name', 'twice', '--rights', 'audit_read', '--tenant', 'audited']);
    const client = await run('token', ['client', 'create', '--name', 'entra', '--rights', 'scim_provisioning', '--tenant', 'audited']);
    const clientId = client.stdout.trim().split('\n')[0].slice('client_id='.length);

    expect((await run('token', ['revoke', '--id', tokenId])).stdout.trim()).to.equal('revoked=1');
    expect((await run('token', ['revoke', '--id', tokenId])).stdout.trim()).to.equal('revoked=0');
    expect((await run('token', ['revoke', '--name', 'twice', '--tenant', 'audited'])).stdout.trim()).to.equal('revoked=2');
    expect((await run('token', ['client', 'revoke', '--id', clientId])).code).to.equal(0);
    expect((await run('token', ['client', 'revoke', '--id', tokenId])).code, 'a token is not a client').to.equal(1);

    const db = createDb({ kind: 'pglite', dir, vacuumIntervalSeconds: 0 });
    try {
      const events = await findAuditEvents(db, tenantId);
      expect(events.map((e) => e.action)).to.deep.equal(['token.created', 'token.created', 'token.created', 'token.created', 'token.revoked', 'token.revoked', 'token.revoked', 'token.revoked']);
      expect(events.every((e) => e.resource_type === 'token' && e.actor_token_id === null)).to.equal(true);
      expect(events[0]).to.include({ resource_id: tokenId });
      expect(events[4]).to.include({ resource_id: tokenId });
      expect(events[7]).to.include({ resource_id: clientId });
      expect((events[4].after as { revokedAt: unknown }).revokedAt).to.be.a('string');
      expect(JSON.stringify(events)).to.not.include(secret);
    } finally {
      await db.destroy();
    }
  });
});
