import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { TokensService } from '../domain/tokens/tokens.service';

/** Bearer strategy: a presented token is looked up by its hash and becomes a Principal. */
export function bearerStrategy(tokens: TokensService): BearerStrategy<(token: string, done: (err: unknown, user?: unknown) => void) => void> {
  return new BearerStrategy((token, done) => {
    tokens.verifyToken(token).then(
      (principal) => done(null, principal ?? false),
      (err: unknown) => done(err),
    );
  });
}
