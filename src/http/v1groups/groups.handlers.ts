import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { DirectoryService } from '../../domain/directory/directory.service';
import { InvalidInput, NotFound } from '../../domain/errors';
import type { GroupChanges } from '../../domain/groups/group';
import { GroupInaccessible, type PermissionsService } from '../../domain/permissions/permissions.service';
import { sendJsonText, sendJsonTextArray } from '../common/json-text';
import { presentEffective, presentPermission, v1GroupText } from './present';

export const DEFAULT_PAGE_SIZE = 500;

/** A v1 group id: a positive integer (`seq`); anything else names no group. */
function seqOf(raw: unknown): number | undefined {
  const text = String(raw);
  return /^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) > 0 ? Number(text) : undefined;
}

/** The writable fields of a v1 body, in the core's names (absent fields stay as they are). */
function changesOf(body: Record<string, unknown>): GroupChanges {
  const out: GroupChanges = {};
  if (body.name !== undefined) out.name = body.name as string;
  if (body.description !== undefined) out.description = body.description as string | null;
  if (body.wildcards !== undefined) out.wildcards = body.wildcards as string[];
  return out;
}

/** Each chunk's groups as v1 texts. */
async function* texts<T>(chunks: AsyncIterable<T[]>, text: (item: T) => string): AsyncGenerator<string[]> {
  for await (const chunk of chunks) yield chunk.map(text);
}

/** Handlers for /api/v1/groups and /api/v1/permissions: parse → core → present. */
export function v1Handlers(directory: DirectoryService, permissions: PermissionsService) {
  async function groupOf(req: Request) {
    const seq = seqOf(req.params.groupId);
    if (seq === undefined) throw new NotFound('group', String(req.params.groupId));
    const [group] = await directory.groupsBySeqs(principalOf(req), [seq]);
    return group;
  }

  /**
   * Sends the group in the v1 shape, its members included (v1GroupText), as it is now; one
   * deleted meanwhile (a concurrent DELETE) is a 404, as any unknown id.
   */
  async function sendGroup(req: Request, res: Response, status: number, group: { id: string; seq: number }) {
    const page = await directory.summaries(principalOf(req), { offset: 0, limit: 1, ids: [group.id] });
    const [summary] = page.items;
    if (!summary) throw new NotFound('group', String(group.seq));
    sendJsonText(res, status, v1GroupText(page.pid, summary), 'application/json');
  }

  function checkGroupIdMatches(req: Request, seq: number) {
    const given = req.body.groupId;
    if (given !== undefined && given !== null && Number(given) !== seq) {
      throw new InvalidInput(`groupId ${given} in the body does not match ${seq} in the path`, { field: 'groupId' });
    }
  }

  return {
    async list(req: Request, res: Response) {
      const page = Number(req.query.page ?? 0);
      const pageSize = Number(req.query.pageSize ?? DEFAULT_PAGE_SIZE);
      const { pid, total, chunks } = await directory.summaryList(principalOf(req), { offset: page * pageSize, limit: pageSize });
      res.set('X-Total-Count', String(total));
      await sendJsonTextArray(res, 200, texts(chunks, (g) => v1GroupText(pid, g)), 'application/json');
    },

    async create(req: Request, res: Response) {
      const p = principalOf(req);
      const users = req.body.users === undefined ? undefined : await directory.userIdsOf(p, req.body.users);
      const group = await directory.createGroup(p, { ...changesOf(req.body), name: req.body.name }, users);
      await sendGroup(req, res, 201, group);
    },

    async get(req: Request, res: Response) {
      await sendGroup(req, res, 200, await groupOf(req));
    },

    async update(req: Request, res: Response) {
      const p = principalOf(req);
      const group = await groupOf(req);
      checkGroupIdMatches(req, group.seq);
      const users = req.body.users === undefined ? undefined : await directory.userIdsOf(p, req.body.users);
      await directory.updateGroup(p, group.id, changesOf(req.body), users);
      await sendGroup(req, res, 200, group);
    },

    async remove(req: Request, res: Response) {
      await directory.removeGroups(principalOf(req), [await groupOf(req)], 'refuse');
      res.status(204).end();
    },

    async bulkDelete(req: Request, res: Response) {
      const ids = req.body as unknown[];
      const seqs = ids.map((id) => {
        const seq = seqOf(id);
        if (seq === undefined) throw new InvalidInput(`${JSON.stringify(id)} is not a group id`, { field: 'groupId' });
        return seq;
      });
      const p = principalOf(req);
      await directory.removeGroups(p, await directory.groupsBySeqs(p, seqs), 'refuse');
      res.status(204).end();
    },

    async listPermissions(req: Request, res: Response) {
      const seq = seqOf(req.params.groupId);
      if (seq === undefined) throw new GroupInaccessible(String(req.params.groupId));
      res.json((await permissions.listGroupPermissions(principalOf(req), seq)).map(presentPermission));
    },

    async setPermissions(req: Request, res: Response) {
      const seq = seqOf(req.params.groupId);
      if (seq === undefined) throw new GroupInaccessible(String(req.params.groupId));
      res.json((await permissions.setGroupPermissions(principalOf(req), seq, req.body)).map(presentPermission));
    },

    async effective(req: Request, res: Response) {
      const { userId, objectType, objectId } = req.query as Record<string, string>;
      res.json(presentEffective(await permissions.effectivePermissions(principalOf(req), userId, objectType, objectId)));
    },
  };
}
