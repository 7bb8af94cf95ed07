import type { GroupRelations, KeyedGroup } from '../../domain/directory/keyed-groups.service';

/** Stands for `memberUsers` in the serialized entity until its text goes in (stored text never holds NUL). */
const MEMBER_USERS = '\u0000memberUsers\u0000';

/**
 * Domain group → Nuxeo group entity, as JSON text. `properties` holds Nuxeo's keys (groupname =
 * the id, grouplabel = the name, description) and every free property the client stored; member
 * lists appear only when fetched, `memberUsers` copied in as PostgreSQL wrote it.
 */
export function groupEntityText({ group, ref }: KeyedGroup, relations: GroupRelations = {}): string {
  const { memberUsersJson, ...groupLists } = relations;
  const text = JSON.stringify({
    'entity-type': 'group',
    id: ref,
    properties: { ...group.properties, groupname: ref, grouplabel: group.name, description: group.description },
    ...(memberUsersJson !== undefined ? { memberUsers: MEMBER_USERS } : {}),
    ...groupLists,
  });
  return memberUsersJson === undefined ? text : text.replace(JSON.stringify(MEMBER_USERS), () => memberUsersJson);
}
