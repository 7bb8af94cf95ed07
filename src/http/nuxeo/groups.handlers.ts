import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import { RESERVED_PROPERTIES, type KeyedGroup, type KeyedGroupInput, type KeyedGroupsService } from '../../domain/directory/keyed-groups.service';
import { InvalidInput } from '../../domain/errors';
import { sendJsonText } from '../common/json-text';
import { groupEntityText } from './present';

const FETCHABLE = ['memberUsers', 'memberGroups', 'parentGroups'] as const;
type Fetchable = (typeof FETCHABLE)[number];

/** The fetch properties asked for: header `fetch.group` (or `X-NXfetch.group`) or query `fetch.group`. */
function fetched(req: Request): Set<Fetchable> {
  const raw = [req.get('fetch.group'), req.get('x-nxfetch.group'), req.query['fetch.group']].filter((v): v is string => typeof v === 'string');
  const names = raw.flatMap((v) => v.split(',')).map((s) => s.trim());
  return new Set(FETCHABLE.filter((f) => names.includes(f)));
}

/** The group id a body names: `id` as a string, or as an object { id } / { groupname }; else the deprecated `groupname`. */
function bodyId(body: Record<string, unknown>): string | undefined {
  const id = body.id as unknown;
  if (typeof id === 'string') return id;
  if (id && typeof id === 'object') {
    const obj = id as { id?: unknown; groupname?: unknown };
    const inner = obj.id ?? obj.groupname;
    if (typeof inner !== 'string') throw new InvalidInput('an object id must be { "id": "<group id>" } or { "groupname": "<group id>" }', { field: 'id' });
    return inner;
  }
  const props = (body.properties ?? {}) as Record<string, unknown>;
  const name = body.groupname ?? props.groupname;
  return typeof name === 'string' ? name : undefined;
}

function text(value: unknown, field: string): string | null | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value as string | null | undefined;
  throw new InvalidInput(`${field} must be a string`, { field });
}

/** A Nuxeo group entity → the core's input (properties: Nuxeo keys to columns, the rest kept as they are). */
function inputOf(body: Record<string, unknown>): KeyedGroupInput {
  const props = (body.properties ?? {}) as Record<string, unknown>;
  const label = text(props.grouplabel ?? body.grouplabel, 'grouplabel');
  const free = Object.fromEntries(Object.entries(props).filter(([k]) => !RESERVED_PROPERTIES.includes(k)));
  return {
    ...(label !== undefined || 'grouplabel' in props ? { label: label ?? null } : {}),
    ...('description' in props ? { description: text(props.description, 'description') ?? null } : {}),
    properties: free,
    memberUsers: body.memberUsers as string[] | undefined,
    memberGroups: body.memberGroups as string[] | undefined,
    parentGroups: body.parentGroups as string[] | undefined,
  };
}

/** Handlers for /group: parse → core → present. */
export function nuxeoHandlers(groups: KeyedGroupsService) {
  async function send(req: Request, res: Response, status: number, entity: KeyedGroup) {
    const relations = await groups.relations(principalOf(req), entity.group.id, fetched(req));
    sendJsonText(res, status, groupEntityText(entity, relations), 'application/json');
  }

  return {
    async create(req: Request, res: Response) {
      const id = bodyId(req.body);
      if (id === undefined) throw new InvalidInput('the group entity needs an id', { field: 'id' });
      await send(req, res, 201, await groups.createGroup(principalOf(req), id, inputOf(req.body)));
    },

    async get(req: Request, res: Response) {
      await send(req, res, 200, await groups.getGroup(principalOf(req), String(req.params.groupId)));
    },

    async update(req: Request, res: Response) {
      const path = String(req.params.groupId);
      const id = bodyId(req.body);
      // CASE: the document answers 500 for a body id that differs from the path; a clear 400 is better.
      if (id !== undefined && id !== path) {
        throw new InvalidInput(`the body id "${id}" differs from the id "${path}" in the path; a group id cannot be changed`, { field: 'id' });
      }
      await send(req, res, 200, await groups.updateGroup(principalOf(req), path, inputOf(req.body)));
    },

    async remove(req: Request, res: Response) {
      await groups.deleteGroup(principalOf(req), String(req.params.groupId));
      res.status(204).end();
    },

    async addUser(req: Request, res: Response) {
      await send(req, res, 201, await groups.changeUser(principalOf(req), String(req.params.groupId), String(req.params.userId), 'add'));
    },

    async removeUser(req: Request, res: Response) {
      await send(req, res, 200, await groups.changeUser(principalOf(req), String(req.params.groupId), String(req.params.userId), 'remove'));
    },
  };
}
