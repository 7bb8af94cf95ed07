import type { Response } from 'express';
import type { MemberTemplates, MemberTextBatch } from '../../domain/memberships/member-reads.repository';
import { failStreaming, write } from '../common/json-text';
import { scimRefTemplate } from './present';
import { project, type JsonObject, type ProjectionPath } from './resource';

/**
 * SCIM member objects (`{"value","$ref","display","type"}`, `display` left out when there is none)
 * as the template PostgreSQL fills for each member of a streamed group.
 */
export function scimMemberTemplates(base: string): MemberTemplates {
  return { user: scimRefTemplate(base, 'Users', 'User'), group: scimRefTemplate(base, 'Groups', 'Group') };
}

/**
 * Stands for a group's `members` array in a document that {@link sendDocument} writes: the
 * members are read batch by batch as it writes, never built in memory. `attributes`/`excluded`
 * are the projection's paths below `members` (`members.value`, say), applied part by part.
 */
export class StreamedMembers {
  constructor(
    readonly batches: () => AsyncIterable<MemberTextBatch>,
    readonly attributes: ProjectionPath[] = [],
    readonly excluded: ProjectionPath[] = [],
  ) {}
}

/**
 * A projected group document whose members, when the projection shows them, are a
 * {@link StreamedMembers}. `resource` is presentGroup's output with an empty member list
 * (`presentGroup(g, base, true)`: the fields in their order), so the projection decides whether
 * `members` is there at all.
 */
export function withStreamedMembers(
  resource: JsonObject,
  batches: () => AsyncIterable<MemberTextBatch>,
  attributes?: ProjectionPath[],
  excluded?: ProjectionPath[],
): JsonObject {
  const doc = project(resource, attributes, excluded);
  if (!Array.isArray(doc.members)) return doc;
  const below = (paths: ProjectionPath[] | undefined) => (paths ?? []).filter((p) => p.top === 'members' && p.sub !== undefined);
  return { ...doc, members: new StreamedMembers(batches, below(attributes), below(excluded)) as never };
}

/** Sentinel for a StreamedMembers in the serialized document (stored text never holds NUL). */
const MARK = /"\\u0000(\d+)\\u0000"/;

/**
 * Sends a SCIM document (a resource or a ListResponse) whose member arrays may be
 * {@link StreamedMembers}: without any it is `res.json` (validated in tests like every response);
 * with some, the text around them is written as it is and each member list streamed in place,
 * with backpressure. The first list's first batch is read before anything is sent, so a database
 * that fails there still gets its error response (a 503); a failure after the first byte cuts the
 * connection.
 */
export async function sendDocument(res: Response, status: number, doc: JsonObject, headers: Record<string, string> = {}): Promise<void> {
  if (!holdsStreamedMembers(doc)) {
    res.set(headers).status(status).json(doc);
    return;
  }
  const streamed: StreamedMembers[] = [];
  const text = JSON.stringify(doc, (_key, value: unknown) => (value instanceof StreamedMembers ? `\u0000${streamed.push(value) - 1}\u0000` : value));
  const pieces = text.split(MARK);
  const lists = streamed.map((m) => ({ members: m, batches: m.batches()[Symbol.asyncIterator]() }));
  const firstBatch = await lists[0].batches.next();
  res.set(headers).status(status).set('Content-Type', 'application/scim+json');
  try {
    for (let i = 0; i + 1 < pieces.length; i += 2) {
      await write(res, `${pieces[i]}[`);
      const n = Number(pieces[i + 1]);
      await writeMembers(res, lists[n].members, lists[n].batches, n === 0 ? firstBatch : undefined);
      await write(res, ']');
    }
    res.end(pieces[pieces.length - 1]);
  } catch (err) {
    failStreaming(res, err);
  } finally {
    // A list not read to its end (the client went away, a batch failed) stops its statements.
    await Promise.allSettled(lists.map((l) => l.batches.return?.()));
  }
}

/** Whether a resource, or a ListResponse's resources, hold streamed members. */
function holdsStreamedMembers(doc: JsonObject): boolean {
  if (doc.members instanceof StreamedMembers) return true;
  return Array.isArray(doc.Resources) && doc.Resources.some((r) => (r as JsonObject | null)?.members instanceof StreamedMembers);
}

async function writeMembers(
  res: Response,
  members: StreamedMembers,
  batches: AsyncIterator<MemberTextBatch>,
  read?: IteratorResult<MemberTextBatch>,
): Promise<void> {
  const projected = members.attributes.length > 0 || members.excluded.length > 0;
  let first = true;
  for (let next = read ?? (await batches.next()); !next.done; next = await batches.next()) {
    for (const part of next.value.parts) {
      if (!part) continue;
      // CASE: members.value and the like: each part (~100 members) is parsed and projected alone.
      const text = projected ? projectPart(part, members) : part;
      // The separator goes on its own: prefixing it would copy the part's text.
      if (!first) await write(res, ',');
      await write(res, text);
      first = false;
    }
  }
}

function projectPart(part: string, members: StreamedMembers): string {
  const parsed = JSON.parse(`[${part}]`) as JsonObject[];
  const out = project({ members: parsed }, members.attributes, members.excluded).members as JsonObject[];
  return JSON.stringify(out).slice(1, -1);
}
