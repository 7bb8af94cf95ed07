import type { FieldMap, ScalarField } from '../../db/criteria-sql';

/**
 * Filterable and sortable group attributes (SQL over `groups` aliased `g`), keyed by lower-cased
 * canonical path. SCIM names (displayName, members) and Groups v2 names (name, dateModified …)
 * both resolve here.
 */
const col = (sql: string, type: ScalarField['type'], caseExact = false): ScalarField => ({ kind: 'scalar', sql, type, caseExact });

export const groupFields: FieldMap = {
  id: col('g.id', 'uuid', true),
  externalid: col('g.external_id', 'string', true),
  displayname: col('g.name', 'string'),
  name: col('g.name', 'string'),
  description: col('g.description', 'string'),
  type: col('g.type', 'string'),
  visibility: col('g.visibility', 'string'),
  state: col('g.state', 'string'),
  rulesvisible: col('g.rules_visible', 'boolean'),
  membercount: col('g.member_count', 'number'),
  version: col('g.version', 'number'),
  datemodified: col('g.updated_at', 'datetime'),
  datecreated: col('g.created_at', 'datetime'),
  'meta.created': col('g.created_at', 'datetime'),
  'meta.lastmodified': col('g.updated_at', 'datetime'),
  'meta.resourcetype': col("'Group'", 'string', true),
  members: {
    kind: 'multi',
    defaultSub: 'value',
    sub: {
      value: col('gm.member_id', 'uuid', true),
      type: col("CASE gm.member_kind WHEN 'user' THEN 'User' ELSE 'Group' END", 'string'),
    },
    exists: (where) => `EXISTS (SELECT 1 FROM group_members gm WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id AND ${where})`,
  },
  ownerids: {
    kind: 'multi',
    defaultSub: 'value',
    sub: { value: col('go.user_id', 'uuid', true) },
    exists: (where) => `EXISTS (SELECT 1 FROM group_owners go WHERE go.tenant_id = g.tenant_id AND go.group_id = g.id AND ${where})`,
  },
};
