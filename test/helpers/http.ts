import request from 'supertest';
import { testContext } from './context';

/** supertest against the in-process app (no listening socket). */
export function api() {
  return request(testContext().app);
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
