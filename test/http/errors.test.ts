import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { translateDbError } from '../../src/db/pg-errors';
import { AlreadyExists, InvalidInput, ServiceUnavailable } from '../../src/domain/errors';
import { defaultErrorHandler } from '../../src/http/common/default-errors';
import { v2ErrorHandler } from '../../src/http/v2/errors';

describe('error rendering', () => {
  function appThrowing(err: unknown, handler: express.ErrorRequestHandler) {
    const app = express();
    app.get('/boom', () => {
      throw err;
    });
    app.use(handler);
    return app;
  }

  it('hides the internals of an unexpected error behind a 500 with the request id', async () => {
    const err = new Error('connection string postgres://secret@db/prod leaked');
    for (const handler of [v2ErrorHandler(), defaultErrorHandler()]) {
      const res = await request(appThrowing(err, handler)).get('/boom').expect(500);
      expect(JSON.stringify(res.body)).to.not.include('secret');
      expect(res.body.message).to.match(/internal/i);
    }
  });

  it('translates PostgreSQL errors once, by SQLSTATE and constraint name', () => {
    const dup = translateDbError({ code: '23505', constraint: 'groups_name_unique' });
    expect(dup).to.be.instanceOf(AlreadyExists);
    expect((dup as AlreadyExists).field).to.equal('name');
    expect(translateDbError({ code: '22P02' })).to.be.instanceOf(InvalidInput);
    expect(translateDbError({ code: 'ECONNREFUSED' })).to.be.instanceOf(ServiceUnavailable);
    // pg's own words when connectionTimeoutMillis passes while connecting (a loaded server): a 503, not a 500.
    expect(translateDbError(new Error('timeout expired'))).to.be.instanceOf(ServiceUnavailable);
    expect(translateDbError(new Error('Connection terminated due to connection timeout'))).to.be.instanceOf(ServiceUnavailable);
    const other = new Error('x');
    expect(translateDbError(other)).to.equal(other);
  });
});
