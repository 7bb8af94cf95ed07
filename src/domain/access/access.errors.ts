import { DomainError, Forbidden, InvalidInput } from '../errors';

/**
 * Errors of the rights model (system rights, bag ACLs, owners). They extend the generic domain
 * errors so every dialect can render them; the bag dialect maps each to its own named error.
 */

/** The caller lacks a system right (easydb "No System Right"); `extraInfo` names a missing parameter. */
export class NoSystemRight extends Forbidden {
  constructor(readonly right: string, readonly extraInfo?: string) {
    super(`this needs the system right ${right}${extraInfo ? ` with ${extraInfo}` : ''}`, [right]);
  }
}

/** The caller lacks an object right on a group (easydb "Insufficient Rights"). */
export class InsufficientRights extends Forbidden {
  constructor(readonly operation: 'read' | 'update' | 'delete', readonly right: string, readonly ids: number[]) {
    super(`this needs the ${right} right on group ${ids.join(', ')}`, [right]);
  }
}

/** A right named in an ACL or a system rights specification is not in the catalogue. */
export class RightNotFound extends InvalidInput {
  constructor(readonly right: string) {
    super(`unknown right "${right}"`, { right });
  }
}

/** system.user.create_new with type "custom_type" needs a custom_type. */
export class CustomTypeRequired extends InvalidInput {
  constructor() {
    super('system.user.create_new with type "custom_type" needs a "custom_type"');
  }
}

/** A new group's owner is always its creator; naming someone else is refused. */
export class ChangeOwnerOnCreation extends InvalidInput {
  constructor() {
    super('a new group is owned by its creator; a different _owner cannot be set on creation');
  }
}

/** A system group cannot be deleted. */
export class SystemGroupUndeletable extends DomainError {
  readonly code = 'conflict';
  constructor(readonly groupSeq: number) {
    super('a system group cannot be deleted', { groupId: groupSeq });
  }
}

/** The group is still named by another group's ACL or owner, so deleting it is refused. */
export class GroupStillReferenced extends DomainError {
  readonly code = 'conflict';
  constructor(readonly groupSeq: number, readonly by: number[]) {
    super(`group ${groupSeq} is still referenced by group ${by.join(', ')} (ACL entry or owner)`, { groupId: groupSeq, referencedBy: by });
  }
}
