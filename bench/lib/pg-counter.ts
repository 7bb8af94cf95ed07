/**
 * A PostgreSQL wire-protocol proxy that counts the statements its clients send: one per simple
 * Query ('Q') and one per extended-protocol Sync ('S', which node-postgres sends once per
 * parameterised query). Put in front of a Roster instance, it tells how many SQL statements (and
 * so round trips) one HTTP request costs. Diagnostic only: it never changes a byte.
 */
import net from 'node:net';

export interface StatementCounter {
  port: number;
  /** Statements seen so far, and the text of the simple queries / parse messages (bounded). */
  count: () => number;
  recent: () => string[];
  reset: () => void;
  close: () => Promise<void>;
}

export function startStatementCounter(upstreamHost: string, upstreamPort: number): Promise<StatementCounter> {
  let statements = 0;
  let texts: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client);
    sockets.add(upstream);
    let started = false;
    let buf: Buffer = Buffer.alloc(0);
    client.on('data', (data: Buffer) => {
      upstream.write(data);
      buf = buf.length ? Buffer.concat([buf, data]) : data;
      for (;;) {
        if (!started) {
          // Startup-phase messages have no type byte: int32 length, int32 code.
          if (buf.length < 8) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code !== 80877103 && code !== 80877104) started = true; // not SSL/GSS requests
          continue;
        }
        if (buf.length < 5) break;
        const type = String.fromCharCode(buf[0]);
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) break;
        if (type === 'Q' || type === 'S') statements++;
        if ((type === 'Q' || type === 'P') && texts.length < 200) {
          const body = buf.subarray(5, 1 + len).toString('utf8');
          // Parse: name\0 query\0 …; Query: query\0
          const parts = body.split('\0');
          texts.push((type === 'P' ? parts[1] : parts[0]).replace(/\s+/g, ' ').slice(0, 160));
        }
        buf = buf.subarray(1 + len);
      }
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        count: () => statements,
        recent: () => texts,
        reset: () => {
          statements = 0;
          texts = [];
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
