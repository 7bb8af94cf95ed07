import type { Executor } from '../../db/transaction';

export interface AuditEvent {
  tenantId: string;
  actorTokenId: string | null;
  actorUserId: string | null;
  action: string;
  resourceType: 'group' | 'user' | 'membership' | 'tenant' | 'token';
  resourceId: string;
  before?: unknown;
  after?: unknown;
}

/** Appends one change to the audit log; always called inside the change's own transaction. */
export async function insertAuditEvent(db: Executor, event: AuditEvent): Promise<void> {
  await db('audit_events').insert({
    tenant_id: event.tenantId,
    actor_token_id: event.actorTokenId,
    actor_user_id: event.actorUserId,
    action: event.action,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    before: event.before === undefined ? null : JSON.stringify(event.before),
    after: event.after === undefined ? null : JSON.stringify(event.after),
  });
}

export interface AuditRow {
  id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  before: unknown;
  after: unknown;
  actor_token_id: string | null;
  created_at: Date;
}

/** The tenant's events in order, for tests and the change feed. */
export async function findAuditEvents(db: Executor, tenantId: string, limit = 100): Promise<AuditRow[]> {
  return db('audit_events').where({ tenant_id: tenantId }).orderBy('id', 'asc').limit(limit);
}
