import type { TokenRecord } from '../../domain/tokens/token';

const BASE = '/api/v2/tokens';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : undefined);

/** revoked and expired are for good; suspended lasts while the user the token acts as is deactivated. */
function stateOf(t: TokenRecord): 'active' | 'revoked' | 'expired' | 'suspended' {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return 'expired';
  if (t.userActive === false) return 'suspended';
  return 'active';
}

/** A token or OAuth client as the admin API shows it: never its secret or hash. */
export function presentToken(t: TokenRecord) {
  const dates = { dateLastUsed: iso(t.lastUsedAt), dateExpires: iso(t.expiresAt), dateRevoked: iso(t.revokedAt) };
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    rights: t.rights,
    ...(t.userId ? { userId: t.userId } : {}),
    state: stateOf(t),
    dateCreated: iso(t.createdAt) as string,
    ...Object.fromEntries(Object.entries(dates).filter(([, v]) => v !== undefined)),
    selfUri: `${BASE}/${t.id}`,
  };
}

/** The v2 entity listing envelope around a page of tokens. */
export function presentTokenListing(items: TokenRecord[], total: number, page: { pageSize: number; pageNumber: number }) {
  const pageCount = Math.ceil(total / page.pageSize);
  const uri = (n: number) => `${BASE}?pageSize=${page.pageSize}&pageNumber=${n}`;
  return {
    entities: items.map(presentToken),
    pageSize: page.pageSize,
    pageNumber: page.pageNumber,
    total,
    pageCount,
    firstUri: uri(1),
    selfUri: uri(page.pageNumber),
    ...(page.pageNumber < pageCount ? { nextUri: uri(page.pageNumber + 1) } : {}),
    ...(page.pageNumber > 1 ? { previousUri: uri(Math.min(page.pageNumber - 1, Math.max(pageCount, 1))) } : {}),
    lastUri: uri(Math.max(pageCount, 1)),
  };
}
