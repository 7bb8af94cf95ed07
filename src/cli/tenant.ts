/**
 * `npm run tenant -- <command>`: creates, lists and deletes tenants. Tenants exist only through this
 * command (and the first-start bootstrap); the public API never creates them.
 */
import { parseArgs } from 'node:util';
import type { Tenant } from '../domain/tenants/tenants.service';
import { DATABASE_HELP, formatDate, formatTable, info, out, runCli, UsageError, usageErrors, withServices } from './common';

const HELP = `Usage: npm run tenant -- <command> [options]

Commands:
  create --name <name>   Create a tenant. Prints: id=<uuid> pid=<integer> name=<name>
                         A name is 1-63 letters, digits, ".", "_" or "-".
  list [--json]          One line per tenant: id, pid, name, created (oldest first).
  delete --name <name|id> --yes
                         Delete a tenant and everything it holds: users, groups, memberships,
                         tokens and OAuth clients (refused at once on every instance), sessions,
                         change feed. Cannot be undone; --yes says you mean it.

Options:
  -h, --help             Show this help.

${DATABASE_HELP}
`;

function describe(t: Tenant): string {
  return `id=${t.id} pid=${t.pid} name=${t.name}`;
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, allowPositionals: true, options: { name: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }),
  );
  if (values.help) return out(HELP);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const name = values.name;
  if (!name) throw new UsageError('create needs --name <name>');
  const tenant = await withServices((s) => s.tenants.createTenant(name));
  out(describe(tenant));
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }),
  );
  if (values.help) return out(HELP);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const tenants = await withServices((s) => s.tenants.listTenants());
  if (values.json) return out(JSON.stringify(tenants));
  if (!tenants.length) return info('no tenants');
  out(formatTable(['ID', 'PID', 'NAME', 'CREATED'], tenants.map((t) => [t.id, String(t.pid), t.name, formatDate(t.createdAt)])));
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args, allowPositionals: true, options: { name: { type: 'string' }, yes: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }),
  );
  if (values.help) return out(HELP);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const name = values.name;
  if (!name) throw new UsageError('delete needs --name <name or id>');
  if (!values.yes) throw new UsageError(`deleting tenant "${name}" deletes all its users, groups, tokens and change feed, and cannot be undone: add --yes`);
  const tenant = await withServices((s) => s.tenants.deleteTenant(name));
  out(`deleted ${describe(tenant)}`);
}

/** Dispatches `tenant <command> …`; --help prints usage. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('a command is needed (create, list, delete)');
    case '-h':
    case '--help':
    case 'help':
      return out(HELP);
    case 'create':
      return create(rest);
    case 'list':
      return list(rest);
    case 'delete':
      return remove(rest);
    default:
      throw new UsageError(`unknown command "${command}" (commands: create, list, delete)`);
  }
}

if (require.main === module) runCli('tenant', main);
