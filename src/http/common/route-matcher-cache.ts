import path from 'node:path';

type PathToRegexp = (route: unknown, options?: Record<string, unknown>) => { regexp: RegExp; keys: unknown[] };

const CACHE_LIMIT = 2048;
/** Options with primitive values (path-to-regexp 8 reads sensitive/end/trailing/delimiter; the validator also passes strict); anything else is not cached. */
const OPTION_KEYS = new Set(['sensitive', 'strict', 'end', 'trailing', 'delimiter']);
let installed = false;

/** The directory of the express-openapi-validator copy the app loads (its modules are patched here). */
const validatorDir = (): string => path.dirname(require.resolve('express-openapi-validator'));

/**
 * express-openapi-validator 5.6 compiles every spec route with path-to-regexp on every request
 * while it looks for the operation (`lookupRoute` in its openapi.metadata.js): with our ~45 routes
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
  const mod = require(require.resolve('path-to-regexp', { paths: [validatorDir()] })) as { pathToRegexp: PathToRegexp };
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

type RouteMap = Record<string, unknown>;
interface RouteContext {
  expressRouteMap: RouteMap;
  useRequestUrl?: boolean;
}
type Middleware = (req: { url: string; originalUrl: string }, res: unknown, next: (err?: unknown) => void) => unknown;
type ApplyMetadata = (context: RouteContext, responseApiDoc: unknown) => Middleware;

const VIEW_LIMIT = 1024;
/** Characters at which a route stops being a literal (path-to-regexp syntax). */
const ROUTE_SYNTAX = /[:*{}()?+!\\[\]]/;
let narrowed = false;

/** The lowercased literal start of an Express route: `/scim/v2/Users/:id` → `/scim/v2/users/`. */
export function literalPrefix(route: string): string {
  const at = route.search(ROUTE_SYNTAX);
  return (at < 0 ? route : route.slice(0, at)).toLowerCase();
}

/** A request path's lookup key: lowercased, up to and including its fourth `/` (three segments). */
export function lookupKey(url: string): string {
  let end = url.length;
  const q = url.indexOf('?');
  if (q >= 0) end = q;
  let slashes = 0;
  for (let i = 0; i < end; i++) {
    if (url.charCodeAt(i) === 47 && ++slashes === 4) {
      end = i + 1;
      break;
    }
  }
  return url.slice(0, end).toLowerCase();
}

/**
 * The routes of `map` that can match a path starting with `key`, in the map's own order: those
 * whose literal start is a prefix of the key, or starts with it. A superset of the routes whose
 * regexp matches such a path (their matches begin with their literal start, compared without
 * case as the validator's case-insensitive matchers do), so the validator's first match within
 * it is its first match within the whole map.
 */
export function candidateRoutes(map: RouteMap, prefixes: Map<string, string>, key: string): RouteMap {
  const view: RouteMap = {};
  for (const route of Object.keys(map)) {
    const prefix = prefixes.get(route) ?? literalPrefix(route);
    if (key.startsWith(prefix) || prefix.startsWith(key)) view[route] = map[route];
  }
  return view;
}

/**
 * express-openapi-validator 5.6 looks an operation up by testing the request path against every
 * route of the spec in turn (`lookupRoute` in its openapi.metadata.js), ~45 regexps here for
 * each request. This gives its metadata middleware a view of the route map narrowed to the
 * routes that can match the request's first three path segments (memoized per key, bounded), and
 * leaves the lookup itself, its order and its results to the validator. It patches the module
 * export the validator reads when it builds that middleware; call it before the middleware is
 * first used. The view is swapped in only for the synchronous lookup and restored after.
 */
export function narrowOpenApiRouteLookup(): void {
  if (narrowed) return;
  const meta = require(path.join(validatorDir(), 'middlewares', 'openapi.metadata.js')) as { applyOpenApiMetadata: ApplyMetadata };
  const apply = meta.applyOpenApiMetadata;
  meta.applyOpenApiMetadata = (context, responseApiDoc) => {
    const full = context.expressRouteMap;
    const prefixes = new Map(Object.keys(full).map((r) => [r, literalPrefix(r)]));
    const views = new Map<string, RouteMap>();
    let current = full;
    const narrowedContext = Object.create(context, { expressRouteMap: { get: () => current } }) as RouteContext;
    const inner = apply(narrowedContext, responseApiDoc);
    return (req, res, next) => {
      const key = lookupKey(context.useRequestUrl ? req.url : req.originalUrl);
      let view = views.get(key);
      if (!view) {
        view = candidateRoutes(full, prefixes, key);
        if (views.size < VIEW_LIMIT) views.set(key, view);
      }
      current = view;
      try {
        return inner(req, res, next);
      } finally {
        current = full;
      }
    };
  };
  narrowed = true;
}
