import express from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import request from 'supertest';
import { loadSpec } from '../../src/spec';

/**
 * Checks a body against the spec's response schema of an operation, with the validator the app
 * uses in tests: for responses the app streams (group members), which the validator's `res.json`
 * hook does not see. Resolves when it matches; rejects naming what does not.
 */
export async function expectSpecResponse(method: 'get' | 'post' | 'put' | 'patch', path: string, status: number, body: unknown, contentType = 'application/scim+json'): Promise<void> {
  const app = express();
  app.use(
    OpenApiValidator.middleware({
      apiSpec: loadSpec() as never,
      validateRequests: false,
      validateResponses: { removeAdditional: false },
      validateSecurity: false,
    }),
  );
  app.use((_req, res) => {
    res.status(status).type(contentType).json(body);
  });
  app.use((err: { status?: number; message: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(599).json({ message: err.message });
  });
  const res = await request(app)[method](path).set('Accept', contentType);
  if (res.status !== status) throw new Error(`${method.toUpperCase()} ${path}: the body does not match the spec's ${status} response: ${JSON.stringify(res.body)}`);
}
