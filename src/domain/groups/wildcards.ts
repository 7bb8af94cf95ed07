import { or, type Criteria } from '../criteria';
import { InvalidInput } from '../errors';
import { ENTERPRISE_USER } from '../users/users.fields';
import { own } from '../own';

/**
 * Dynamic membership rules ("wildcards"), shared by Groups v2 and the v1 groups dialect.
 * A rule is `pattern` (matched against the user name) or `attribute:pattern`; in a pattern `*`
 * matches any run of characters and `?` one character, case-insensitively. A user matching any
 * rule of a group is a member of it, without a stored copy.
 *   "*@acme.com"   "email:*@acme.com"   "department:Sales*"   "title:*Engineer"
 */
export const WILDCARD_ATTRIBUTES: Record<string, string> = {
  username: 'userName',
  email: 'emails.value',
  emails: 'emails.value',
  displayname: 'displayName',
  externalid: 'externalId',
  title: 'title',
  usertype: 'userType',
  department: `${ENTERPRISE_USER}:department`,
  division: `${ENTERPRISE_USER}:division`,
  organization: `${ENTERPRISE_USER}:organization`,
  costcenter: `${ENTERPRISE_USER}:costCenter`,
};

export const MAX_WILDCARDS = 100;

/** Validates one rule; returns the criteria it stands for. */
export function wildcardCriteria(rule: string): Criteria {
  if (typeof rule !== 'string' || !rule.trim() || rule.length > 500) {
    throw new InvalidInput('a wildcard is a non-empty string of at most 500 characters', { field: 'wildcards' });
  }
  const m = /^([A-Za-z]+):(.+)$/.exec(rule);
  const attribute = m ? own(WILDCARD_ATTRIBUTES, m[1].toLowerCase()) : 'userName';
  if (attribute === undefined) {
    throw new InvalidInput(`unknown wildcard attribute "${m?.[1]}" (known: ${Object.keys(WILDCARD_ATTRIBUTES).join(', ')})`, { field: 'wildcards' });
  }
  return { op: 'cmp', field: attribute, cmp: 'glob', value: m ? m[2] : rule };
}

/** The criteria selecting every user any of the rules includes (`false` when there are none). */
export function wildcardsCriteria(rules: string[]): Criteria {
  if (rules.length > MAX_WILDCARDS) throw new InvalidInput(`at most ${MAX_WILDCARDS} wildcards per group`, { field: 'wildcards' });
  return rules.length ? or(...rules.map(wildcardCriteria)) : { op: 'false' };
}
