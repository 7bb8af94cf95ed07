import { loadSpec, requiredRights, type OpenApiDocument, type OperationObject } from '../../spec';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Operations limited per client address instead of per token (see src/http/common/rate-limit.ts). */
const PER_ADDRESS = /^\/(?:oauth\/token|api\/v1\/session)(?:\/|$)/;

type Responses = Record<string, { $ref?: string; description?: string; content?: unknown; headers?: Record<string, unknown> }>;

/** "**Rights:** `a` or `b` + `c`." — what the operation's `security` requirement says, in words. */
export function rightsLine(doc: OpenApiDocument, op: OperationObject): string {
  const rights = requiredRights(doc, op);
  if (rights === null) return '**Authentication:** none.';
  if (rights.some((set) => set.length === 0)) return '**Rights:** any valid token.';
  return `**Rights:** ${rights.map((set) => set.map((r) => `\`${r}\``).join(' + ')).join(' or ')}.`;
}

function resolve(doc: OpenApiDocument, value: Responses[string] | undefined): Responses[string] | undefined {
  if (!value?.$ref) return value;
  const parts = value.$ref.replace(/^#\//, '').split('/');
  return parts.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc) as Responses[string] | undefined;
}

/**
 * The spec as /docs shows it, built when the app starts (the file is never edited for it): each
 * operation's description starts with the rights it needs, and each rate-limited operation
 * documents its 429 — in the same body shape as the operation's other errors, with Retry-After.
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
      const responses = (op.responses ?? {}) as Responses;
      if (limited && !responses['429']) {
        const errorShape = ['401', '400', '403', '404'].map((s) => resolve(doc, responses[s])).find((r) => r?.content);
        responses['429'] = {
          description: 'Too many requests for this token (or client address): come back after Retry-After seconds',
          headers: { 'Retry-After': { description: 'Whole seconds to wait', schema: { type: 'integer', minimum: 1 } } },
          ...(errorShape?.content ? { content: errorShape.content } : {}),
        };
        op.responses = responses;
      }
    }
  }
  return doc;
}
