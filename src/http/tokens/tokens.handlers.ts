import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { NewManagedToken, TokenAdminService } from '../../domain/tokens/token-admin.service';
import { presentToken, presentTokenListing } from './present';

/** /api/v2/tokens: the caller's tenant's tokens and OAuth clients (right `admin`). */
export function tokensHandlers(tokens: TokenAdminService) {
  return {
    async list(req: Request, res: Response): Promise<void> {
      const page = { pageSize: Number(req.query.pageSize ?? 25), pageNumber: Number(req.query.pageNumber ?? 1) };
      const { items, total } = await tokens.listTokens(principalOf(req), { offset: (page.pageNumber - 1) * page.pageSize, limit: page.pageSize });
      res.json(presentTokenListing(items, total, page));
    },

    async get(req: Request, res: Response): Promise<void> {
      res.json(presentToken(await tokens.getToken(principalOf(req), String(req.params.tokenId))));
    },

    /** The secret is in this response only: a bearer token, or an OAuth client's secret (its id is the client_id). */
    async create(req: Request, res: Response): Promise<void> {
      const body = req.body as { name: string; rights: string[]; kind?: NewManagedToken['kind']; userId?: string; expiresInSeconds?: number };
      const { record, secret } = await tokens.createToken(principalOf(req), {
        kind: body.kind ?? 'token',
        name: body.name,
        rights: body.rights,
        userId: body.userId,
        expiresInSeconds: body.expiresInSeconds,
      });
      res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
      res.json({ ...presentToken(record), secret });
    },

    async revoke(req: Request, res: Response): Promise<void> {
      await tokens.revokeToken(principalOf(req), String(req.params.tokenId));
      res.status(204).end();
    },
  };
}
