import { DomainError, Unauthenticated } from '../errors';

/**
 * A session token that exists but is not authenticated yet. It extends Unauthenticated, so every
 * dialect that knows nothing of sessions renders it as its 401; the session dialect renders its
 * own "Not Authenticated".
 */
export class SessionNotAuthenticated extends Unauthenticated {
  constructor(readonly sessionId: string, readonly tenantId: string | null) {
    super('the session is not authenticated');
  }
}

export class SessionNotFound extends DomainError {
  readonly code = 'session_not_found';
  constructor() {
    super('no live session for this token');
  }
}

export class UsernameOrPasswordEmpty extends DomainError {
  readonly code = 'username_or_password_empty';
  constructor() {
    super('login and password are required');
  }
}

/** Wrong login or password; deliberately the same for both. */
export class LoginFailed extends DomainError {
  readonly code = 'login_failed';
  constructor() {
    super('login failed');
  }
}

/** The user is deactivated. */
export class LoginDisabled extends DomainError {
  readonly code = 'login_disabled';
  constructor() {
    super('login disabled');
  }
}

/** Too many failed logins recently; `until` says when the block ends. */
export class LoginBlocked extends DomainError {
  readonly code = 'login_blocked';
  constructor(readonly until: Date) {
    super(`login blocked after repeated failures, until ${until.toISOString()}`, { until: until.toISOString() });
  }
}

export class AuthenticationMethodNotAllowed extends DomainError {
  readonly code = 'authentication_method_not_allowed';
  constructor(readonly method: string) {
    super(`authentication method "${method}" is not allowed (supported: easydb)`, { method });
  }
}
