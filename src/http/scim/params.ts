import type { Request } from 'express';
import type { Criteria } from '../../domain/criteria';
import type { VersionCondition } from '../../domain/versions';
import { invalidSyntax, invalidValue, ScimError } from './errors';
import { parseFilter } from './filter';
import { declaresSchema, parseAttributeList, type JsonObject } from './resource';
import { SCHEMA } from './schemas';

/** Page size when the client gives none, and the most one page returns (ServiceProviderConfig). */
export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

export interface ListParams {
  criteria?: Criteria;
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder: 'asc' | 'desc';
  attributes?: ReturnType<typeof parseAttributeList>;
  excludedAttributes?: ReturnType<typeof parseAttributeList>;
  /** Cursor paging (draft-ietf-scim-cursor-pagination): '' starts, otherwise a position. */
  cursor?: { afterSeq?: number; beforeSeq?: number };
}

function integer(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (!Number.isFinite(n)) throw invalidValue(`"${name}" must be an integer`);
  return Math.trunc(n);
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Cursor tokens are base64url JSON positions in creation order; a malformed one is invalidCursor. */
export function encodeCursor(pos: { a?: number; b?: number }): string {
  return Buffer.from(JSON.stringify(pos)).toString('base64url');
}

function decodeCursor(text: string): { afterSeq?: number; beforeSeq?: number } {
  if (text === '') return {};
  try {
    const pos = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { a?: unknown; b?: unknown };
    if (Number.isSafeInteger(pos.a) && (pos.a as number) >= 0) return { afterSeq: pos.a as number };
    if (Number.isSafeInteger(pos.b) && (pos.b as number) >= 0) return { beforeSeq: pos.b as number };
  } catch {
    // fall through
  }
  throw new ScimError(400, 'invalidCursor', 'the cursor is not one this service issued');
}

/** A SCIM parameter by name, whatever its case (`excludedAttributes`, `ExcludedAttributes`, …). */
export function paramOf(src: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  const key = Object.keys(src).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : src[key];
}

/**
 * List parameters from a query string or a SearchRequest body (RFC 7644 §3.4.2, §3.4.3):
 * startIndex < 1 is treated as 1, a negative count as 0, counts above MAX_COUNT are clamped.
 */
export function listParams(src: Record<string, unknown>): ListParams {
  const get = (name: string) => paramOf(src, name);
  const filter = str(get('filter'));
  // CASE: a startIndex beyond any table (1e20) must give an empty page, not a SQL range error.
  const startIndex = Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, integer(get('startIndex'), 'startIndex') ?? 1));
  const count = Math.min(MAX_COUNT, Math.max(0, integer(get('count'), 'count') ?? DEFAULT_COUNT));
  const order = str(get('sortOrder'))?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw invalidValue('"sortOrder" must be ascending or descending');
  const sortBy = str(get('sortBy'))?.trim() || undefined;
  const cursorRaw = get('cursor');
  const cursor = cursorRaw === undefined ? undefined : decodeCursor(str(cursorRaw) ?? '');
  if (cursor && sortBy) throw invalidValue('cursor pagination uses the default order; "sortBy" cannot be combined with "cursor"');
  return {
    criteria: filter !== undefined && filter.trim() !== '' ? parseFilter(filter) : undefined,
    startIndex,
    count,
    sortBy,
    sortOrder: order === 'descending' ? 'desc' : 'asc',
    attributes: parseAttributeList(get('attributes')),
    excludedAttributes: parseAttributeList(get('excludedAttributes')),
    cursor,
  };
}

/**
 * The list parameters of a POST `.search` body: a SearchRequest (RFC 7644 §3.4.3), whose
 * `schemas` (required there) is an array of strings naming the SearchRequest schema, like a
 * PatchOp's or a BulkRequest's; anything else is invalidSyntax and nothing is searched.
 */
export function searchRequestParams(body: JsonObject | undefined): ListParams {
  const src = body ?? {};
  if (!declaresSchema(src, SCHEMA.searchRequest, true)) throw invalidSyntax(`"schemas" must be an array of strings that includes ${SCHEMA.searchRequest}`);
  return listParams(src);
}

/** ETags in an If-Match / If-None-Match header: '*' or the versions they name. */
function etagVersions(header: string): '*' | number[] {
  if (header.trim() === '*') return '*';
  return header
    .split(',')
    .map((t) => /^\s*(?:W\/)?"(\d{1,10})"\s*$/.exec(t))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}

/** If-Match → the version condition a write must meet (RFC 7644 §3.14; 412 when not met). */
export function ifMatch(req: Request): VersionCondition {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  const versions = etagVersions(header);
  return versions === '*' ? undefined : versions;
}

/** True when If-None-Match names the current version (GET answers 304). */
export function notModified(req: Request, version: number): boolean {
  const header = req.get('if-none-match');
  if (header === undefined) return false;
  const versions = etagVersions(header);
  return versions === '*' || versions.includes(version);
}
