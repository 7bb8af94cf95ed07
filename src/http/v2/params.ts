import type { Request } from 'express';
import { InvalidInput } from '../../domain/errors';
import type { SortOrder } from '../../domain/groups/group';

/** Query values that may come repeated (`id=a&id=b`) or comma-joined (`id=a,b`), as the SDK sends. */
export function listParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  return items.map((s) => s.trim()).filter(Boolean);
}

/** `ASC`/`ascending`/`DESC`/`descending` in any case; anything else (or nothing) is ascending. */
export function sortOrderOf(value: unknown): SortOrder {
  return typeof value === 'string' && /^desc/i.test(value) ? 'desc' : 'asc';
}

export interface Paging {
  pageSize: number;
  /** 1-based, as in the entity listing envelope. */
  pageNumber: number;
  /** The client paged with document 004's zero-based `page`/`size`; links keep that style. */
  zeroBased: boolean;
}

/**
 * `pageSize`/`pageNumber` (1-based) or `page`/`size` (zero-based): `page=0&size=n` is the page of
 * `pageNumber=1&pageSize=n`. Naming the same thing twice (`page` with `pageNumber`, `size` with
 * `pageSize`) is ambiguous and refused. The spec bounds each value.
 */
export function pagingOf(req: Request, defaultSize = 25): Paging {
  const { page, size, pageNumber, pageSize } = req.query;
  if (page !== undefined && pageNumber !== undefined) throw new InvalidInput('give either page (zero-based) or pageNumber (1-based), not both', { field: 'page' });
  if (size !== undefined && pageSize !== undefined) throw new InvalidInput('give either size or pageSize, not both', { field: 'size' });
  return {
    pageSize: size !== undefined ? intParam(size, 'size', 1, MAX_PAGE_SIZE) : intParam(pageSize ?? defaultSize, 'pageSize', 1, MAX_PAGE_SIZE),
    pageNumber: page !== undefined ? intParam(page, 'page', 0, MAX_PAGE_NUMBER - 1) + 1 : intParam(pageNumber ?? 1, 'pageNumber', 1, MAX_PAGE_NUMBER),
    zeroBased: page !== undefined || size !== undefined,
  };
}

const MAX_PAGE_SIZE = 500;
const MAX_PAGE_NUMBER = 1_000_000;

/** A decimal integer within bounds (the spec says so too; this keeps `Infinity` and `1e3` out whatever the validator lets by). */
function intParam(value: unknown, name: string, min: number, max: number): number {
  const s = String(value);
  const n = /^-?\d{1,10}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidInput(`${name} must be an integer from ${min} to ${max}`, { field: name });
  return n;
}

/** Offset and limit of a page. */
export const pageWindow = (p: { pageSize: number; pageNumber: number }) => ({ offset: (p.pageNumber - 1) * p.pageSize, limit: p.pageSize });

/** Values of `expand` this API accepts; there is nothing to expand on Roster's users, so they change nothing. */
export const MEMBER_EXPANDS = [
  'routingStatus',
  'presence',
  'conversationSummary',
  'outOfOffice',
  'geolocation',
  'station',
  'authorization',
  'profileSkills',
  'locations',
  'groups',
  'skills',
  'languages',
  'languagePreference',
];

/** The `expand` values of a request, checked against the allowed ones (repeated or comma-joined). */
export function expandOf(value: unknown, allowed?: string[]): string[] | undefined {
  const items = listParam(value);
  const unknown = allowed ? (items ?? []).filter((x) => !allowed.includes(x)) : [];
  if (unknown.length) throw new InvalidInput(`unknown expand value(s): ${unknown.join(', ')} (allowed: ${allowed!.join(', ')})`, { field: 'expand' });
  return items;
}
