import type { Config } from './config';
import type { Db } from './db/knex';
import { groupsService } from './domain/groups/groups.service';
import { groupDirectoryService } from './domain/memberships/group-directory.service';
import { membershipService } from './domain/memberships/membership.service';
import { oauthService } from './domain/oauth/oauth.service';
import { tenantsService } from './domain/tenants/tenants.service';
import { tokenAdminService } from './domain/tokens/token-admin.service';
import { tokensService } from './domain/tokens/tokens.service';
import { usersService } from './domain/users/users.service';

/** Composition root: the database and the services built on it. No DI framework. */
export function buildServices(db: Db, opts: { oauthTokenTtlSeconds?: number } = {}) {
  return {
    oauth: oauthService(db, opts.oauthTokenTtlSeconds ?? 3600),
    tenants: tenantsService(db),
    tokens: tokensService(db),
    /** Token lifecycle with audit events: `/api/v2/tokens` and the `token` command. */
    tokenAdmin: tokenAdminService(db, opts.oauthTokenTtlSeconds ?? 3600),
    groups: groupsService(db),
    users: usersService(db),
    memberships: membershipService(db),
    groupDirectory: groupDirectoryService(db),
  };
}

export type Services = ReturnType<typeof buildServices>;

export interface Deps {
  config: Config;
  db: Db;
  services: Services;
}

export function buildDeps(config: Config, db: Db): Deps {
  return { config, db, services: buildServices(db, { oauthTokenTtlSeconds: config.oauthTokenTtlSeconds }) };
}
