import http from 'node:http';

/**
 * A small HTTP client for the chaos runs: keep-alive connections, a hard timeout per request,
 * and transport failures reported as values (status 0 and the error code) rather than thrown,
 * so a load loop can count them.
 */

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
  ms: number;
  /** Set when no HTTP answer came: ECONNREFUSED, ECONNRESET, TIMEOUT … */
  error?: string;
}

/**
 * Keep-alive, but an idle socket is dropped after 2 s: before the server's keep-alive timeout
 * (5 s) closes it, so a request never races a server-side close (an ECONNRESET that says nothing
 * about the service).
 */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 1000, timeout: 2000 });

export function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; contentType?: string; timeoutMs?: number; headers?: Record<string, string>; agent?: http.Agent | false } = {},
): Promise<Reply> {
  const started = Date.now();
  const url = new URL(path, base);
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (body !== undefined) {
    headers['Content-Type'] = opts.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<Reply, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...r, ms: Date.now() - started });
    };
    const req = http.request({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers, agent: opts.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        done({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, headers: {}, text: '', json: undefined, error: err.code ?? err.message }));
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => {
      done({ status: 0, headers: {}, text: '', json: undefined, error: 'TIMEOUT' });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, headers: {}, text: '', json: undefined, error: err.code ?? err.message }));
    req.end(body);
  });
}

/** p-quantile of a list of numbers. */
export function quantile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
