import type { Request, Response } from 'express';
import { NotFound } from '../../domain/errors';
import { MAX_BULK_OPERATIONS, MAX_BULK_PAYLOAD } from './bulk';
import { ScimError } from './errors';
import { DEFAULT_COUNT, MAX_COUNT } from './params';
import { listResponse, scimBase } from './present';
import type { JsonObject } from './resource';
import { allSchemas, commonAttributes, SCHEMA, type SchemaDef } from './schemas';

/** ServiceProviderConfig (RFC 7643 §5): exactly what this service supports. */
export function serviceProviderConfig(base: string): JsonObject {
  return {
    schemas: [SCHEMA.spConfig],
    documentationUri: `${base.replace(/\/scim\/v2$/, '')}/docs`,
    patch: { supported: true },
    bulk: { supported: true, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: MAX_BULK_PAYLOAD },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    pagination: { cursor: true, index: true, defaultPaginationMethod: 'index', defaultPageSize: DEFAULT_COUNT, maxPageSize: MAX_COUNT, cursorTimeout: 0 },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A Roster token, or an access token from POST /oauth/token (client credentials).',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

function resourceTypes(base: string): JsonObject[] {
  return [
    {
      schemas: [SCHEMA.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: SCHEMA.user,
      schemaExtensions: [{ schema: SCHEMA.enterprise, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [SCHEMA.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: SCHEMA.group,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

function schemaResource(s: SchemaDef, base: string): JsonObject {
  const attributes = s.id === SCHEMA.enterprise ? s.attributes : [...commonAttributes.filter((a) => a.name !== 'meta'), ...s.attributes];
  return {
    schemas: [SCHEMA.schema],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: JSON.parse(JSON.stringify(attributes)) as JsonObject[],
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
  };
}

/**
 * RFC 7644 §4: a discovery endpoint given a `filter` SHOULD answer 403, so that a client cannot
 * take what it lists as matching the filter. Other unknown parameters are ignored, as on every
 * SCIM endpoint.
 */
function refuseFilter(req: Request): void {
  if (Object.keys(req.query as object).some((k) => k.toLowerCase() === 'filter')) {
    throw new ScimError(403, undefined, 'discovery endpoints cannot be filtered (RFC 7644 §4)');
  }
}

/** Discovery endpoints (RFC 7644 §4); read-only, no filtering. */
export const discoveryHandlers = {
  config(req: Request, res: Response) {
    refuseFilter(req);
    res.json(serviceProviderConfig(scimBase(req)));
  },
  resourceTypes(req: Request, res: Response) {
    refuseFilter(req);
    const all = resourceTypes(scimBase(req));
    res.json(listResponse(all, { totalResults: all.length, startIndex: 1 }));
  },
  resourceType(req: Request, res: Response) {
    refuseFilter(req);
    const found = resourceTypes(scimBase(req)).find((r) => r.id === req.params.id);
    if (!found) throw new NotFound('resource type', String(req.params.id));
    res.json(found);
  },
  schemas(req: Request, res: Response) {
    refuseFilter(req);
    const all = allSchemas.map((s) => schemaResource(s, scimBase(req)));
    res.json(listResponse(all, { totalResults: all.length, startIndex: 1 }));
  },
  schema(req: Request, res: Response) {
    refuseFilter(req);
    const found = allSchemas.find((s) => s.id.toLowerCase() === String(req.params.id).toLowerCase());
    if (!found) throw new NotFound('schema', String(req.params.id));
    res.json(schemaResource(found, scimBase(req)));
  },
};
