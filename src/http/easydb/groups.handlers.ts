import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { BagsService } from '../../domain/bags/bags.service';
import type { BagView } from '../../domain/bags/bag';
import { InvalidInput } from '../../domain/errors';
import { sendJsonTextArray } from '../common/json-text';
import { bagInputOf } from './parse';
import { presentBag } from './present';

/** Groups read and written per batch when a list has no limit (and the most one `limit` asks for). */
export const BATCH_SIZE = 1000;

async function* texts(batches: AsyncIterable<BagView[]>): AsyncGenerator<string[]> {
  for await (const batch of batches) yield batch.map((v) => JSON.stringify(presentBag(v)));
}

/** The `<id>` path parameter: a positive integer, anything else is an API error. */
function idOf(req: Request): number {
  const raw = String(req.params.id);
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) <= 0) {
    throw new InvalidInput(`the group id must be a positive integer, got "${raw}"`, { field: 'id' });
  }
  return Number(raw);
}

/** Handlers for /api/v1/group: parse → core → present. Every answer is an array of groups. */
export function bagHandlers(bags: BagsService) {
  return {
    /** Without `limit`, every readable group (from `offset`), streamed a batch at a time. */
    async list(req: Request, res: Response) {
      const offset = Number(req.query.offset ?? 0);
      if (req.query.limit === undefined) {
        await sendJsonTextArray(res, 200, texts(bags.allBags(principalOf(req), offset, BATCH_SIZE)), 'application/json');
        return;
      }
      res.json((await bags.listBags(principalOf(req), { offset, limit: Number(req.query.limit) })).map(presentBag));
    },

    async get(req: Request, res: Response) {
      res.json((await bags.getBag(principalOf(req), idOf(req))).map(presentBag));
    },

    /** PUT creates. */
    async create(req: Request, res: Response) {
      const inputs = (req.body as Record<string, unknown>[]).map(bagInputOf);
      res.json((await bags.createBags(principalOf(req), inputs)).map(presentBag));
    },

    /** POST updates. */
    async update(req: Request, res: Response) {
      const inputs = (req.body as Record<string, unknown>[]).map(bagInputOf);
      res.json((await bags.updateBags(principalOf(req), inputs)).map(presentBag));
    },

    async remove(req: Request, res: Response) {
      await bags.deleteBag(principalOf(req), idOf(req));
      res.json({});
    },
  };
}
