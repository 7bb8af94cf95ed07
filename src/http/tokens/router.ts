import { Router } from 'express';
import type { TokenAdminService } from '../../domain/tokens/token-admin.service';
import { tokensHandlers } from './tokens.handlers';

/** Token lifecycle at /api/v2/tokens, one line per operation (rights in spec/openapi.yaml). */
export function tokensRouter(tokens: TokenAdminService): Router {
  const h = tokensHandlers(tokens);
  const r = Router();
  r.get('/', h.list);
  r.post('/', h.create);
  r.get('/:tokenId', h.get);
  r.delete('/:tokenId', h.revoke);
  return r;
}
