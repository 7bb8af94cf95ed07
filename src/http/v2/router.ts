import { Router } from 'express';
import type { Services } from '../../container';
import { groupsHandlers } from './groups.handlers';

/** Groups v2 route table, one line per operation (rights live in spec/openapi.yaml). */
export function v2Router(services: Services): Router {
  const groups = groupsHandlers(services);
  const r = Router();
  r.get('/groups', groups.list);
  r.post('/groups', groups.create);
  r.get('/groups/:groupId', groups.get);
  r.put('/groups/:groupId', groups.update);
  r.delete('/groups/:groupId', groups.remove);
  r.post('/groups/:groupId/members', groups.addMembers);
  r.delete('/groups/:groupId/members', groups.removeMembers);
  return r;
}
