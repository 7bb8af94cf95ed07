import { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/**
 * SCIM responses carry `Content-Type: application/scim+json` exactly, with no charset parameter
 * (some IdPs compare it literally). Express adds a charset when it serialises JSON, so the header
 * is normalised where it is written.
 */
export function scimMediaType(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader = scimSetHeader as Response['setHeader'];
  next();
}

const plainSetHeader = ServerResponse.prototype.setHeader;
const JSON_TYPE = /^application\/(scim\+)?json\b/i;

/** One shared function (no closure per request): JSON content types become SCIM's, the rest pass. */
function scimSetHeader(this: ServerResponse, name: string, value: string | number | readonly string[]): ServerResponse {
  if (typeof value === 'string' && name.length === 12 && name.toLowerCase() === 'content-type' && JSON_TYPE.test(value)) {
    return plainSetHeader.call(this, name, SCIM_MEDIA_TYPE);
  }
  return plainSetHeader.call(this, name, value);
}
