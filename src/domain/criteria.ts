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

export const and = (...items: Criteria[]): Criteria => ({ op: 'and', items });
export const or = (...items: Criteria[]): Criteria => ({ op: 'or', items });
export const cmp = (field: string, op: CompareOp, value: Scalar): Criteria => ({ op: 'cmp', field, cmp: op, value });
