import type { ChangeRow } from '../../domain/audit/changes.repository';
import { cursorOf, type ChangePage } from '../../domain/audit/changes.service';

const BASE = '/api/v2/changes';

/** One audit event as the feed shows it. */
export function presentChange(c: ChangeRow) {
  return {
    id: c.id,
    cursor: cursorOf(c),
    action: c.action,
    resourceType: c.resourceType,
    resourceId: c.resourceId,
    actor: { tokenId: c.actorTokenId, userId: c.actorUserId },
    before: c.before ?? null,
    after: c.after ?? null,
    timestamp: new Date(c.createdAt).toISOString(),
  };
}

/**
 * A page of the feed: `cursor` is where to resume (`after=`), `nextUri` the request that does it
 * (with the same filters). A short page means the consumer is up to date for now.
 */
export function presentChangePage(page: ChangePage, q: { limit: number; resourceType?: string; resourceId?: string }) {
  const params = (after?: string) => {
    const sp = new URLSearchParams();
    if (after !== undefined) sp.set('after', after);
    sp.set('limit', String(q.limit));
    if (q.resourceType) sp.set('resourceType', q.resourceType);
    if (q.resourceId) sp.set('resourceId', q.resourceId);
    return `${BASE}?${sp.toString()}`;
  };
  return {
    entities: page.changes.map(presentChange),
    pageSize: q.limit,
    ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
    selfUri: params(page.requestedAfter),
    nextUri: params(page.cursor),
  };
}
