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
 * time scavenging.
 *
 * How: they are subclasses of Node's, and the subclasses' prototypes become the app's: each
 * inherits Express's request/response methods, takes the app's own properties (`app`), and
 * `app.request`/`app.response` point to it. An earlier form built each instance with `Reflect.construct(IncomingMessage, args,
 * F)` for a plain function `F`: V8 then derived a fresh hidden class for every request and
 * response, so each request paid for a new map, every property access on them in Express,
 * the router and the middlewares missed its inline caches, and 1.5 KB per request was still
 * promoted. A class's instances share one map (a test checks it). Bare Express's `GET /healthz`:
 * ~5,500 → ~29,000 requests/s on the bench machine.
 */
export function appServerClasses(app: Express): Classes {
  class RosterRequest extends http.IncomingMessage {}
  class RosterResponse extends http.ServerResponse {}
  adopt(RosterRequest.prototype, app.request);
  adopt(RosterResponse.prototype, app.response);
  app.request = RosterRequest.prototype as unknown as Express['request'];
  app.response = RosterResponse.prototype as unknown as Express['response'];
  return { IncomingMessage: RosterRequest, ServerResponse: RosterResponse as unknown as typeof http.ServerResponse };
}

/** Makes `proto` stand in for the app's prototype `appProto`: the same chain above, the same own properties. */
function adopt(proto: object, appProto: object): void {
  Object.setPrototypeOf(proto, Object.getPrototypeOf(appProto));
  const { constructor: _ownClass, ...own } = Object.getOwnPropertyDescriptors(appProto);
  Object.defineProperties(proto, own);
}

/** `http.createServer(options, app)` with {@link appServerClasses}. */
export function createAppServer(app: Express, options: http.ServerOptions = {}): http.Server {
  return http.createServer({ ...options, ...appServerClasses(app) }, app);
}
