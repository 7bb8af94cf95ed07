import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import request from 'supertest';
import { buildApp } from '../../../src/app';
import { createLogger } from '../../../src/logger';
import { testContext } from '../../helpers/context';
import { hasSecretShape } from '../../helpers/log-scan';

/**
 * The robustness suites drive their own instance of the app: the same database and services as
 * the shared test context, but a logger at `trace` whose every line is kept in memory, so the
 * suites can prove that no secret reaches a log line, whatever the request was.
 */

const lines: string[] = [];
const secrets = new Set<string>();
let server: http.Server | undefined;

/** Every log line the robustness app wrote so far (JSON text, as pino writes it). */
export function logLines(): readonly string[] {
  return lines;
}

/** Registers a secret (token, client secret, password) that must never appear in a log line. */
export function rememberSecret(secret: string): string {
  if (secret.length >= 8) secrets.add(secret);
  return secret;
}

/** Secrets registered so far. */
export function knownSecrets(): ReadonlySet<string> {
  return secrets;
}


/** Log lines that carry a registered secret or a secret-shaped string. */
export function leakedLines(): string[] {
  return lines.filter((line) => hasSecretShape(line) || [...secrets].some((s) => line.includes(s)));
}

/** The production logger (its redaction rules) at the most verbose level, writing to memory. */
function captureLogger() {
  const logger = createLogger('trace');
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = {
    write: (line: string) => {
      lines.push(line);
      // FUZZ_DEBUG=1 shows the server's errors next to the failing request.
      if (process.env.FUZZ_DEBUG && /"level":50/.test(line)) process.stderr.write(line);
    },
  };
  return logger;
}

/** The robustness app, listening once on an ephemeral port of 127.0.0.1 (supertest reuses it). */
export async function robustServer(): Promise<http.Server> {
  if (server) return server;
  const app = buildApp(testContext().deps, captureLogger());
  const s = http.createServer(app);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  server = s;
  return s;
}

/** supertest against the robustness app. */
export async function rapi() {
  return request(await robustServer());
}

/** Base URL of the robustness app, for raw sockets. */
export async function robustUrl(): Promise<{ host: string; port: number }> {
  const s = await robustServer();
  return { host: '127.0.0.1', port: (s.address() as AddressInfo).port };
}

/** Closes the robustness server (root after hook). */
export async function closeRobustServer(): Promise<void> {
  const s = server;
  server = undefined;
  if (s) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
