import { Router } from 'express';
import type { Deps } from '../../container';
import { directoryService } from '../../domain/directory/directory.service';
import { permissionsService } from '../../domain/permissions/permissions.service';
import { v1Handlers } from './groups.handlers';

function handlers(deps: Deps) {
  return v1Handlers(directoryService(deps.db), permissionsService(deps.db));
}

/** Groups v1 route table, mounted at /api/v1/groups (rights live in spec/openapi.yaml). */
export function v1GroupsRouter(deps: Deps): Router {
  const h = handlers(deps);
  const r = Router();
  r.get('/', h.list);
  r.post('/', h.create);
  r.delete('/bulk-delete', h.bulkDelete);
  r.get('/:groupId', h.get);
  r.put('/:groupId', h.update);
  r.delete('/:groupId', h.remove);
  r.get('/:groupId/permissions', h.listPermissions);
  r.put('/:groupId/permissions', h.setPermissions);
  return r;
}

/** The effective-permissions question, mounted at /api/v1/permissions. */
export function v1PermissionsRouter(deps: Deps): Router {
  const h = handlers(deps);
  const r = Router();
  r.get('/effective', h.effective);
  return r;
}
