import type { Knex } from 'knex';

/**
 * ACL entries name their subject polymorphically (`who_kind`, `who_id`), and a group's owner may
 * be a user (`owner_user_id`), so no foreign key can clean up after a deleted user or group. These
 * triggers do, whichever dialect deleted it: a deleted user's ACL entries go and the groups it
 * owned lose their owner; a deleted group's entries in other groups' ACLs go. Set-based, by index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX groups_owner_user_idx ON groups (tenant_id, owner_user_id) WHERE owner_user_id IS NOT NULL');
  await knex.raw(`
    CREATE FUNCTION roster_forget_deleted_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM group_acl WHERE tenant_id = OLD.tenant_id AND who_kind = 'user' AND who_id = OLD.id;
      UPDATE groups SET owner_user_id = NULL WHERE tenant_id = OLD.tenant_id AND owner_user_id = OLD.id;
      RETURN NULL;
    END $$`);
  await knex.raw(`
    CREATE FUNCTION roster_forget_deleted_group() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM group_acl WHERE tenant_id = OLD.tenant_id AND who_kind = 'group' AND who_id = OLD.id;
      RETURN NULL;
    END $$`);
  await knex.raw('CREATE TRIGGER users_forget_deleted AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION roster_forget_deleted_user()');
  await knex.raw('CREATE TRIGGER groups_forget_deleted AFTER DELETE ON groups FOR EACH ROW EXECUTE FUNCTION roster_forget_deleted_group()');
  // What earlier deletes left behind.
  await knex.raw(`DELETE FROM group_acl a WHERE a.who_kind = 'user' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = a.tenant_id AND u.id = a.who_id)`);
  await knex.raw(`DELETE FROM group_acl a WHERE a.who_kind = 'group' AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = a.tenant_id AND g.id = a.who_id)`);
  await knex.raw(`UPDATE groups g SET owner_user_id = NULL WHERE g.owner_user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = g.tenant_id AND u.id = g.owner_user_id)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS groups_forget_deleted ON groups');
  await knex.raw('DROP TRIGGER IF EXISTS users_forget_deleted ON users');
  await knex.raw('DROP FUNCTION IF EXISTS roster_forget_deleted_group()');
  await knex.raw('DROP FUNCTION IF EXISTS roster_forget_deleted_user()');
  await knex.raw('DROP INDEX IF EXISTS groups_owner_user_idx');
}
