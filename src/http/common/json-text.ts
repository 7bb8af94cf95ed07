import type { Response } from 'express';
import type { Writable } from 'node:stream';

/** The app setting that tells whether responses are checked against the spec (app.ts sets it). */
export const VALIDATES_RESPONSES = 'roster validates responses';

/**
 * Sends a JSON document already written as text (a SCIM user list, a v1 group or a Nuxeo group
 * entity with its members). Where the app checks responses against the spec (tests), the text is
 * parsed and sent with `res.json`, so the validator's hook sees it like any other body; elsewhere
 * the text goes as it is, with the dialect's media type.
 */
export function sendJsonText(res: Response, status: number, text: string, mediaType: string): void {
  if (res.app.get(VALIDATES_RESPONSES) === true) {
    res.status(status).json(JSON.parse(text));
    return;
  }
  res.status(status).set('Content-Type', mediaType).send(text);
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
 * Sends a JSON array whose elements come as text, a few at a time (each chunk an array of element
 * texts), so that only a chunk is held however big the whole is (a v1 list page of groups with
 * their members). The first chunk is read before anything is sent, so a database that fails there
 * still gets its error response; a failure after the first byte cuts the connection. Where the app
 * checks responses against the spec (tests), the chunks are gathered and sent with sendJsonText.
 */
export async function sendJsonTextArray(res: Response, status: number, chunks: AsyncIterable<string[]>, mediaType: string): Promise<void> {
  const read = chunks[Symbol.asyncIterator]();
  try {
    let next = await read.next();
    if (res.app.get(VALIDATES_RESPONSES) === true) {
      const all: string[] = [];
      for (; !next.done; next = await read.next()) all.push(...next.value);
      sendJsonText(res, status, `[${all.join(',')}]`, mediaType);
      return;
    }
    res.status(status).set('Content-Type', mediaType);
    await write(res, '[');
    let first = true;
    for (; !next.done; next = await read.next()) {
      for (const text of next.value) {
        // The separator goes on its own: prefixing it would copy the element's text.
        if (!first) await write(res, ',');
        await write(res, text);
        first = false;
      }
    }
    res.end(']');
  } catch (err) {
    failStreaming(res, err);
  } finally {
    await read.return?.();
  }
}

/**
 * A failure while a response is streamed: before the headers went, the error goes on to the
 * dialect's error handler; after, the only honest signal left is to cut the connection.
 */
export function failStreaming(res: Response, err: unknown): void {
  if (!res.headersSent) throw err;
  res.destroy(err instanceof Error ? err : new Error(String(err)));
}
