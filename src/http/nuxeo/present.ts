import type { GroupRelations, KeyedGroup } from '../../domain/directory/keyed-groups.service';

/**
 * Domain group → Nuxeo group entity. `properties` holds Nuxeo's keys (groupname = the id,
 * grouplabel = the name, description) and every free property the client stored; member lists
 * appear only when fetched.
 */
export function presentGroupEntity({ group, ref }: KeyedGroup, relations: GroupRelations = {}) {
  return {
    'entity-type': 'group',
    id: ref,
    properties: { ...group.properties, groupname: ref, grouplabel: group.name, description: group.description },
    ...relations,
  };
}
