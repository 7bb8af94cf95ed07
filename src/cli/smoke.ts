/**
 * `npm run smoke -- <base-url> <token>`: after a deploy, one request per dialect against the
 * running instance (plus health, the contract and the reference page). Prints one line per
 * check; exits 0 when every check passed, 1 when one failed, 2 on bad usage. A dialect that the
 * instance's contract does not contain is skipped with a message. Use a token with every right
 * (`npm run -s token -- create --name smoke --rights all`), and revoke it afterwards.
 */

const HELP = `Usage: npm run smoke -- <base-url> <token>

  base-url   where the instance answers, e.g. https://my-roster.herokuapp.com
  token      a Roster token with every right (token create --rights all)

One request per dialect (SCIM, Groups v2, Groups v1, group entities, group bags, OAuth, change
feed) plus /healthz, /readyz, /openapi.json and /docs. Exit codes: 0 all passed, 1 a check
failed, 2 bad usage.`;

export interface Check {
  name: string;
  /** Present in the instance's contract when the dialect is deployed there. */
  path: string;
  method?: 'GET' | 'POST';
  url: string;
  auth?: boolean;
  body?: { type: string; text: string };
  expect: (res: { status: number; type: string; body: unknown; text: string }) => string | undefined;
}

export interface CheckResult {
  name: string;
  outcome: 'ok' | 'fail' | 'skip';
  detail: string;
}

const json = (type: string) => /json/.test(type);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What each dialect's check asks and what it accepts. */
export function checks(): Check[] {
  const nobody = '00000000-0000-4000-8000-000000000000';
  return [
    { name: 'health', path: '/healthz', url: '/healthz', expect: (r) => (r.status === 200 && isObject(r.body) && r.body.status === 'ok' ? undefined : 'not ok') },
    { name: 'ready', path: '/readyz', url: '/readyz', expect: (r) => (r.status === 200 ? undefined : 'the database does not answer') },
    { name: 'docs', path: '/docs', url: '/docs', expect: (r) => (r.status === 200 && /swagger-ui/.test(r.text) ? undefined : 'no reference page') },
    {
      name: 'scim',
      path: '/scim/v2/Users',
      url: '/scim/v2/Users?count=1',
      auth: true,
      expect: (r) => (r.status === 200 && /scim\+json/.test(r.type) && isObject(r.body) && Array.isArray(r.body.Resources) ? undefined : 'not a SCIM ListResponse'),
    },
    {
      name: 'groups-v2',
      path: '/api/v2/groups',
      url: '/api/v2/groups?pageSize=1',
      auth: true,
      expect: (r) => (r.status === 200 && isObject(r.body) && Array.isArray(r.body.entities) ? undefined : 'not an entity listing'),
    },
    { name: 'groups-v1', path: '/api/v1/groups', url: '/api/v1/groups?pageSize=1', auth: true, expect: (r) => (r.status === 200 && Array.isArray(r.body) ? undefined : 'not a group array') },
    {
      name: 'group-entities',
      path: '/group/{groupId}',
      url: `/group/${nobody}`,
      auth: true,
      // An unknown id proves routing, authentication and the dialect's error shape without data.
      expect: (r) => (r.status === 404 && isObject(r.body) && r.body['entity-type'] === 'exception' ? undefined : 'expected the Nuxeo 404 exception for an unknown group'),
    },
    { name: 'group-bags', path: '/api/v1/group', url: '/api/v1/group?limit=1', auth: true, expect: (r) => (r.status === 200 && Array.isArray(r.body) ? undefined : 'not a group array') },
    {
      name: 'oauth',
      path: '/oauth/token',
      method: 'POST',
      url: '/oauth/token',
      body: { type: 'application/x-www-form-urlencoded', text: `grant_type=client_credentials&client_id=${nobody}&client_secret=smoke` },
      // Unknown client credentials: the endpoint must answer RFC 6749's invalid_client.
      expect: (r) => (r.status === 401 && isObject(r.body) && r.body.error === 'invalid_client' ? undefined : 'expected 401 invalid_client'),
    },
    {
      name: 'changes',
      path: '/api/v2/changes',
      url: '/api/v2/changes?limit=1',
      auth: true,
      expect: (r) => (r.status === 200 && isObject(r.body) && Array.isArray(r.body.entities) ? undefined : 'not a change feed page'),
    },
  ];
}

async function runCheck(base: string, token: string, c: Check): Promise<CheckResult> {
  const started = Date.now();
  const label = `${c.method ?? 'GET'} ${c.url}`;
  try {
    const res = await fetch(new URL(c.url, base), {
      method: c.method ?? 'GET',
      headers: { Accept: 'application/json, application/scim+json, text/html', ...(c.auth ? { Authorization: `Bearer ${token}` } : {}), ...(c.body ? { 'Content-Type': c.body.type } : {}) },
      body: c.body?.text,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    let body: unknown = text;
    if (json(type)) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const ms = Date.now() - started;
    if (c.auth && res.status === 401) return { name: c.name, outcome: 'fail', detail: `${label} → 401: the token was refused (unknown, revoked or expired)` };
    if (c.auth && res.status === 403) return { name: c.name, outcome: 'fail', detail: `${label} → 403: the token lacks a right (use --rights all)` };
    const problem = c.expect({ status: res.status, type, body, text });
    return problem
      ? { name: c.name, outcome: 'fail', detail: `${label} → ${res.status}: ${problem} ${text.slice(0, 200)}` }
      : { name: c.name, outcome: 'ok', detail: `${label} → ${res.status} (${ms} ms)` };
  } catch (err) {
    return { name: c.name, outcome: 'fail', detail: `${label}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Runs every check against `base`; dialects missing from the instance's contract are skipped. */
export async function smoke(base: string, token: string, report: (r: CheckResult) => void = () => undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    results.push(r);
    report(r);
  };
  let paths: Set<string> | undefined;
  try {
    const res = await fetch(new URL('/openapi.json', base), { signal: AbortSignal.timeout(15_000) });
    const doc = (await res.json()) as { paths?: Record<string, unknown> };
    if (!res.ok || !doc.paths) throw new Error(`status ${res.status}`);
    paths = new Set(Object.keys(doc.paths));
    add({ name: 'contract', outcome: 'ok', detail: `GET /openapi.json → ${res.status} (${paths.size} paths)` });
  } catch (err) {
    add({ name: 'contract', outcome: 'fail', detail: `GET /openapi.json: ${err instanceof Error ? err.message : String(err)}` });
  }
  for (const c of checks()) {
    if (paths && !paths.has(c.path)) {
      add({ name: c.name, outcome: 'skip', detail: `${c.path} is not in this instance's contract: no routes for ${c.name} yet` });
      continue;
    }
    add(await runCheck(base, token, c));
  }
  return results;
}

/** `smoke <base-url> <token>`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [base, token, ...rest] = argv;
  if (base === '-h' || base === '--help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (!base || !token || rest.length || !/^https?:\/\/[^/\s]+/i.test(base)) {
    process.stderr.write(`smoke: give a base URL (http[s]://host[:port]) and a token\n\n${HELP}\n`);
    return 2;
  }
  const results = await smoke(base, token, (r) => process.stdout.write(`${r.outcome.padEnd(4)}  ${r.name.padEnd(14)}  ${r.detail}\n`));
  const failed = results.filter((r) => r.outcome === 'fail').length;
  process.stdout.write(failed ? `\nsmoke: ${failed} check(s) failed\n` : '\nsmoke: all checks passed\n');
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`smoke: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
