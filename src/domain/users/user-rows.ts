import type { User, UserSummary } from './user';
import { ENTERPRISE_USER } from './users.fields';

/** A `users` row as the statements read it (never the password hash), and its mapping to User. */
export interface UserRow {
  id: string;
  seq: string | number;
  tenant_id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The columns of a User. */
export const USER_COLUMNS = ['id', 'seq', 'tenant_id', 'user_name', 'external_id', 'display_name', 'active', 'resource', 'version', 'created_at', 'updated_at'];

export const toUser = (r: UserRow): User => ({
  id: r.id,
  seq: Number(r.seq),
  tenantId: r.tenant_id,
  userName: r.user_name,
  externalId: r.external_id,
  displayName: r.display_name,
  active: r.active,
  resource: r.resource,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface UserSummaryRow {
  id: string;
  user_name: string;
  display_name: string | null;
  email: string | null;
  title: string | null;
  department: string | null;
  active: boolean;
  version: number;
}

/** A non-empty string member of a profile object, as text (null otherwise). */
const profileText = (object: string, key: string) => `CASE WHEN jsonb_typeof(${object}->'${key}') = 'string' THEN nullif(${object}->>'${key}', '') END`;

/**
 * The select list of a UserSummaryRow over the `users` row `alias`. The primary email is the
 * first element of `emails` (an array) whose `primary` is true, else its first element; its
 * `value` when that is a string.
 */
export function userSummaryColumns(alias: string): string {
  const profile = `${alias}.resource`;
  const email = `(SELECT CASE WHEN jsonb_typeof(e.v->'value') = 'string' THEN e.v->>'value' END
                    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${profile}->'emails') = 'array' THEN ${profile}->'emails' END) WITH ORDINALITY AS e(v, i)
                   ORDER BY coalesce(e.v->'primary' = 'true'::jsonb, false) DESC, e.i
                   LIMIT 1)`;
  return [
    `${alias}.id`,
    `${alias}.user_name`,
    `${alias}.display_name`,
    `${email} AS email`,
    `${profileText(profile, 'title')} AS title`,
    `${profileText(`(${profile}->'${ENTERPRISE_USER}')`, 'department')} AS department`,
    `${alias}.active`,
    `${alias}.version`,
  ].join(', ');
}

export const toUserSummary = (r: UserSummaryRow): UserSummary => ({
  id: r.id,
  userName: r.user_name,
  displayName: r.display_name,
  ...(r.email !== null ? { email: r.email } : {}),
  ...(r.title !== null ? { title: r.title } : {}),
  ...(r.department !== null ? { department: r.department } : {}),
  active: r.active,
  version: r.version,
});
