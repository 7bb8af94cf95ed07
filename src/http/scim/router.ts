import { Router, type NextFunction, type Request, type Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import { bulkHandler } from './bulk';
import { discoveryHandlers as d } from './discovery.handlers';
import { ScimError } from './errors';
import { groupsHandlers } from './groups.handlers';
import { rootSearchHandler } from './search.handlers';
import { usersHandlers } from './users.handlers';

/** /Me is the acting user of the token; a token that acts as no user gets 501 (RFC 7644 §3.11). */
function requireActingUser(req: Request, _res: Response, next: NextFunction): void {
  if (!principalOf(req).userId) throw new ScimError(501, undefined, 'this token does not act as a user, so /Me is not available');
  next();
}

/** SCIM 2.0 route table, mounted at /scim/v2 (rights live in spec/openapi.yaml). */
export function scimRouter(services: Services): Router {
  const users = usersHandlers(services);
  const groups = groupsHandlers(services);
  const r = Router();
  r.get('/ServiceProviderConfig', d.config);
  r.get('/ResourceTypes', d.resourceTypes);
  r.get('/ResourceTypes/:id', d.resourceType);
  r.get('/Schemas', d.schemas);
  r.get('/Schemas/:id', d.schema);

  r.get('/Users', users.list);
  r.post('/Users', users.create);
  r.post('/Users/.search', users.search);
  r.get('/Users/:id', users.get);
  r.put('/Users/:id', users.replace);
  r.patch('/Users/:id', users.patch);
  r.delete('/Users/:id', users.remove);

  r.get('/Groups', groups.list);
  r.post('/Groups', groups.create);
  r.post('/Groups/.search', groups.search);
  r.get('/Groups/:id', groups.get);
  r.put('/Groups/:id', groups.replace);
  r.patch('/Groups/:id', groups.patch);
  r.delete('/Groups/:id', groups.remove);

  r.get('/Me', requireActingUser, users.get);
  r.put('/Me', requireActingUser, users.replace);
  r.patch('/Me', requireActingUser, users.patch);
  r.delete('/Me', requireActingUser, users.remove);
  r.post('/Me', () => {
    throw new ScimError(501, undefined, 'creating a resource through /Me is not supported');
  });

  r.post('/.search', rootSearchHandler(services));
  r.post('/Bulk', bulkHandler(services));
  return r;
}
