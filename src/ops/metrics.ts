import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/knex';
import { routeLabelOf } from './routes';

/** The bits of tarn's pool (knex's pool) the gauges read. */
interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  max: number;
}

export interface Metrics {
  registry: Registry;
  /** Express middleware: times every request and counts it by dialect, route template, method and status. */
  observe(req: Request, res: Response, next: NextFunction): void;
  /** Prometheus text exposition of everything registered. */
  render(): Promise<{ contentType: string; body: string }>;
}

const LABELS = ['dialect', 'route', 'method', 'status'] as const;

/**
 * Prometheus metrics of one app instance, in its own registry (so tests can build several apps
 * in one process): HTTP requests and latency, the database pool, and the process (CPU, memory,
 * event loop lag, GC, handles).
 */
export function createMetrics(db: Db): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'roster_http_requests_total', help: 'HTTP requests answered', labelNames: LABELS, registers: [registry] });
  const latency = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response',
    labelNames: LABELS,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const pool = (): TarnPool | undefined => (db.client as { pool?: TarnPool }).pool;
  const gauge = (name: string, help: string, read: (p: TarnPool) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const p = pool();
        if (p) this.set(read(p));
      },
    });
  gauge('roster_db_pool_in_use', 'Database connections checked out of the pool', (p) => p.numUsed());
  gauge('roster_db_pool_idle', 'Idle database connections in the pool', (p) => p.numFree());
  gauge('roster_db_pool_waiting', 'Requests waiting for a database connection', (p) => p.numPendingAcquires());
  gauge('roster_db_pool_pending_creates', 'Database connections being opened', (p) => p.numPendingCreates());
  gauge('roster_db_pool_max', 'Largest size of the database pool', (p) => p.max);

  // The labelled children by label values: prom-client hashes the label object on every call otherwise.
  // Bounded: routes are spec templates (or "unmatched"), methods and statuses few.
  const children = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();

  return {
    registry,
    observe(req, res, next) {
      const started = process.hrtime.bigint();
      // 'close' follows 'finish' on every response; one that never finished was cut off (nginx's 499).
      res.once('close', () => {
        const status = res.writableFinished ? res.statusCode : 499;
        const { route, dialect } = routeLabelOf(req.method, req.originalUrl, (req as { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute);
        const key = `${dialect} ${route} ${req.method} ${status}`;
        let child = children.get(key);
        if (!child) {
          const labels = { dialect, route, method: req.method, status: String(status) };
          child = { count: requests.labels(labels), time: latency.labels(labels) };
          children.set(key, child);
        }
        child.count.inc();
        child.time.observe(Number(process.hrtime.bigint() - started) / 1e9);
      });
      next();
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
