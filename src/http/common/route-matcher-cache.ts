import path from 'node:path';

type PathToRegexp = (route: unknown, options?: Record<string, unknown>) => { regexp: RegExp; keys: unknown[] };

const CACHE_LIMIT = 2048;
/** Options with primitive values (path-to-regexp 8 reads sensitive/end/trailing/delimiter; the validator also passes strict); anything else is not cached. */
const OPTION_KEYS = new Set(['sensitive', 'strict', 'end', 'trailing', 'delimiter']);
let installed = false;

/**
 * express-openapi-validator 5.6 compiles every spec route with path-to-regexp on every request
 * while it looks for the operation (`lookupRoute` in its openapi.metadata.js): with our ~50 paths
 * that was ~9% of a request's CPU. Upstream has the fix open (cdimascio/express-openapi-validator
 * PR #1217, "perf: cache route matchers"); until it ships, memoize the `pathToRegexp` export of
 * the path-to-regexp copy the validator loads, which it reads from the module on every call.
 *
 * Safe because the function is pure for a (string route, options) pair, the regexps it builds
 * carry no `g`/`y` flag (no `lastIndex` state) and callers only read the result. Only string
 * routes are cached, and the cache is bounded; the routes come from the spec and from
 * Express's own route registration, never from a request.
 */
export function cacheOpenApiRouteMatchers(): void {
  if (installed) return;
  const validatorDir = path.dirname(require.resolve('express-openapi-validator'));
  const mod = require(require.resolve('path-to-regexp', { paths: [validatorDir] })) as { pathToRegexp: PathToRegexp };
  const compile = mod.pathToRegexp;
  // One map per combination of the boolean-ish options; keyed by the route string alone.
  const caches = new Map<string, Map<string, ReturnType<PathToRegexp>>>();
  let size = 0;
  mod.pathToRegexp = (route, options = {}) => {
    if (typeof route !== 'string') return compile(route, options);
    let flags = '';
    for (const k in options) {
      if (!OPTION_KEYS.has(k)) return compile(route, options);
      flags += `${k}=${String(options[k])};`;
    }
    let cache = caches.get(flags);
    if (!cache) caches.set(flags, (cache = new Map()));
    let hit = cache.get(route);
    if (!hit) {
      hit = compile(route, options);
      if (size < CACHE_LIMIT) {
        cache.set(route, hit);
        size += 1;
      }
    }
    return hit;
  };
  installed = true;
}
