import type { Knex } from 'knex';

/**
 * Every instance caches verified tokens for a few seconds (src/domain/tokens/token-cache.ts).
 * These triggers announce each change that can end a token's validity — revocation, expiry,
 * rights, deletion (a session ending, a tenant removed) — on the `roster_token_changes` channel,
 * with the token's id as payload. NOTIFY is transactional: it is delivered when the revoking
 * transaction commits, whatever path made the change (CLI, admin API, OAuth, plain SQL).
 * `last_used_at` updates do not notify.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION roster_notify_token_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('roster_token_changes', OLD.id::text);
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER api_tokens_notify_update
      AFTER UPDATE OF revoked_at, expires_at, rights, user_id, tenant_id, kind, token_hash ON api_tokens
      FOR EACH ROW
      WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.rights IS DISTINCT FROM NEW.rights OR OLD.user_id IS DISTINCT FROM NEW.user_id
        OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.kind IS DISTINCT FROM NEW.kind
        OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
      EXECUTE FUNCTION roster_notify_token_change()`);
  await knex.raw('CREATE TRIGGER api_tokens_notify_delete AFTER DELETE ON api_tokens FOR EACH ROW EXECUTE FUNCTION roster_notify_token_change()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER api_tokens_notify_delete ON api_tokens');
  await knex.raw('DROP TRIGGER api_tokens_notify_update ON api_tokens');
  await knex.raw('DROP FUNCTION roster_notify_token_change()');
}
