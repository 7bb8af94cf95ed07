import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** Location of the contract, from src/ or from dist/src/. */
export const specPath = [path.resolve(__dirname, '..', 'spec', 'openapi.yaml'), path.resolve(__dirname, '..', '..', 'spec', 'openapi.yaml')].find((p) =>
  fs.existsSync(p),
) as string;

export type SecurityRequirement = Record<string, string[]>;

export interface OperationObject {
  operationId?: string;
  security?: SecurityRequirement[];
  [key: string]: unknown;
}

export interface OpenApiDocument {
  security?: SecurityRequirement[];
  paths: Record<string, Record<string, OperationObject | unknown>>;
  [key: string]: unknown;
}

let cached: OpenApiDocument | undefined;

/** The parsed spec (parsed once; treat as read-only). */
export function loadSpec(): OpenApiDocument {
  cached ??= YAML.parse(fs.readFileSync(specPath, 'utf8')) as OpenApiDocument;
  return cached;
}

/**
 * The rights an operation requires, as alternatives: [] means no authentication at all,
 * [[]] means any valid token, [['a'], ['b']] means right a or right b.
 */
export function requiredRights(doc: OpenApiDocument, operation: OperationObject | undefined): string[][] | null {
  const security = operation?.security ?? doc.security ?? [];
  if (security.length === 0) return null;
  return security.map((req) => Object.values(req).flat());
}
