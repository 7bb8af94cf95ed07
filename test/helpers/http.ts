import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { testContext } from './context';

/** supertest against the in-process app (no listening socket). */
export function api() {
  return request(testContext().app);
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * A client address no other request of any run has used: the documentation prefix 2001:db8::/32
 * (RFC 3849) with 96 random bits. Per-address rate-limit buckets outlive a run in PostgreSQL's
 * test database, so a test that spends one must not draw from a small pool another test shares.
 */
export function freshAddress(): string {
  const groups = randomBytes(12).toString('hex').match(/.{4}/g) ?? [];
  return ['2001', 'db8', ...groups].join(':');
}
