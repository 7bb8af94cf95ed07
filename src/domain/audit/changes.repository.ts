import type { Executor } from '../../db/transaction';

/** A position in a tenant's change feed: the commit's number, then the event id within it. */
export interface FeedPosition {
  seq: string;
  id: string;
}

export interface ChangeRow {
  seq: string;
  id: string;
  action: string;
  resourceType: string;
  resourceId: string;
  actorTokenId: string | null;
  actorUserId: string | null;
  before: unknown;
  after: unknown;
  createdAt: Date;
}

export interface ChangeQuery {
  after?: FeedPosition;
  resourceType?: string;
  resourceId?: string;
  limit: number;
}

interface Row {
  seq: string | number;
  id: string | number;
  action: string;
  resource_type: string;
  resource_id: string;
  actor_token_id: string | null;
  actor_user_id: string | null;
  before: unknown;
  after: unknown;
  created_at: Date;
}

/**
 * A tenant's committed audit events after `after`, in commit order (events of one transaction in
 * insertion order). Only committed transactions have an `audit_commits` row, and each snapshot
 * sees a gap-free prefix of them (see the migration), so resuming after the last row returned
 * never skips or repeats an event.
 */
export async function findChanges(db: Executor, tenantId: string, q: ChangeQuery): Promise<ChangeRow[]> {
  const query = db('audit_commits as c')
    .join('audit_events as e', (j) => j.on('e.tenant_id', '=', 'c.tenant_id').andOn('e.txid', '=', 'c.txid'))
    .where('c.tenant_id', tenantId)
    .select('c.seq', 'e.id', 'e.action', 'e.resource_type', 'e.resource_id', 'e.actor_token_id', 'e.actor_user_id', 'e.before', 'e.after', 'e.created_at')
    .orderBy([{ column: 'c.seq' }, { column: 'e.id' }])
    .limit(q.limit);
  if (q.after) query.whereRaw('(c.seq, e.id) > (?::bigint, ?::bigint)', [q.after.seq, q.after.id]);
  if (q.resourceType) query.where('e.resource_type', q.resourceType);
  if (q.resourceId) query.where('e.resource_id', q.resourceId);
  const rows: Row[] = await query;
  return rows.map((r) => ({
    seq: String(r.seq),
    id: String(r.id),
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    actorTokenId: r.actor_token_id,
    actorUserId: r.actor_user_id,
    before: r.before,
    after: r.after,
    createdAt: r.created_at,
  }));
}

/** Deletes up to `batch` audit events created before `cutoff`; returns how many went. */
export async function deleteAuditEventsBefore(db: Executor, cutoff: Date, batch: number): Promise<number> {
  const { rowCount } = (await db.raw(
    `DELETE FROM audit_events WHERE id IN (
       SELECT id FROM audit_events WHERE created_at < ? ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED)`,
    [cutoff, batch],
  )) as { rowCount: number };
  return rowCount ?? 0;
}

/** Deletes up to `batch` commit records created before `cutoff` (their events share the time). */
export async function deleteAuditCommitsBefore(db: Executor, cutoff: Date, batch: number): Promise<number> {
  const { rowCount } = (await db.raw(
    `DELETE FROM audit_commits WHERE (tenant_id, seq) IN (
       SELECT tenant_id, seq FROM audit_commits WHERE created_at < ? ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED)`,
    [cutoff, batch],
  )) as { rowCount: number };
  return rowCount ?? 0;
}
