import http from 'node:http';
import type { Express } from 'express';

type Classes = Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'>;

/**
 * Request and response classes for `http.createServer` whose instances are born with the app's
 * own prototypes (`app.request`, `app.response`), so the `Object.setPrototypeOf` Express 5 does
 * on every request finds nothing to change.
 *
 * Why: changing an object's prototype after it was built made V8 keep each request's objects
 * alive through the next young-generation collections; they were promoted to the old generation
 * and freed only by full collections. Measured on the 2-core bench machine (`--trace-gc-nvp`,
 * one client): bare Express kept 7.5 KB of every request past a scavenge and spent 13% of its
 * time scavenging; with these classes 1.6 KB and 4%. Roster's GET of a group: see README
 * "Performance".
 */
export function appServerClasses(app: Express): Classes {
  function RosterRequest(...args: unknown[]): http.IncomingMessage {
    return Reflect.construct(http.IncomingMessage, args, RosterRequest) as http.IncomingMessage;
  }
  RosterRequest.prototype = app.request;
  function RosterResponse(...args: unknown[]): http.ServerResponse {
    return Reflect.construct(http.ServerResponse, args, RosterResponse) as http.ServerResponse;
  }
  RosterResponse.prototype = app.response;
  return {
    IncomingMessage: RosterRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: RosterResponse as unknown as typeof http.ServerResponse,
  };
}

/** `http.createServer(options, app)` with {@link appServerClasses}. */
export function createAppServer(app: Express, options: http.ServerOptions = {}): http.Server {
  return http.createServer({ ...options, ...appServerClasses(app) }, app);
}
