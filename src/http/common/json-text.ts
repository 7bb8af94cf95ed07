import type { Response } from 'express';

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
