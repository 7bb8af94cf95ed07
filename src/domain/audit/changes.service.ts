import type { Db } from '../../db/knex';
import { InvalidInput } from '../errors';
import type { Principal } from '../principal';
import { deleteAuditCommitsBefore, deleteAuditEventsBefore, findChanges, type ChangeRow, type FeedPosition } from './changes.repository';

/** Largest page of the change feed. */
export const MAX_CHANGES_PAGE = 1000;

/** A cursor is `<commit>.<event>`: two positive integers that fit a bigint. */
const CURSOR = /^(\d{1,18})\.(\d{1,18})$/;

/** The cursor text of a position (what `after=` takes back). */
export const cursorOf = (p: FeedPosition): string => `${p.seq}.${p.id}`;

/** Parses a cursor; anything else is InvalidInput (never reaches SQL). */
export function parseCursor(text: string): FeedPosition {
  const m = CURSOR.exec(text);
  if (!m) throw new InvalidInput('after must be a cursor returned by this feed (e.g. "12.3456")', { field: 'after' });
  return { seq: m[1], id: m[2] };
}

export interface ChangePage {
  changes: ChangeRow[];
  /** Where to resume: the last change returned, or the given cursor when nothing is new. */
  cursor: string | undefined;
  /** The cursor this page was read after. */
  requestedAfter: string | undefined;
}

/** The tenant's change feed (audit events in commit order) and its retention. */
export function changesService(db: Db) {
  return {
    /** Changes of the caller's tenant after `after`, optionally of one resource type and/or id. */
    async listChanges(p: Principal, q: { after?: string; resourceType?: string; resourceId?: string; limit: number }): Promise<ChangePage> {
      const after = q.after === undefined ? undefined : parseCursor(q.after);
      const limit = Math.min(Math.max(1, q.limit), MAX_CHANGES_PAGE);
      const changes = await findChanges(db, p.tenantId, { after, resourceType: q.resourceType, resourceId: q.resourceId, limit });
      const last = changes[changes.length - 1];
      return { changes, cursor: last ? cursorOf(last) : q.after, requestedAfter: q.after };
    },

    /**
     * Deletes audit events (and their commit records) older than `retentionDays`, `batch` rows
     * per statement so no statement holds many locks for long; returns how many events went.
     */
    async pruneAuditEvents(retentionDays: number, batch = 1000): Promise<number> {
      if (retentionDays <= 0) return 0;
      const cutoff = new Date(Date.now() - retentionDays * 86_400_000);
      let total = 0;
      for (;;) {
        const n = await deleteAuditEventsBefore(db, cutoff, batch);
        total += n;
        if (n < batch) break;
      }
      while ((await deleteAuditCommitsBefore(db, cutoff, batch)) === batch);
      return total;
    },
  };
}

export type ChangesService = ReturnType<typeof changesService>;
