import type { NextFunction, Request, Response } from 'express';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/**
 * SCIM responses carry `Content-Type: application/scim+json` exactly, with no charset parameter
 * (some IdPs compare it literally). Express adds a charset when it serialises JSON, so the header
 * is normalised where it is written.
 */
export function scimMediaType(_req: Request, res: Response, next: NextFunction): void {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = ((name: string, value: string | number | readonly string[]) => {
    if (name.toLowerCase() === 'content-type' && typeof value === 'string' && /^application\/(scim\+)?json\b/i.test(value)) {
      return setHeader(name, SCIM_MEDIA_TYPE);
    }
    return setHeader(name, value);
  }) as Response['setHeader'];
  next();
}
