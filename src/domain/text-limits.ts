import { InvalidInput } from './errors';

/**
 * Longest names and external ids Roster stores, in UTF-16 code units (JavaScript's length). They
 * are indexed, a btree row holds at most 2,704 bytes, a code unit takes up to 3 bytes in UTF-8,
 * and a user's display name and user name share one index row (the users' primary key carries
 * both): 2 × 255 × 3 and 512 × 3 bytes fit. Bounded here, before PostgreSQL would refuse the row.
 */
export const MAX_NAME_LENGTH = 255;
export const MAX_EXTERNAL_ID_LENGTH = 512;

/** Refuses a value longer than `max` characters (undefined and null pass). */
export function checkLength(value: string | null | undefined, max: number, field: string): void {
  if (typeof value === 'string' && value.length > max) throw new InvalidInput(`"${field}" is at most ${max} characters`, { field });
}
