/**
 * The reference server of issue 7: bare Express 5 + passport-http-bearer + one Knex statement per
 * request on the same database as Roster. It is the yardstick every scenario is divided by.
 *
 *   GET  /ref/users/:id  one primary-key SELECT of a user row (the "reference GET")
 *   POST /ref/writes     one transaction inserting one row (the "reference write")
 *
 * The bearer check compares the token's SHA-256 with the one given in REF_TOKEN_SHA256, in
 * memory: the reference is one statement per request in total. Same pool size as Roster.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { knex } from 'knex';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const expected = Buffer.from(env('REF_TOKEN_SHA256'), 'hex');
const tenantId = env('REF_TENANT_ID');
const db = knex({ client: 'pg', connection: env('REF_DATABASE_URL'), pool: { min: 0, max: Number(process.env.PGPOOL_MAX || 10) } });

passport.use(
  new BearerStrategy((token, done) => {
    const hash = createHash('sha256').update(token).digest();
    done(null, hash.length === expected.length && timingSafeEqual(hash, expected) ? { tenantId } : false);
  }),
);

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));
app.use(passport.initialize());
const auth = passport.authenticate('bearer', { session: false });

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.get('/ref/users/:id', auth, async (req: Request, res: Response) => {
  const row = await db('users')
    .select('id', 'user_name', 'display_name', 'external_id', 'active', 'resource', 'version', 'created_at', 'updated_at')
    .where({ tenant_id: tenantId, id: String(req.params.id) })
    .first();
  if (!row) {
    res.status(404).json({ status: 404 });
    return;
  }
  res.set('ETag', `W/"${row.version}"`).json(row);
});

app.post('/ref/writes', auth, async (req: Request, res: Response) => {
  const [row] = await db.transaction((trx) => trx('bench_reference_writes').insert({ tenant_id: tenantId, payload: JSON.stringify(req.body ?? {}) }).returning('id'));
  res.status(201).json({ id: String(row.id) });
});

app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
  process.stderr.write(`reference error: ${err instanceof Error ? err.message : String(err)}\n`);
  res.status(500).json({ status: 500 });
});

const server = http.createServer(app);
server.keepAliveTimeout = 5_000;
server.listen(Number(env('REF_PORT')), '127.0.0.1');
const stop = () => server.close(() => void db.destroy().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
