import http from 'node:http';
import type { Metrics } from './metrics';

/**
 * A listener of its own for Prometheus (METRICS_PORT): GET /metrics without authentication, for
 * a port that only the scraper can reach. Everything else is a 404.
 */
export function createMetricsServer(metrics: Metrics): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'Content-Type': 'text/plain' }).end(path === '/metrics' ? 'method not allowed\n' : 'not found\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
}
