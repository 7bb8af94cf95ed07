import type { Response } from 'express';
import type { Group } from '../../domain/groups/group';
import type { MemberWithDisplay } from '../../domain/memberships/memberships.repository';
import { etagOf, presentGroup } from './present';

function memberJson(m: MemberWithDisplay, base: string): string {
  return JSON.stringify({
    value: m.id,
    $ref: `${base}/${m.kind === 'user' ? 'Users' : 'Groups'}/${m.id}`,
    ...(m.display !== null ? { display: m.display } : {}),
    type: m.kind === 'user' ? 'User' : 'Group',
  });
}

async function write(res: Response, chunk: string): Promise<void> {
  if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
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
    const text = batch.map((m) => memberJson(m, base)).join(',');
    await write(res, first ? text : `,${text}`);
    first = false;
  }
  res.end(`],"meta":${JSON.stringify(meta)}}`);
}
