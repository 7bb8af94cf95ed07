import { Router } from 'express';
import type { Deps } from '../../container';
import { keyedGroupsService } from '../../domain/directory/keyed-groups.service';
import { nuxeoHandlers } from './groups.handlers';

/** Group entity route table, mounted at /group (rights live in spec/openapi.yaml). */
export function nuxeoRouter(deps: Deps): Router {
  const h = nuxeoHandlers(keyedGroupsService(deps.db));
  const r = Router();
  r.post('/', h.create);
  r.get('/:groupId', h.get);
  r.put('/:groupId', h.update);
  r.delete('/:groupId', h.remove);
  r.post('/:groupId/user/:userId', h.addUser);
  r.delete('/:groupId/user/:userId', h.removeUser);
  return r;
}
