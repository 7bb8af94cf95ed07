/** Who is asking: the tenant the token belongs to, the token, its rights and the user it acts as. */
export interface Principal {
  readonly tenantId: string;
  readonly tokenId: string;
  readonly rights: ReadonlySet<string>;
  /** Set when the token acts as a user (sessions, user tokens). */
  readonly userId?: string;
}

/** The acting identity recorded with each change. */
export function actorOf(p: Principal): { actorTokenId: string; actorUserId: string | null } {
  return { actorTokenId: p.tokenId, actorUserId: p.userId ?? null };
}
