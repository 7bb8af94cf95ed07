import pino, { type Logger } from 'pino';
import { createLogger } from '../../src/logger';

/**
 * Guarantee 7's log half, for the whole test run: the shared app logs at `trace` through the
 * production logger (its redaction rules) into this scanner, which keeps every line that carries a
 * secret-shaped string; the root hook fails the run when any was kept (test/hooks.ts).
 */

/** Secret-shaped strings: Roster tokens and OAuth client secrets (src/domain/tokens/token.ts). */
export const SECRET_SHAPES = [/rst_[A-Za-z0-9_-]{40,}/, /rsc_[A-Za-z0-9_-]{40,}/];

export const hasSecretShape = (line: string): boolean => SECRET_SHAPES.some((re) => re.test(line));

const leaked: string[] = [];
let scanned = 0;

/** A logger at `trace` (the most it can say) whose lines are scanned and dropped. */
export function scanningLogger(): Logger {
  const logger = createLogger('trace');
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = {
    write: (line: string) => {
      scanned += 1;
      if (hasSecretShape(line) && leaked.length < 20) leaked.push(line);
    },
  };
  return logger;
}

/** What the scanner saw: how many lines, and the ones with a secret in them. */
export function scanReport(): { scanned: number; leaked: readonly string[] } {
  return { scanned, leaked };
}
