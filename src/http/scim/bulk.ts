import type { Request, Response } from 'express';
import { principalOf } from '../../auth/require-rights';
import type { Services } from '../../container';
import type { Principal } from '../../domain/principal';
import type { VersionCondition } from '../../domain/versions';
import { invalidSyntax, invalidValue, ScimError, scimErrorOf } from './errors';
import { membersOf } from './groups.handlers';
import { groupMutationFromPatch, parsePatchRequest } from './patch';
import { etagOf, scimBase, userInput } from './present';
import { patchedUserInput } from './users.handlers';
import { coerceResource, declaresSchema, getKey, isObject, type Json, type JsonObject } from './resource';
import { SCHEMA } from './schemas';

/** RFC 7644 §3.7: limits advertised in ServiceProviderConfig and enforced before any work. */
export const MAX_BULK_OPERATIONS = 1000;
export const MAX_BULK_PAYLOAD = 1_048_576;

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface BulkOp {
  index: number;
  method: Method;
  bulkId?: string;
  path: string;
  data?: unknown;
  version?: string;
  deps: Set<string>;
}

interface BulkResult {
  method: Method;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: JsonObject;
}

const BULK_REF = /^bulkId:(.+)$/;

/** Every bulkId a value references ("bulkId:x" anywhere in the path or data). */
function collectRefs(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    const m = BULK_REF.exec(value);
    if (m) into.add(m[1]);
  } else if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, into);
  } else if (isObject(value)) {
    for (const v of Object.values(value)) collectRefs(v, into);
  }
}

/** A bulkId in a path is a whole segment: `/Groups/bulkId:g1`. */
const PATH_REF = /\/bulkId:([^/]+)/g;

function collectPathRefs(path: string, into: Set<string>): void {
  for (const m of path.matchAll(PATH_REF)) into.add(m[1]);
}

function substitutePath(path: string, ids: Map<string, string>): string {
  return path.replace(PATH_REF, (whole, ref: string) => (ids.has(ref) ? `/${ids.get(ref)}` : whole));
}

function substitute(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const m = BULK_REF.exec(value);
    return m && ids.has(m[1]) ? ids.get(m[1]) : value;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, ids));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  return value;
}

function parseOps(body: unknown): { ops: BulkOp[]; failOnErrors?: number } {
  if (!isObject(body)) throw invalidSyntax('the Bulk body must be a JSON object');
  if (!declaresSchema(body, SCHEMA.bulkRequest)) throw invalidSyntax(`"schemas" must include ${SCHEMA.bulkRequest}`);
  const raw = body[getKey(body, 'Operations') ?? 'Operations'];
  if (!Array.isArray(raw)) throw invalidSyntax('"Operations" must be an array');
  if (raw.length > MAX_BULK_OPERATIONS) throw new ScimError(413, undefined, `the bulk request has more than maxOperations (${MAX_BULK_OPERATIONS}) operations`);
  const foe = body[getKey(body, 'failOnErrors') ?? 'failOnErrors'];
  if (foe !== undefined && (typeof foe !== 'number' || !Number.isInteger(foe) || foe < 1)) throw invalidValue('"failOnErrors" must be a positive integer');
  const seen = new Set<string>();
  const ops = raw.map((o, index): BulkOp => {
    if (!isObject(o)) throw invalidSyntax(`operation ${index + 1} must be an object`);
    const methodValue = o[getKey(o, 'method') ?? 'method'];
    const method = (typeof methodValue === 'string' ? methodValue : '').toUpperCase();
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw invalidValue(`operation ${index + 1}: "method" must be POST, PUT, PATCH or DELETE`);
    const path = o[getKey(o, 'path') ?? 'path'];
    if (typeof path !== 'string' || !path) throw invalidValue(`operation ${index + 1}: "path" is required`);
    const bulkId = o[getKey(o, 'bulkId') ?? 'bulkId'];
    if (bulkId !== undefined && (typeof bulkId !== 'string' || !bulkId)) throw invalidValue(`operation ${index + 1}: "bulkId" must be a string`);
    if (method === 'POST' && !bulkId) throw invalidValue(`operation ${index + 1}: a POST needs a "bulkId"`);
    if (typeof bulkId === 'string') {
      if (seen.has(bulkId)) throw invalidValue(`bulkId "${bulkId}" is used twice`);
      seen.add(bulkId);
    }
    const data = o[getKey(o, 'data') ?? 'data'];
    const version = o[getKey(o, 'version') ?? 'version'];
    const deps = new Set<string>();
    collectPathRefs(path, deps);
    collectRefs(data, deps);
    return {
      index,
      method: method as Method,
      ...(typeof bulkId === 'string' ? { bulkId } : {}),
      path,
      data,
      ...(typeof version === 'string' ? { version } : {}),
      deps,
    };
  });
  return { ops, ...(typeof foe === 'number' ? { failOnErrors: foe } : {}) };
}

function versionCondition(version: string | undefined): VersionCondition {
  if (!version) return undefined;
  const m = /^(?:W\/)?"(\d{1,10})"$/.exec(version.trim());
  return m ? Number(m[1]) : [];
}

/** Executes one operation through the core services (each in its own transaction). */
async function execute(services: Services, p: Principal, op: BulkOp, base: string): Promise<{ status: number; id?: string; version?: number }> {
  const m = /^\/(Users|Groups)(?:\/([^/]+))?\/?$/i.exec(op.path);
  if (!m) throw new ScimError(400, 'invalidPath', `unsupported bulk path "${op.path}"`);
  const type = m[1].toLowerCase() === 'users' ? 'User' : 'Group';
  const id = m[2];
  if ((op.method === 'POST') === Boolean(id)) throw new ScimError(400, 'invalidPath', `${op.method} ${op.path}: ${op.method === 'POST' ? 'no id in the path' : 'the path needs an id'}`);
  const cond = versionCondition(op.version);
  void base;
  if (type === 'User') {
    switch (op.method) {
      case 'POST': {
        const u = await services.users.createUser(p, userInput(coerceResource('User', op.data)));
        return { status: 201, id: u.id, version: u.version };
      }
      case 'PUT': {
        const u = await services.users.replaceUser(p, id!, userInput(coerceResource('User', op.data)), cond);
        return { status: 200, id: u.id, version: u.version };
      }
      case 'PATCH': {
        const ops = parsePatchRequest(op.data);
        const u = await services.users.modifyUser(p, id!, (cur) => patchedUserInput(cur, ops), cond);
        return { status: 200, id: u.id, version: u.version };
      }
      case 'DELETE':
        await services.users.deleteUser(p, id!, cond);
        return { status: 204, id };
    }
  }
  switch (op.method) {
    case 'POST': {
      const c = coerceResource('Group', op.data);
      const g = await services.groupDirectory.createGroup(p, { name: c.core.displayName as string, externalId: c.externalId ?? null }, membersOf(c.core));
      return { status: 201, id: g.id, version: g.version };
    }
    case 'PUT': {
      const c = coerceResource('Group', op.data);
      const g = await services.groupDirectory.mutateGroup(p, id!, { changes: { name: c.core.displayName as string, externalId: c.externalId ?? null }, replaceMembers: membersOf(c.core) }, cond);
      return { status: 200, id: g.id, version: g.version };
    }
    case 'PATCH': {
      const g = await services.groupDirectory.mutateGroup(p, id!, groupMutationFromPatch(parsePatchRequest(op.data), id!), cond);
      return { status: 200, id: g.id, version: g.version };
    }
    case 'DELETE':
      await services.groupDirectory.deleteGroup(p, id!, cond);
      return { status: 204, id };
  }
}

/** A POST of a user: the operations a Bulk runs many at a time. */
const isUserCreate = (op: BulkOp) => op.method === 'POST' && /^\/Users\/?$/i.test(op.path);

/**
 * The run of user creates at the head of the queue that can go together: each already runnable
 * (every bulkId it references created), none referencing another of the run. Empty when
 * `failOnErrors` is set: then each error must be counted before the next operation runs.
 */
function userCreateRun(pending: BulkOp[], created: Map<string, string>, failOnErrors: number | undefined): BulkOp[] {
  if (failOnErrors) return [];
  const run: BulkOp[] = [];
  for (const op of pending) {
    if (!isUserCreate(op) || ![...op.deps].every((d) => created.has(d))) break;
    run.push(op);
  }
  return run.length > 1 ? run : [];
}

/**
 * Runs a run of user creates as one multi-row statement (users.createUsers). Each operation
 * still succeeds or fails alone (a taken userName is that operation's 409); what changes is
 * that their rows go to the database together. The results are in the operations' order.
 */
async function executeUserCreates(services: Services, p: Principal, ops: BulkOp[], created: Map<string, string>): Promise<{ op: BulkOp; out?: { status: number; id: string; version: number }; err?: unknown }[]> {
  const inputs = ops.map((op) => {
    try {
      return userInput(coerceResource('User', substitute(op.data, created)));
    } catch (err) {
      return { err };
    }
  });
  const valid = inputs.filter((x): x is ReturnType<typeof userInput> => !('err' in x));
  const outcomes = await services.users.createUsers(p, valid);
  let i = 0;
  return ops.map((op, k) => {
    const input = inputs[k];
    if ('err' in input) return { op, err: input.err };
    const outcome = outcomes[i++];
    return outcome instanceof Error ? { op, err: outcome } : { op, out: { status: 201, id: outcome.id, version: outcome.version } };
  });
}

/**
 * The resource an operation names, as a result's `location` (RFC 7644 §3.7.3: required except
 * for a failed POST): its path's id, a bulkId reference replaced when it was created.
 */
function locationOf(path: string, base: string): string | undefined {
  const m = /^\/(Users|Groups)\/([^/]+)\/?$/i.exec(path);
  return m ? `${base}/${m[1].toLowerCase() === 'users' ? 'Users' : 'Groups'}/${m[2]}` : undefined;
}

function errorResult(op: BulkOp, err: unknown, req?: Request, location?: string): BulkResult {
  const known = scimErrorOf(err);
  if (!known) req?.log?.error({ err, reqId: req.id, operation: op.index + 1 }, 'unexpected error in bulk operation');
  const mapped = known ?? { status: 500, body: { schemas: [SCHEMA.error], status: '500', detail: 'An internal error occurred' } };
  return {
    method: op.method,
    ...(op.bulkId ? { bulkId: op.bulkId } : {}),
    ...(location && op.method !== 'POST' ? { location } : {}),
    status: String(mapped.status),
    response: mapped.body as unknown as JsonObject,
  };
}

/**
 * POST /Bulk (RFC 7644 §3.7): operations run in order, each in its own transaction. An operation
 * that references a later bulkId waits until that one ran; references that form a cycle, or point
 * to an operation that failed or does not exist, fail with 409 / 400. `failOnErrors` stops after
 * that many errors; a client that closes the connection stops the rest. The results are listed
 * in the request's order (an operation that waited for a later one still answers in its place),
 * so a client can match them to operations without a bulkId by position.
 */
export function bulkHandler(services: Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const size = (req as Request & { rawBodyLength?: number }).rawBodyLength ?? Number(req.get('content-length') ?? 0);
    if (size > MAX_BULK_PAYLOAD) throw new ScimError(413, undefined, `the bulk request exceeds maxPayloadSize (${MAX_BULK_PAYLOAD} bytes)`);
    const p = principalOf(req);
    const { ops, failOnErrors } = parseOps(req.body);
    const defined = new Set(ops.map((o) => o.bulkId).filter((b): b is string => Boolean(b)));
    const created = new Map<string, string>();
    const failed = new Set<string>();
    const results: { index: number; result: BulkResult }[] = [];
    const base = scimBase(req);
    let errors = 0;
    let pending = [...ops];

    const record = (op: BulkOp, result: BulkResult) => {
      results.push({ index: op.index, result });
      if (Number(result.status) >= 400) {
        errors++;
        if (op.bulkId) failed.add(op.bulkId);
      }
    };

    const success = (op: BulkOp, out: { status: number; id?: string; version?: number }, path: string) => {
      if (op.bulkId && out.id) created.set(op.bulkId, out.id);
      const typePath = /^\/?users/i.test(path) ? 'Users' : 'Groups';
      record(op, {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        ...(out.version !== undefined ? { version: etagOf(out.version) } : {}),
        ...(out.id ? { location: `${base}/${typePath}/${out.id}` } : {}),
        status: String(out.status),
      });
    };

    // CASE: a client that goes away gets no answer: the operations not yet run are not run (each one
    // that ran stays, as always). A long Bulk (deep bulkId chains) would otherwise go on for nobody.
    let gone = false;
    res.once('close', () => (gone = true));

    let serialLeft = 0;
    while (pending.length && !gone && !(failOnErrors && errors >= failOnErrors)) {
      // CASE: an identity provider's initial sync is a long run of user creates: one statement for the run.
      const run = serialLeft > 0 ? [] : userCreateRun(pending, created, failOnErrors);
      serialLeft = Math.max(0, serialLeft - 1);
      if (run.length) {
        pending = pending.slice(run.length);
        try {
          for (const r of await executeUserCreates(services, p, run, created)) {
            if (r.out) success(r.op, r.out, r.op.path);
            else record(r.op, errorResult(r.op, r.err, req));
          }
          continue;
        } catch (err) {
          // The statement as a whole failed (a value the database refused): run them one by one.
          req.log?.debug?.({ err }, 'bulk user creates fell back to one statement each');
          pending = [...run, ...pending];
          serialLeft = run.length;
          continue;
        }
      }
      const ready = pending.find((o) => [...o.deps].every((d) => created.has(d) || failed.has(d) || !defined.has(d)));
      if (!ready) {
        // Every remaining operation waits on another remaining one: a cycle.
        for (const op of pending) record(op, errorResult(op, new ScimError(409, undefined, `circular bulkId reference in operation ${op.index + 1}`), undefined, locationOf(op.path, base)));
        break;
      }
      pending = pending.filter((o) => o !== ready);
      const missing = [...ready.deps].find((d) => !defined.has(d));
      const brokenDep = [...ready.deps].find((d) => failed.has(d));
      if (missing || brokenDep) {
        const err = missing
          ? new ScimError(400, 'invalidValue', `bulkId "${missing}" is not defined in this request`)
          : new ScimError(409, undefined, `bulkId "${brokenDep}" refers to an operation that failed`);
        record(ready, errorResult(ready, err, undefined, locationOf(substitutePath(ready.path, created), base)));
        continue;
      }
      const resolved = { ...ready, path: substitutePath(ready.path, created), data: substitute(ready.data, created) as Json };
      try {
        success(ready, await execute(services, p, resolved, base), resolved.path);
      } catch (err) {
        record(ready, errorResult(ready, err, req, locationOf(resolved.path, base)));
      }
    }
    if (gone) {
      req.log?.info?.({ ran: results.length, operations: ops.length }, 'bulk stopped: the client went away');
      return;
    }
    results.sort((a, b) => a.index - b.index);
    res.status(200).json({ schemas: [SCHEMA.bulkResponse], Operations: results.map((r) => r.result) });
  };
}
