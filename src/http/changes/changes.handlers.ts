import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { ChangesService } from '../../domain/audit/changes.service';
import { presentChangePage } from './present';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** GET /api/v2/changes: the caller's tenant's audit events in commit order, after a cursor. */
export function changesHandlers(changes: ChangesService) {
  return {
    async list(req: Request, res: Response): Promise<void> {
      const q = {
        after: text(req.query.after),
        resourceType: text(req.query.resourceType),
        resourceId: text(req.query.resourceId),
        limit: req.query.limit === undefined ? 100 : Number(req.query.limit),
      };
      const page = await changes.listChanges(principalOf(req), q);
      res.json(presentChangePage(page, q));
    },
  };
}
