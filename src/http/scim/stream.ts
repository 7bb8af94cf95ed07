import type { Response } from 'express';
import type { Group } from '../../domain/groups/group';
import type { MemberWithDisplay } from '../../domain/memberships/memberships.repository';
import { etagOf, presentGroup } from './present';

/**
 * The JSON of a batch of members, written by hand: this is the hot loop of a million-member
 * GET, and one template per member is several times cheaper than building and stringifying an
 * object. Ids are UUIDs from the database (nothing to escape); the base URL and display names
 * go through JSON.stringify. Same fields and order as presentGroup's members.
 */
function membersJson(batch: MemberWithDisplay[], base: string): string {
  const users = `,"$ref":${JSON.stringify(`${base}/Users/`).slice(0, -1)}`;
  const groups = `,"$ref":${JSON.stringify(`${base}/Groups/`).slice(0, -1)}`;
  const parts = new Array<string>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i];
    const user = m.kind === 'user';
    parts[i] =
      `{"value":"${m.id}"${user ? users : groups}${m.id}"` +
      (m.display !== null ? `,"display":${JSON.stringify(m.display)}` : '') +
      (user ? ',"type":"User"}' : ',"type":"Group"}');
  }
  return parts.join(',');
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
export async function streamGroup(res: Response, g: Group, batches: AsyncIterable<MemberWithDisplay[]>, base: string): Promise<void> {
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

async function writeGroup(res: Response, g: Group, batches: AsyncIterable<MemberWithDisplay[]>, base: string): Promise<void> {
  const { meta, ...head } = presentGroup(g, undefined, base);
  res.status(200);
  res.set('ETag', etagOf(g.version));
  res.set('Content-Type', 'application/scim+json');
  const opening = JSON.stringify(head);
  await write(res, `${opening.slice(0, -1)},"members":[`);
  let first = true;
  for await (const batch of batches) {
    const text = membersJson(batch, base);
    await write(res, first ? text : `,${text}`);
    first = false;
  }
  res.end(`],"meta":${JSON.stringify(meta)}}`);
}
