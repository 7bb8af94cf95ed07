import type { FieldMap, MultiField, ScalarField } from '../../db/criteria-sql';

/**
 * Filterable and sortable user attributes (SQL over the `users` table aliased `u`). Keys are the
 * lower-cased canonical attribute paths: SCIM core names, and the enterprise extension's
 * attributes under its full URN. Used by the criteria compiler only.
 */
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const col = (sql: string, type: ScalarField['type'], caseExact = false): ScalarField => ({ kind: 'scalar', sql, type, caseExact });
const json = (sql: string, type: ScalarField['type'] = 'string', caseExact = false): ScalarField => ({ kind: 'scalar', sql, type, caseExact, json: true });

/** jsonb text of resource path segments: ['name','givenName'] → u.resource->'name'->>'givenName'. */
function jsonText(...segments: string[]): string {
  const quoted = segments.map((s) => `'${s.replace(/'/g, "''")}'`);
  const last = quoted.pop();
  return `u.resource${quoted.map((q) => `->${q}`).join('')}->>${last}`;
}

function multi(attr: string, subs: Record<string, ScalarField['type']>, caseExactValue = false): MultiField {
  const arr = `u.resource->'${attr}'`;
  const sub: Record<string, ScalarField> = {};
  for (const [name, type] of Object.entries(subs)) {
    sub[name.toLowerCase()] = json(`e.v->>'${name}'`, type, name === 'value' ? caseExactValue : false);
  }
  return {
    kind: 'multi',
    defaultSub: 'value',
    sub,
    exists: (where) =>
      `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${arr}) = 'array' THEN ${arr} ELSE '[]'::jsonb END) AS e(v) WHERE ${where})`,
  };
}

const plural = { value: 'string', display: 'string', type: 'string', primary: 'boolean' } as const;
const ent = ENTERPRISE_USER.toLowerCase();

export const userFields: FieldMap = {
  id: col('u.id', 'uuid', true),
  externalid: col('u.external_id', 'string', true),
  username: col('u.user_name', 'string'),
  displayname: col('u.display_name', 'string'),
  active: col('u.active', 'boolean'),
  'meta.created': col('u.created_at', 'datetime'),
  'meta.lastmodified': col('u.updated_at', 'datetime'),
  'meta.resourcetype': col("'User'", 'string', true),
  'meta.version': col("'W/\"' || u.version || '\"'", 'string', true),
  'name.formatted': json(jsonText('name', 'formatted')),
  'name.familyname': json(jsonText('name', 'familyName')),
  'name.givenname': json(jsonText('name', 'givenName')),
  'name.middlename': json(jsonText('name', 'middleName')),
  'name.honorificprefix': json(jsonText('name', 'honorificPrefix')),
  'name.honorificsuffix': json(jsonText('name', 'honorificSuffix')),
  nickname: json(jsonText('nickName')),
  profileurl: json(jsonText('profileUrl'), 'string', true),
  title: json(jsonText('title')),
  usertype: json(jsonText('userType')),
  preferredlanguage: json(jsonText('preferredLanguage')),
  locale: json(jsonText('locale')),
  timezone: json(jsonText('timezone')),
  emails: multi('emails', plural),
  phonenumbers: multi('phoneNumbers', plural),
  ims: multi('ims', plural),
  photos: multi('photos', plural, true),
  entitlements: multi('entitlements', plural),
  roles: multi('roles', plural),
  x509certificates: multi('x509Certificates', plural, true),
  addresses: multi('addresses', {
    formatted: 'string',
    streetAddress: 'string',
    locality: 'string',
    region: 'string',
    postalCode: 'string',
    country: 'string',
    type: 'string',
    primary: 'boolean',
  }),
  groups: {
    kind: 'multi',
    defaultSub: 'value',
    sub: {
      value: col('gm.group_id', 'uuid', true),
      type: col("'direct'", 'string'),
    },
    exists: (where) =>
      `EXISTS (SELECT 1 FROM group_members gm WHERE gm.tenant_id = u.tenant_id AND gm.member_kind = 'user' AND gm.member_id = u.id AND ${where})`,
  },
  [`${ent}:employeenumber`]: json(jsonText(ENTERPRISE_USER, 'employeeNumber')),
  [`${ent}:costcenter`]: json(jsonText(ENTERPRISE_USER, 'costCenter')),
  [`${ent}:organization`]: json(jsonText(ENTERPRISE_USER, 'organization')),
  [`${ent}:division`]: json(jsonText(ENTERPRISE_USER, 'division')),
  [`${ent}:department`]: json(jsonText(ENTERPRISE_USER, 'department')),
  [`${ent}:manager.value`]: json(`u.resource->'${ENTERPRISE_USER}'->'manager'->>'value'`, 'string', true),
  // CASE: Entra ID's "query users by manager" names the complex attribute itself: its value.
  [`${ent}:manager`]: json(`u.resource->'${ENTERPRISE_USER}'->'manager'->>'value'`, 'string', true),
  [`${ent}:manager.displayname`]: json(`u.resource->'${ENTERPRISE_USER}'->'manager'->>'displayName'`),
};
