/** Who is asking: the tenant the token belongs to, the token, its rights and the user it acts as. */
export interface Principal {
  readonly tenantId: string;
  readonly tokenId: string;
  readonly rights: ReadonlySet<string>;
  /** Set when the token acts as a user (sessions, user tokens). */
  readonly userId?: string;
  /** Set for the operator at the command line (operatorIn): no token, no user. */
  readonly operator?: true;
}

/** The acting identity recorded with each change: none for the operator. */
export function actorOf(p: Principal): { actorTokenId: string | null; actorUserId: string | null } {
  return p.operator ? { actorTokenId: null, actorUserId: null } : { actorTokenId: p.tokenId, actorUserId: p.userId ?? null };
}

/** The nil UUID: the operator holds no token, and no token row has this id. */
const NO_TOKEN = '00000000-0000-0000-0000-000000000000';

/**
 * The operator at the command line (`npm run token`), acting in one tenant with every right; its
 * changes are audit events like any other, recorded with no actor.
 */
export function operatorIn(tenantId: string, rights: readonly string[]): Principal {
  return { tenantId, tokenId: NO_TOKEN, rights: new Set(rights), operator: true };
}
