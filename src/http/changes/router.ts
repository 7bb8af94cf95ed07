import { Router } from 'express';
import type { ChangesService } from '../../domain/audit/changes.service';
import { changesHandlers } from './changes.handlers';

/** The change feed at /api/v2/changes (rights in spec/openapi.yaml; errors in the v2 shape). */
export function changesRouter(changes: ChangesService): Router {
  const h = changesHandlers(changes);
  const r = Router();
  r.get('/', h.list);
  return r;
}
