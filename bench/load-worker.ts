/**
 * Load generator child process: runs autocannon (pinned by the parent to its own core) for a
 * warm-up and N measured runs of one scenario, then prints the results as one JSON line.
 *
 * Usage: node -r ts-node/register/transpile-only bench/load-worker.ts <spec.json>
 *
 * A request is a template: `{v}` in its path and body is replaced, per request, by the next
 * value — taken from `values` (randomly or in order), a random integer in [min, max], or a
 * counter — so scenarios can look up random users, add a different member each time, etc.
 */
import fs from 'node:fs';
import autocannon from 'autocannon';
import type { LoadSpec, LoadRun, LoadOutput } from './lib/load';

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as LoadSpec;
const v = spec.vary;
let cursor = v?.start ?? 0;
let used = 0;
let wrapped = false;

function nextValue(): string {
  used++;
  if (!v) return '';
  switch (v.kind) {
    case 'random':
      return v.values![Math.floor(Math.random() * v.values!.length)];
    case 'sequence': {
      const values = v.values!;
      if (cursor >= values.length) wrapped = true;
      return values[cursor++ % values.length];
    }
    case 'int':
      return String(v.min! + Math.floor(Math.random() * (v.max! - v.min! + 1)));
    case 'counter':
      return String(cursor++);
  }
}

const hasVar = spec.path.includes('{v}') || (spec.body?.includes('{v}') ?? false);

function once(duration: number): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration,
        timeout: spec.timeoutSeconds ?? 30,
        headers: spec.headers,
        requests: [
          {
            method: spec.method as autocannon.Request['method'],
            path: spec.path,
            ...(spec.body !== undefined ? { body: spec.body } : {}),
            ...(hasVar
              ? {
                  setupRequest: (req: autocannon.Request) => {
                    const value = nextValue();
                    return {
                      ...req,
                      path: spec.path.split('{v}').join(encodeURIComponent(value)),
                      ...(spec.body !== undefined ? { body: spec.body.split('{v}').join(value) } : {}),
                    };
                  },
                }
              : {}),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        resolve({
          // Completed requests over the run's wall time (the per-second average needs whole seconds).
          rps: result.duration > 0 ? result.requests.total / result.duration : result.requests.average,
          total: result.requests.total,
          seconds: result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          max: result.latency.max,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: Object.fromEntries(
            Object.entries((result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
          ),
        });
      },
    );
    void instance;
  });
}

async function main(): Promise<void> {
  const out: LoadOutput = { runs: [], used: 0, wrapped: false };
  if (spec.warmup > 0) out.warmup = await once(spec.warmup);
  for (let i = 0; i < spec.runs; i++) out.runs.push(await once(spec.duration));
  out.used = used;
  out.wrapped = wrapped;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
