import type { Response } from 'express';
import type { Writable } from 'node:stream';
import type { Group } from '../../domain/groups/group';
import type { MemberTemplates, MemberTextBatch } from '../../domain/memberships/member-reads.repository';
import { etagOf, presentGroup } from './present';

/** A string's JSON form without its quotes. */
const jsonInner = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * SCIM member objects (`{"value","$ref","display","type"}`, the fields and order of presentGroup's
 * members) as the template PostgreSQL fills for each member of a streamed group; the request's
 * base URL is escaped here.
 */
export function scimMemberTemplates(base: string): MemberTemplates {
  const kind = (resource: 'Users' | 'Groups', type: 'User' | 'Group') => ({
    beforeId: '{"value":"',
    betweenIds: `","$ref":"${jsonInner(`${base}/${resource}/`)}`,
    afterIds: '"',
    beforeDisplay: ',"display":',
    end: `,"type":"${type}"}`,
  });
  return { user: kind('Users', 'User'), group: kind('Groups', 'Group') };
}

/** Bytes a streamed response may hold unsent before writing waits. */
export const MAX_PENDING = 1 << 20;

/**
 * Writes a chunk, waiting while the client is slower than we are (backpressure): once more than
 * 1 MiB waits to be sent, the next chunk waits for it to drain. (A member part is ~17 KB, over the
 * response's 16 KB high-water mark: waiting at that mark would wait after every part.)
 */
export async function write(res: Pick<Writable, 'write' | 'writableLength' | 'once' | 'off'>, chunk: string): Promise<void> {
  if (res.write(chunk) || res.writableLength < MAX_PENDING) return;
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
export async function streamGroup(res: Response, g: Group, batches: AsyncIterable<MemberTextBatch>, base: string): Promise<void> {
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

async function writeGroup(res: Response, g: Group, batches: AsyncIterable<MemberTextBatch>, base: string): Promise<void> {
  const { meta, ...head } = presentGroup(g, undefined, base);
  res.status(200);
  res.set('ETag', etagOf(g.version));
  res.set('Content-Type', 'application/scim+json');
  const opening = JSON.stringify(head);
  await write(res, `${opening.slice(0, -1)},"members":[`);
  let first = true;
  for await (const batch of batches) {
    for (const part of batch.parts) {
      if (!part) continue;
      // The separator goes on its own: prefixing it would copy the part's text.
      if (!first) await write(res, ',');
      await write(res, part);
      first = false;
    }
  }
  res.end(`],"meta":${JSON.stringify(meta)}}`);
}
