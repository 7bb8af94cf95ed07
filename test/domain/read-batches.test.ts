import { expect } from 'chai';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import request from 'supertest';
import { readLaneCounts, readShapedRows } from '../../src/db/direct';
import { batchedSql, MAX_BATCH, ReadLanes, RUNNING_PER_LANE } from '../../src/db/read-batches';
import { testContext } from '../helpers/context';
import { newTenant, type TestTenant } from '../helpers/factories';
import { bearer } from '../helpers/http';
import { eventually } from '../helpers/wait';

/** A statement as Knex's `query` event reports it (`batch`: the lookups it ran for). */
interface Sent {
  sql: string;
  batch?: number;
}

/** What `fn` sends whose text matches `pattern`. */
async function sentWhile<R>(pattern: RegExp, fn: () => Promise<R>): Promise<{ result: R; sent: Sent[] }> {
  const { db } = testContext();
  const sent: Sent[] = [];
  const listener = (q: Sent) => {
    if (pattern.test(q.sql)) sent.push(q);
  };
  db.on('query', listener);
  try {
    return { result: await fn(), sent };
  } finally {
    db.removeListener('query', listener);
  }
}

/**
 * Lookups sent at once that start at once, alone: two on PostgreSQL (a lane's width); none on
 * PGlite, whose lane gathers every lookup of the event loop's turn before it runs them.
 */
const startAtOnce = () => (testContext().db.client.config.client === 'pg' ? RUNNING_PER_LANE : 0);

let probes = 0;

/** A shaped lookup of a tenant's users by lower(user_name) or external_id, as the SCIM lookup is. */
function lookupOf(tenantId: string, column: 'user_name' | 'external_id') {
  const marker = `/* read-batches probe ${++probes} */`;
  const key = `test.read-batches.${probes}`;
  const where = column === 'user_name' ? 'lower(u.user_name) = lower(?)' : 'u.external_id = ?';
  const build = (db: Knex) => (v: { tenantId: string; value: string }) =>
    db('users as u').select('u.user_name', 'u.external_id', 'u.seq').where('u.tenant_id', v.tenantId).whereRaw(where, [v.value]).whereRaw(`true ${marker}`).orderBy('u.seq');
  return {
    marker: new RegExp(marker.replace(/[*/]/g, (c) => `\\${c}`)),
    run: (value: string, type = 'text') => {
      const { db } = testContext();
      return readShapedRows<{ user_name: string; external_id: string | null }, { tenantId: string; value: string }>(db, key, { tenantId, value }, build(db), {
        prepared: true,
        batchBy: { name: 'value', type },
      });
    },
  };
}

const outcome = (p: Promise<unknown[]>) =>
  p.then(
    (rows) => ({ rows }),
    (err: { code?: string }) => ({ error: err.code ?? String(err) }),
  );

describe('lookups that arrive together run as one statement (src/db/read-batches.ts)', () => {
  describe('the batched text', () => {
    it('runs the lookup per value of an array, the other bindings renumbered from $1 and the array last', () => {
      const b = batchedSql('SELECT * FROM t WHERE a = $1 AND lower(b) = lower($2) AND c = $3 OR d = $2 LIMIT $4', 4, [1], 'text')!;
      expect(b.sql).to.equal(
        'SELECT roster_batch.i AS roster_batch_position, roster_batched.* FROM unnest($4::text[]) WITH ORDINALITY AS roster_batch(v, i) ' +
          'CROSS JOIN LATERAL (SELECT * FROM t WHERE a = $1 AND lower(b) = lower(roster_batch.v) AND c = $2 OR d = roster_batch.v LIMIT $3) AS roster_batched',
      );
      expect(b.bindings(['t', 'x', 'c', 10], ['p', 'q'])).to.deep.equal(['t', 'c', 10, ['p', 'q']]);
    });

    it('leaves quoted texts and identifiers alone, and refuses what it cannot rewrite safely', () => {
      const b = batchedSql(`SELECT 'costs $1 ''or'' $2' AS "a$1""b", $1 AS v`, 1, [0], 'uuid')!;
      expect(b.sql).to.contain(`(SELECT 'costs $1 ''or'' $2' AS "a$1""b", roster_batch.v AS v)`);
      expect(b.sql).to.contain('unnest($1::uuid[])');
      expect(batchedSql('SELECT $tag$ x $tag$, $1', 1, [0], 'text'), 'dollar quoting').to.equal(undefined);
      expect(batchedSql("SELECT 'open, $1", 1, [0], 'text'), 'an open quote').to.equal(undefined);
      expect(batchedSql('SELECT $1, $2', 1, [0], 'text'), 'a placeholder past the bindings').to.equal(undefined);
      expect(batchedSql('SELECT $1', 1, [], 'text'), 'no place').to.equal(undefined);
      expect(batchedSql('SELECT $1', 1, [0], 'text); DROP TABLE x; --'), 'a type that is no type name').to.equal(undefined);
    });
  });

  describe('a gathering lane (PGlite)', () => {
    /** A runner that records how it was asked: each value alone, or several together. */
    function recorder() {
      const calls: string[][] = [];
      const runner = {
        alone: async (v: string) => (calls.push([v]), [`${v}!`]),
        together: async (vs: readonly string[]) => (calls.push([...vs]), vs.map((v) => ({ status: 'fulfilled' as const, value: [`${v}!`] }))),
      };
      return { calls, runner };
    }

    it('runs a lone lookup alone, at the end of the turn, and the lookups of one turn together', async () => {
      const lanes = new ReadLanes(1, true);
      const { calls, runner } = recorder();
      const lone = lanes.read('k', 'a', runner);
      expect(calls, 'nothing runs before the turn ends').to.deep.equal([]);
      expect(await lone).to.deep.equal(['a!']);
      expect(await Promise.all(['b', 'c', 'd'].map((v) => lanes.read('k', v, runner)))).to.deep.equal([['b!'], ['c!'], ['d!']]);
      // Another lane (another statement or tenant) gathers apart.
      expect(await Promise.all([lanes.read('k', 'e', runner), lanes.read('other', 'f', runner)])).to.deep.equal([['e!'], ['f!']]);
      expect(calls).to.deep.equal([['a'], ['b', 'c', 'd'], ['e'], ['f']]);
      expect(lanes.counts()).to.deep.equal({ lanes: 0, running: 0, waiting: 0 });
    });

    it('lets what arrives while a batch runs wait for the next one', async () => {
      const lanes = new ReadLanes(1, true);
      const { calls, runner } = recorder();
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const held = { ...runner, together: async (vs: readonly string[]) => (calls.length ? undefined : await gate, runner.together(vs)) };
      const first = ['a', 'b'].map((v) => lanes.read('k', v, held));
      await new Promise((r) => setImmediate(r));
      expect(lanes.counts(), 'the first batch runs').to.deep.equal({ lanes: 1, running: 1, waiting: 0 });
      const second = ['c', 'd', 'e'].map((v) => lanes.read('k', v, held));
      expect(lanes.counts(), 'the next ones wait').to.deep.equal({ lanes: 1, running: 1, waiting: 3 });
      open();
      expect(await Promise.all([...first, ...second])).to.deep.equal([['a!'], ['b!'], ['c!'], ['d!'], ['e!']]);
      expect(calls).to.deep.equal([['a', 'b'], ['c', 'd', 'e']]);
    });
  });

  describe('on the database', () => {
    let t: TestTenant;
    before(async () => {
      t = await newTenant();
      for (const name of ['Alice', 'bob', 'Carol', 'dave']) await t.user({ userName: `${name}@rb.example.com`, externalId: name === 'bob' || name === 'dave' ? 'shared' : `x-${name}` });
    });

    it('runs as many lookups at once as the lane takes (2 on PostgreSQL) and the rest that arrived meanwhile as one statement (on PGlite all of one turn of the event loop), each with its own rows', async () => {
      const lookup = lookupOf(t.id, 'user_name');
      const values = ['alice@rb.example.com', 'BOB@rb.example.com', 'nobody@rb.example.com', 'carol@RB.example.com', 'alice@rb.example.com', '', "o'brien \\ \"q\" 😀", 'Dave@rb.example.com'];
      const alone: unknown[] = [];
      for (const v of values) alone.push(await outcome(lookup.run(v)));
      const { result, sent } = await sentWhile(lookup.marker, () => Promise.all(values.map((v) => outcome(lookup.run(v)))));
      expect(result).to.deep.equal(alone);
      expect(alone.map((o) => (o as { rows: { user_name: string }[] }).rows.map((r) => r.user_name))).to.deep.equal([
        ['Alice@rb.example.com'],
        ['bob@rb.example.com'],
        [],
        ['Carol@rb.example.com'],
        ['Alice@rb.example.com'],
        [],
        [],
        ['dave@rb.example.com'],
      ]);
      expect(sent.map((q) => q.batch ?? 1)).to.deep.equal([...Array(startAtOnce()).fill(1), values.length - startAtOnce()]);
      expect(readLaneCounts(testContext().db)).to.deep.equal({ lanes: 0, running: 0, waiting: 0 });
    });

    it('keeps several rows of one value in their order, and splits a crowd into batches of at most MAX_BATCH', async () => {
      const lookup = lookupOf(t.id, 'external_id');
      const values = Array.from({ length: MAX_BATCH + 10 }, (_v, i) => (i % 3 === 0 ? 'shared' : i % 3 === 1 ? 'x-Carol' : `missing-${i}`));
      const { result, sent } = await sentWhile(lookup.marker, () => Promise.all(values.map((v) => lookup.run(v))));
      for (const [i, v] of values.entries()) {
        expect(result[i].map((r) => r.user_name), v).to.deep.equal(v === 'shared' ? ['bob@rb.example.com', 'dave@rb.example.com'] : v === 'x-Carol' ? ['Carol@rb.example.com'] : []);
      }
      const batches = sent.map((q) => q.batch ?? 1);
      expect(batches.filter((n) => n === 1)).to.have.length(startAtOnce());
      expect(batches.filter((n) => n > 1).sort((a, b) => b - a)).to.deep.equal([MAX_BATCH, values.length - startAtOnce() - MAX_BATCH]);
    });

    it("gives each lookup its own error and its batch-mates their rows when one value fails (a NUL byte), as alone", async () => {
      const lookup = lookupOf(t.id, 'user_name');
      const values = ['alice@rb.example.com', 'bob@rb.example.com', 'carol@rb.example.com', 'bad\u0000value', 'dave@rb.example.com'];
      const alone: unknown[] = [];
      for (const v of values) alone.push(await outcome(lookup.run(v)));
      expect(alone[3]).to.have.property('error');
      const { result, sent } = await sentWhile(lookup.marker, () => Promise.all(values.map((v) => outcome(lookup.run(v)))));
      expect(result).to.deep.equal(alone);
      // The batch failed as a whole, then each of its lookups ran alone.
      const w = startAtOnce();
      expect(sent.map((q) => q.batch ?? 1)).to.deep.equal([...Array(w).fill(1), values.length - w, ...Array(values.length - w).fill(1)]);
    });

    it('runs each lookup alone, from then on, when the server refuses the batched text (a wrong type)', async () => {
      const lookup = lookupOf(t.id, 'user_name');
      const values = ['alice@rb.example.com', 'bob@rb.example.com', 'carol@rb.example.com', 'dave@rb.example.com'];
      // Typed uuid, the array does not fit `lower(...)`: 42883, the batch is not tried again.
      const first = await sentWhile(lookup.marker, () => Promise.all(values.map((v) => lookup.run(v, 'uuid'))));
      expect(first.result.map((rows) => rows.map((r) => r.user_name))).to.deep.equal([['Alice@rb.example.com'], ['bob@rb.example.com'], ['Carol@rb.example.com'], ['dave@rb.example.com']]);
      const w = startAtOnce();
      expect(first.sent.map((q) => q.batch ?? 1)).to.deep.equal([...Array(w).fill(1), values.length - w, ...Array(values.length - w).fill(1)]);
      const again = await sentWhile(lookup.marker, () => Promise.all(values.map((v) => lookup.run(v, 'uuid'))));
      expect(again.result).to.deep.equal(first.result);
      expect(again.sent.map((q) => q.batch ?? 1)).to.deep.equal([1, 1, 1, 1]);
    });
  });

  describe('through HTTP', () => {
    let t: TestTenant;
    let token: string;
    const groupIds: string[] = [];
    // One listening server, as in production: every request has the same Host, so the same
    // links in its statement's bindings (supertest on the app would give each its own port).
    let server: Server;
    let api: () => ReturnType<typeof request>;
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    before(async () => {
      server = testContext().app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      api = () => request(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      t = await newTenant();
      token = await t.token(['all']);
      for (let i = 0; i < 12; i++) {
        const u = await t.user({ userName: `crowd-${i}@example.com`, externalId: `crowd-ext-${i % 4}` });
        const g = await t.group({ name: `Crowd ${i}` });
        groupIds.push(g.id);
        if (i % 2 === 0) await testContext().deps.services.groupDirectory.mutateGroup(t.admin, g.id, { addMembers: [{ id: u.id }] });
      }
    });

    /**
     * Sends every request at once while `table` is locked, so that the lookups pile up in their
     * lanes; then lets them go. Each answers what it answers alone (`normal` takes out what
     * differs by the moment: an expiry), and those that waited ran together.
     */
    async function crowd(table: string, n: number, send: (i: number) => Promise<{ status: number; body: unknown }>, normal = (b: unknown) => b): Promise<{ status: number; body: unknown }[]> {
      const { db } = testContext();
      const alone = [];
      for (let i = 0; i < n; i++) alone.push(await send(i));
      expect(alone.map((r) => r.status)).to.include(200);
      const batches: number[] = [];
      const listener = (q: Sent) => {
        if (q.batch) batches.push(q.batch);
      };
      db.on('query', listener);
      try {
        const trx = await db.transaction();
        await trx.raw(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        const all = Promise.all(Array.from({ length: n }, (_v, i) => send(i)));
        try {
          await eventually(() => {
            const c = readLaneCounts(db);
            return c.running + c.waiting === n;
          });
        } finally {
          await trx.commit();
        }
        const together = await all;
        expect(together.map((r) => [r.status, normal(r.body)])).to.deep.equal(alone.map((r) => [r.status, normal(r.body)]));
        return alone;
      } finally {
        db.removeListener('query', listener);
      }
      expect(batches.length, 'statements that ran several lookups').to.be.greaterThan(0);
      expect(batches.reduce((a, b) => a + b, 0)).to.be.at.most(n - startAtOnce());
    }

    it('answers SCIM userName and externalId eq lookups sent at once as it answers each alone', async () => {
      const alone = await crowd('users', 30, (i) => {
        const filter = i % 3 === 0 ? `userName eq "CROWD-${i % 12}@example.com"` : i % 3 === 1 ? `externalId eq "crowd-ext-${i % 5}"` : `userName eq "missing-${i}@example.com"`;
        return api().get(`/scim/v2/Users?filter=${encodeURIComponent(filter)}`).set(bearer(token));
      });
      expect(alone.map((r) => r.status)).to.deep.equal(Array(30).fill(200));
    });

    // A Groups v2 error names its request (contextId), different for each.
    const withoutContextId = (body: unknown) => ({ ...(body as object), contextId: undefined });

    it('answers group GETs by id (SCIM, Groups v2; one group many times, a missing one) sent at once as it answers each alone', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      const alone = await crowd('groups', 30, (i) => {
        const id = i % 5 === 4 ? missing : i % 3 === 0 ? groupIds[0] : groupIds[i % groupIds.length];
        return i % 2 === 0 ? api().get(`/scim/v2/Groups/${id}?excludedAttributes=members`).set(bearer(token)) : api().get(`/api/v2/groups/${id}`).set(bearer(token));
      }, withoutContextId);
      expect(alone.map((r) => r.status)).to.deep.equal(Array.from({ length: 30 }, (_v, i) => (i % 5 === 4 ? 404 : 200)));
      expect((alone[0].body as { displayName: string }).displayName).to.equal('Crowd 0');
    });

    it('answers Groups v2 searches by name sent at once as it answers each alone', async () => {
      // A search's link carries its expiry, which moves with the clock.
      const withoutExpiry = (body: unknown) => {
        const { currentPage, ...rest } = body as { currentPage?: string };
        return currentPage === undefined ? rest : { ...rest, currentPage: currentPage.replace(/q64=.*/, 'q64=…') };
      };
      const alone = await crowd(
        'groups',
        24,
        (i) =>
          api()
            .post('/api/v2/groups/search')
            .set(bearer(token))
            .send({ query: [{ type: 'EXACT', fields: ['name'], value: i % 2 === 0 ? `crowd ${i % 14}` : `nothing ${i}` }] }),
        withoutExpiry,
      );
      expect(alone.map((r) => r.status)).to.deep.equal(Array(24).fill(200));
    });
  });
});
