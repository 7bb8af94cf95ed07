import type { Response } from 'express';
import type { Group } from '../../domain/groups/group';
import type { MemberJsonBatch, MemberRefOpenings } from '../../domain/memberships/member-reads.repository';
import { etagOf, presentGroup } from './present';

/**
 * The `$ref` openings of a request's members: `"<base>/Users/` and `"<base>/Groups/` as the
 * start of a JSON string (escaped here; the database appends the id and the closing quote).
 */
export function scimRefOpenings(base: string): MemberRefOpenings {
  return { user: JSON.stringify(`${base}/Users/`).slice(0, -1), group: JSON.stringify(`${base}/Groups/`).slice(0, -1) };
}

/** Writes a chunk, waiting while the client is slower than we are (backpressure). */
async function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      res.off('close', closed);
      resolve();
    };
    // CASE: a client that goes away never drains; stop reading members for it.
    const closed = () => {
      res.off('drain', drained);
      reject(new Error('the client closed the connection'));
    };
    res.once('drain', drained);
    res.once('close', closed);
  });
}

/**
 * Writes a Group resource with all its members, streamed batch by batch: memory stays flat
 * whatever the group's size (a 1,000,000-member group is never built in memory).
 */
export async function streamGroup(res: Response, g: Group, batches: AsyncIterable<MemberJsonBatch>, base: string): Promise<void> {
  try {
    await writeGroup(res, g, batches, base);
  } catch (err) {
    // Headers are gone: the only honest signal left is to cut the connection.
    if (res.headersSent) {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    throw err;
  }
}

async function writeGroup(res: Response, g: Group, batches: AsyncIterable<MemberJsonBatch>, base: string): Promise<void> {
  const { meta, ...head } = presentGroup(g, undefined, base);
  res.status(200);
  res.set('ETag', etagOf(g.version));
  res.set('Content-Type', 'application/scim+json');
  const opening = JSON.stringify(head);
  await write(res, `${opening.slice(0, -1)},"members":[`);
  let first = true;
  for await (const batch of batches) {
    if (!batch.count) continue;
    // The separator goes on its own: prefixing it would copy the batch's whole text.
    if (!first) await write(res, ',');
    await write(res, batch.json);
    first = false;
  }
  res.end(`],"meta":${JSON.stringify(meta)}}`);
}
