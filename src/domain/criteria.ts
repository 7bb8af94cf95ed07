/**
 * The protocol-neutral criteria tree. A SCIM filter, a Groups v2 search request and a v1 wildcard
 * all parse into this; one compiler (src/db/criteria-sql.ts) turns it into SQL with bindings.
 * Field names are the core's canonical attribute paths ("userName", "name.familyName", "emails");
 * each repository declares which it supports.
 */
/** `glob`: `*` any run of characters, `?` one character (dynamic membership wildcards). */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'glob';

export type Scalar = string | number | boolean | null;

export type Criteria =
  | { op: 'and'; items: Criteria[] }
  | { op: 'or'; items: Criteria[] }
  | { op: 'not'; item: Criteria }
  | { op: 'cmp'; field: string; cmp: CompareOp; value: Scalar }
  /** Attribute has a non-empty value. */
  | { op: 'pr'; field: string }
  /** Some element of a multi-valued attribute satisfies `where` (fields relative to the element). */
  | { op: 'any'; field: string; where: Criteria }
  | { op: 'true' }
  | { op: 'false' };

/** Deepest criteria tree accepted anywhere; deeper is an InvalidInput, never a stack overflow. */
export const MAX_CRITERIA_DEPTH = 50;

/** Most nodes in one tree. */
export const MAX_CRITERIA_NODES = 1000;

/**
 * Most terms on multi-valued attributes (emails, members, groups, ownerIds …) in one tree. Each
 * is a subquery run for every candidate row, so a few hundred OR-ed ones cost minutes (the probe:
 * 300 `emails co` terms among 50,000 users, 54 s); a value filter (`emails[type eq "work" and
 * value co "x"]`) counts once, whatever it holds.
 */
export const MAX_CRITERIA_SUBQUERIES = 32;

export const and = (...items: Criteria[]): Criteria => ({ op: 'and', items });
export const or = (...items: Criteria[]): Criteria => ({ op: 'or', items });
export const cmp = (field: string, op: CompareOp, value: Scalar): Criteria => ({ op: 'cmp', field, cmp: op, value });
