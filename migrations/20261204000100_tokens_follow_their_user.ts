import type { Knex } from 'knex';

/**
 * A token that acts as a user (`user_id`) follows that user: it is refused while the user is
 * deactivated (checked where tokens are looked up, src/domain/tokens/tokens.repository.ts) and
 * revoked when the user is deleted — whichever dialect or statement deactivated or deleted it.
 * Both announce the tokens on `roster_token_changes` (migration 20261124000100), so no instance
 * keeps trusting a cached one: the revocation through the api_tokens trigger, a change of
 * `active` through the trigger below.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX api_tokens_user_idx ON api_tokens (tenant_id, user_id) WHERE user_id IS NOT NULL');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION roster_forget_deleted_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM group_acl WHERE tenant_id = OLD.tenant_id AND who_kind = 'user' AND who_id = OLD.id;
      UPDATE groups SET owner_user_id = NULL WHERE tenant_id = OLD.tenant_id AND owner_user_id = OLD.id;
      UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id AND revoked_at IS NULL;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION roster_notify_user_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('roster_token_changes', t.id::text)
         FROM api_tokens t WHERE t.tenant_id = NEW.tenant_id AND t.user_id = NEW.id AND t.revoked_at IS NULL;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER users_notify_tokens AFTER UPDATE OF active ON users
      FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active)
      EXECUTE FUNCTION roster_notify_user_tokens()`);
  // What earlier deletes left behind.
  await knex.raw(`UPDATE api_tokens t SET revoked_at = now()
                   WHERE t.user_id IS NOT NULL AND t.revoked_at IS NULL
                     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.tenant_id AND u.id = t.user_id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS users_notify_tokens ON users');
  await knex.raw('DROP FUNCTION IF EXISTS roster_notify_user_tokens()');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION roster_forget_deleted_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM group_acl WHERE tenant_id = OLD.tenant_id AND who_kind = 'user' AND who_id = OLD.id;
      UPDATE groups SET owner_user_id = NULL WHERE tenant_id = OLD.tenant_id AND owner_user_id = OLD.id;
      RETURN NULL;
    END $$`);
  await knex.raw('DROP INDEX IF EXISTS api_tokens_user_idx');
}
