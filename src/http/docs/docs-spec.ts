import { loadSpec, requiredRights, type OpenApiDocument, type OperationObject } from '../../spec';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Operations limited per client address instead of per token (see src/http/common/rate-limit.ts). */
const PER_ADDRESS = /^\/(?:oauth\/token|api\/v1\/session)(?:\/|$)/;

/** "**Rights:** `a` or `b` + `c`." — what the operation's `security` requirement says, in words. */
export function rightsLine(doc: OpenApiDocument, op: OperationObject): string {
  const rights = requiredRights(doc, op);
  if (rights === null) return '**Authentication:** none.';
  if (rights.some((set) => set.length === 0)) return '**Rights:** any valid token.';
  return `**Rights:** ${rights.map((set) => set.map((r) => `\`${r}\``).join(' + ')).join(' or ')}.`;
}

/**
 * The spec as /docs shows it, built when the app starts (the file is never edited for it): each
 * operation's description starts with the rights it needs and says how it is rate limited (the
 * 429 and 503 answers themselves are in the file, in each dialect's error shape).
 */
export function docsSpec(): OpenApiDocument {
  const doc = structuredClone(loadSpec());
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, OperationObject | undefined>)[method];
      if (!op) continue;
      const rights = requiredRights(doc, op);
      const limited = rights !== null || PER_ADDRESS.test(path);
      const description = typeof op.description === 'string' ? op.description : '';
      const limit = limited ? ` Rate limited per ${PER_ADDRESS.test(path) ? 'client address' : 'token'} (429 with Retry-After).` : '';
      op.description = `${rightsLine(doc, op)}${limit}${description ? `\n\n${description}` : ''}`;
    }
  }
  return doc;
}
