import { loadSpec } from '../spec';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface RouteEntry {
  method: string;
  template: string;
  dialect: string;
  pattern: RegExp;
  params: number;
}

/** What a request is, for metrics: the spec's path template and its dialect (the operation's tag). */
export interface RouteLabel {
  route: string;
  dialect: string;
}

let table: RouteEntry[] | undefined;

function buildTable(): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const [template, item] of Object.entries(loadSpec().paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, { tags?: string[] } | undefined>)[method];
      if (!op) continue;
      const source = template
        .split(/(\{[^}]+\})/)
        .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('');
      out.push({ method, template, dialect: op.tags?.[0] ?? 'untagged', pattern: new RegExp(`^${source}$`), params: (template.match(/\{/g) ?? []).length });
    }
  }
  // Literal paths win over templated ones (/groups/search before /groups/{groupId}).
  return out.sort((a, b) => a.params - b.params || b.template.length - a.template.length);
}

let dialects: Map<string, string> | undefined;

function dialectOf(template: string, method: string): string | undefined {
  dialects ??= new Map((table ?? buildTable()).map((r) => [`${r.method} ${r.template}`, r.dialect]));
  return dialects.get(`${method.toLowerCase()} ${template}`);
}

/**
 * The spec operation a request addresses, by method and path, never the raw URL (ids would make
 * every request its own time series). Unknown paths are all "unmatched".
 */
export function routeLabelOf(method: string, url: string, specRoute?: string): RouteLabel {
  table ??= buildTable();
  // The validator has matched the request to a spec path already: only its dialect is looked up.
  if (specRoute !== undefined) {
    const dialect = dialectOf(specRoute, method);
    if (dialect) return { route: specRoute, dialect };
  }
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  if (path.length > 1) path = path.replace(/\/+$/, '');
  const m = method.toLowerCase();
  const hit = table.find((r) => r.method === m && r.pattern.test(path)) ?? table.find((r) => r.pattern.test(path));
  return hit ? { route: hit.template, dialect: hit.dialect } : { route: 'unmatched', dialect: 'none' };
}
