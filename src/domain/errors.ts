/**
 * Typed domain errors. Services throw these; each dialect maps them to its own error shape.
 * `code` is stable and never changes meaning.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  /** Extra machine-readable facts (field names, ids) a dialect may show. */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class NotFound extends DomainError {
  readonly code = 'not_found';
  constructor(readonly resource: string, readonly id?: string) {
    super(`${resource} not found`, id === undefined ? {} : { id });
  }
}

export class AlreadyExists extends DomainError {
  readonly code = 'already_exists';
  constructor(readonly resource: string, readonly field: string) {
    super(`a ${resource} with this ${field} already exists`, { field });
  }
}

/** The request is well-formed but not acceptable (bad value, unknown member, cycle …). */
export class InvalidInput extends DomainError {
  readonly code = 'invalid_input';
}

/** A state rule forbids the change (e.g. deleting a system group). */
export class Conflict extends DomainError {
  readonly code = 'conflict';
}

/**
 * The request names a version (If-Match, a body's version) that is not the current one. The
 * message and the details say it from the server's side: it expected the current version and
 * got the provided one.
 */
export class VersionMismatch extends DomainError {
  readonly code = 'version_mismatch';
  constructor(readonly provided: number, readonly current: number) {
    super(`version mismatch: expected ${current}, got ${provided}`, { expected: current, actual: provided });
  }
}

export class Unauthenticated extends DomainError {
  readonly code = 'unauthenticated';
  constructor(message = 'authentication required') {
    super(message);
  }
}

export class Forbidden extends DomainError {
  readonly code = 'forbidden';
  constructor(message = 'missing right', readonly rights: string[] = []) {
    super(message, rights.length ? { rights } : {});
  }
}

export class PayloadTooLarge extends DomainError {
  readonly code = 'payload_too_large';
}

export class MethodNotAllowed extends DomainError {
  readonly code = 'method_not_allowed';
}

export class UnsupportedMediaType extends DomainError {
  readonly code = 'unsupported_media_type';
}

export class ServiceUnavailable extends DomainError {
  readonly code = 'service_unavailable';
}

/** Too many requests for this token (or client address); `retryAfterSeconds` is a whole number ≥ 1. */
export class RateLimited extends DomainError {
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`too many requests: retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}
