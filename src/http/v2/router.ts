import { Router } from 'express';
import type { Services } from '../../container';
import { groupsHandlers } from './groups.handlers';
import { peopleHandlers } from './people.handlers';
import { profilesHandlers } from './profiles.handlers';
import { searchHandlers } from './search.handlers';

/** Groups v2 route table for /api/v2, one line per operation (rights live in spec/openapi.yaml). */
export function v2Router(services: Services): Router {
  const groups = groupsHandlers(services);
  const people = peopleHandlers(services);
  const profiles = profilesHandlers(services);
  const search = searchHandlers(services);
  const r = Router();
  r.get('/groups', groups.list);
  r.post('/groups', groups.create);
  r.put('/groups', groups.updateById);
  r.post('/groups/search', search.post);
  r.get('/groups/search', search.get);
  r.get('/groups/:groupId', groups.get);
  r.put('/groups/:groupId', groups.update);
  r.delete('/groups/:groupId', groups.remove);
  r.get('/groups/:groupId/members', people.members);
  r.post('/groups/:groupId/members', groups.addMembers);
  r.delete('/groups/:groupId/members', groups.removeMembers);
  r.get('/groups/:groupId/individuals', people.individuals);
  r.get('/groups/:groupId/profile', profiles.profile);
  r.get('/profiles/groups', profiles.listing);
  r.get('/fieldconfig', profiles.fieldConfig);
  return r;
}

/** Document 004's /v2/groups route table (list, get by uuid, create, PATCH, delete). */
export function v2UuidRouter(services: Services): Router {
  const groups = groupsHandlers(services);
  const r = Router();
  r.get('/groups', groups.list);
  r.post('/groups', groups.create);
  r.get('/groups/:groupId', groups.get);
  r.patch('/groups/:groupId', groups.patch);
  r.delete('/groups/:groupId', groups.remove);
  return r;
}
