/**
 * `npm run token -- <command>`: issues, lists and revokes API tokens and OAuth clients. A new
 * token or client secret is printed once, alone on the last line of stdout; only its SHA-256 is
 * stored.
 */
import { parseArgs } from 'node:util';
import type { Services } from '../container';
import { InvalidInput, NotFound } from '../domain/errors';
import { isUuid } from '../domain/ids';
import { operatorIn } from '../domain/principal';
import { RIGHTS } from '../domain/rights';
import type { Tenant } from '../domain/tenants/tenants.service';
import { parseDuration } from '../domain/tokens/token';
import { DATABASE_HELP, formatDate, formatTable, info, out, runCli, UsageError, usageErrors, withServices } from './common';

const HELP = `Usage: npm run token -- <command> [options]

Commands:
  create --name <name> --rights <r1,r2|all> [--tenant <name|id>] [--expires <n>{s,m,h,d,w}]
         [--user <user-id>]
      Issue a token. The token is printed once, alone on the last line of stdout; its id and
      details go to stderr. Capture it with:
        TOKEN=$(npm run -s token -- create --name okta --rights scim_provisioning)
      --rights   comma-separated, repeatable; "all" grants every right. Known rights:
                 ${RIGHTS.join(', ')}
      --expires  lifetime, e.g. 90d, 12h, 2w (default: never expires)
      --user     the id of a user of the tenant the token acts as (default: none)

  list [--tenant <name|id>] [--json]
      One line per token or OAuth client: id, tenant, kind, name, rights, created, last used,
      expires, revoked. Never shows a secret.

  revoke --id <token-id> [--tenant <name|id>]
  revoke --name <name> [--tenant <name|id>]
      Revoke one token by id, or every live token with that name in the tenant.
      Prints: revoked=<count> (0 when nothing live matched; the exit code is still 0).

  client create --name <name> --rights <r1,r2|all> [--tenant <name|id>]
      Register an OAuth 2.0 client (client credentials grant at /oauth/token). Prints
      client_id=<id> on stdout, then the client secret alone on the last line of stdout; the
      secret is shown only now.
        SECRET=$(npm run -s token -- client create --name entra --rights scim_provisioning | tail -n1)

  client rotate --id <client-id>
      Add a new secret (printed alone on the last line of stdout). The previous secret keeps
      working, so the identity provider can be switched over; older ones are revoked.

  client revoke --id <client-id>
      Revoke the client and every access token it obtained; effective on the next request.

--tenant defaults to the only tenant when there is exactly one.

Options:
  -h, --help   Show this help.

${DATABASE_HELP}
`;

/** The tenant named by --tenant, or the only tenant when none is named. */
async function resolveTenant(s: Services, ref: string | undefined): Promise<Tenant> {
  if (ref !== undefined) return s.tenants.getTenant(ref);
  const tenants = await s.tenants.listTenants();
  if (tenants.length === 1) return tenants[0];
  if (!tenants.length) throw new InvalidInput('there is no tenant yet: create one with "npm run tenant -- create --name <name>"');
  throw new UsageError(`--tenant is needed: there are ${tenants.length} tenants (${tenants.map((t) => t.name).join(', ')})`);
}

function noPositionals(positionals: string[]): void {
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        rights: { type: 'string', multiple: true },
        tenant: { type: 'string' },
        expires: { type: 'string' },
        user: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return out(HELP);
  noPositionals(positionals);
  const name = values.name?.trim();
  if (!name) throw new UsageError('create needs --name <name>');
  const rights = (values.rights ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  if (!rights.length) throw new UsageError(`create needs --rights (one or more of: ${RIGHTS.join(', ')}, or "all")`);
  let expiresInMs: number | undefined;
  if (values.expires !== undefined) {
    expiresInMs = parseDuration(values.expires);
    if (!expiresInMs) throw new UsageError(`--expires must be a positive number followed by s, m, h, d or w (e.g. 90d), got "${values.expires}"`);
  }
  const userId = values.user;
  if (userId !== undefined && !isUuid(userId)) throw new UsageError(`--user must be a user id (a UUID), got "${userId}"`);

  const { token, record, tenant } = await withServices(async (s) => {
    const tenant = await resolveTenant(s, values.tenant);
    const operator = operatorIn(tenant.id, RIGHTS);
    if (userId !== undefined) await s.users.getUser(operator, userId);
    const expiresInSeconds = expiresInMs === undefined ? undefined : expiresInMs / 1000;
    const { record, secret } = await s.tokenAdmin.createToken(operator, { kind: 'token', name, rights, userId, expiresInSeconds });
    return { tenant, record, token: secret };
  });
  info(
    `created token id=${record.id} tenant=${tenant.name} name=${record.name} rights=${record.rights.join(',')}` +
      ` expires=${formatDate(record.expiresAt)}${record.userId ? ` user=${record.userId}` : ''}`,
  );
  info('The token is shown only now; store it safely:');
  out(token);
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { tenant: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }),
  );
  if (values.help) return out(HELP);
  noPositionals(positionals);
  const { tokens, tenantNames } = await withServices(async (s) => {
    const tenantId = values.tenant === undefined ? undefined : (await s.tenants.getTenant(values.tenant)).id;
    const tenants = await s.tenants.listTenants();
    return { tokens: await s.tokens.listTokens(tenantId), tenantNames: new Map(tenants.map((t) => [t.id, t.name])) };
  });
  if (values.json) {
    return out(JSON.stringify(tokens.map((t) => ({ ...t, tenant: tenantNames.get(t.tenantId) ?? null }))));
  }
  if (!tokens.length) return info('no tokens');
  out(
    formatTable(
      ['ID', 'TENANT', 'KIND', 'NAME', 'RIGHTS', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'],
      tokens.map((t) => [
        t.id,
        tenantNames.get(t.tenantId) ?? t.tenantId,
        t.kind,
        t.name,
        t.rights.join(',') || '-',
        formatDate(t.createdAt),
        formatDate(t.lastUsedAt),
        formatDate(t.expiresAt),
        formatDate(t.revokedAt),
      ]),
    ),
  );
}

async function revoke(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { id: { type: 'string' }, name: { type: 'string' }, tenant: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }),
  );
  if (values.help) return out(HELP);
  noPositionals(positionals);
  const { id, name } = values;
  // CASE: the service revokes whatever matches, so an empty filter would revoke every token.
  if (id === undefined && !name) throw new UsageError('revoke needs --id <token-id> or --name <name>');
  if (id !== undefined && name !== undefined) throw new UsageError('give either --id or --name, not both');
  if (id !== undefined && !isUuid(id)) throw new UsageError(`--id must be a token id (a UUID), got "${id}"`);

  // Tokens and OAuth clients are revoked as their tenant's administrators revoke them (with a
  // `token.revoked` event in the change feed); anything else matching (a session, an access
  // token) is revoked as before.
  const count = await withServices(async (s) => {
    if (id !== undefined) {
      const tenantId = values.tenant === undefined ? undefined : (await s.tenants.getTenant(values.tenant)).id;
      const owner = await s.tokenAdmin.ownerOf(id);
      if (owner && (tenantId === undefined || owner.tenantId === tenantId)) {
        // A revoked client's leftover access tokens go too; only a live one counts as revoked now.
        await s.tokenAdmin.revokeToken(operatorIn(owner.tenantId, RIGHTS), id);
        return owner.live ? 1 : 0;
      }
      return s.tokens.revokeToken({ id, tenantId });
    }
    const tenant = await resolveTenant(s, values.tenant);
    const named = await s.tokenAdmin.liveIdsNamed(tenant.id, name as string);
    for (const one of named) await s.tokenAdmin.revokeToken(operatorIn(tenant.id, RIGHTS), one);
    return named.length + (await s.tokens.revokeToken({ tenantId: tenant.id, name }));
  });
  out(`revoked=${count}`);
  if (count === 0) info('no live token matched');
}

async function clientCreate(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { name: { type: 'string' }, rights: { type: 'string', multiple: true }, tenant: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }),
  );
  if (values.help) return out(HELP);
  noPositionals(positionals);
  const name = values.name?.trim();
  if (!name) throw new UsageError('client create needs --name <name>');
  const rights = (values.rights ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  if (!rights.length) throw new UsageError(`client create needs --rights (one or more of: ${RIGHTS.join(', ')}, or "all")`);
  const { clientId, clientSecret, tenant } = await withServices(async (s) => {
    const tenant = await resolveTenant(s, values.tenant);
    const { record, secret } = await s.tokenAdmin.createToken(operatorIn(tenant.id, RIGHTS), { kind: 'oauth_client', name, rights });
    return { tenant, clientId: record.id, clientSecret: secret };
  });
  info(`created OAuth client tenant=${tenant.name} name=${name} (token endpoint: POST /oauth/token, grant_type=client_credentials)`);
  out(`client_id=${clientId}`);
  info('The client secret is shown only now; store it safely:');
  out(clientSecret);
}

/** Parses `client rotate|revoke --id <uuid>`. */
function clientId(command: string, args: string[]): string | undefined {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, allowPositionals: true, options: { id: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }),
  );
  if (values.help) return undefined;
  noPositionals(positionals);
  if (values.id === undefined) throw new UsageError(`client ${command} needs --id <client-id>`);
  if (!isUuid(values.id)) throw new UsageError(`--id must be a client id (a UUID), got "${values.id}"`);
  return values.id;
}

async function client(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'create':
      return clientCreate(rest);
    case 'rotate': {
      const id = clientId('rotate', rest);
      if (!id) return out(HELP);
      const secret = await withServices((s) => s.oauth.rotateSecret(id));
      info(`rotated OAuth client ${id}: the previous secret still works, older ones are revoked. The new secret is shown only now:`);
      return out(secret);
    }
    case 'revoke': {
      const id = clientId('revoke', rest);
      if (!id) return out(HELP);
      await withServices(async (s) => {
        const owner = await s.tokenAdmin.ownerOf(id);
        if (owner?.kind !== 'oauth_client') throw new NotFound('oauth client', id);
        await s.tokenAdmin.revokeToken(operatorIn(owner.tenantId, RIGHTS), id);
      });
      return out(`revoked client_id=${id}`);
    }
    case undefined:
      throw new UsageError('client needs a command (create, rotate, revoke)');
    default:
      throw new UsageError(`unknown client command "${command}" (create, rotate, revoke)`);
  }
}

/** Dispatches `token <command> …`; --help prints usage. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('a command is needed (create, list, revoke, client)');
    case '-h':
    case '--help':
    case 'help':
      return out(HELP);
    case 'create':
      return create(rest);
    case 'list':
      return list(rest);
    case 'revoke':
      return revoke(rest);
    case 'client':
      return client(rest);
    default:
      throw new UsageError(`unknown command "${command}" (commands: create, list, revoke, client)`);
  }
}

if (require.main === module) runCli('token', main);
