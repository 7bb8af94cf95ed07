import { Router } from 'express';
import type { Deps } from '../../container';
import { bagsService } from '../../domain/bags/bags.service';
import { sessionsService } from '../../domain/sessions/sessions.service';
import { bagHandlers } from './groups.handlers';
import { sessionHandlers } from './session.handlers';

/** Group bag route table, mounted at /api/v1/group (rights are checked in the core, as the document says). */
export function easydbGroupRouter(deps: Deps): Router {
  const h = bagHandlers(bagsService(deps.db));
  const r = Router();
  r.get('/', h.list);
  r.put('/', h.create);
  r.post('/', h.update);
  r.get('/:id', h.get);
  r.delete('/:id', h.remove);
  return r;
}

/** Session route table, mounted at /api/v1/session. */
export function easydbSessionRouter(deps: Deps): Router {
  const h = sessionHandlers(sessionsService(deps.db));
  const r = Router();
  r.get('/', h.get);
  r.post('/authenticate', h.authenticate);
  r.post('/deauthenticate', h.deauthenticate);
  return r;
}
