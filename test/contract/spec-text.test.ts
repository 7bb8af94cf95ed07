import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { specPath } from '../../src/spec';

/**
 * Why the spec's text must stay Latin-1: V8 keeps a name it first meets in a string that needs
 * two bytes per character (a text holding "—" or "→", say) as a two-byte string, and every later
 * use of that name, our own code's literals included, shares it. The spec names `Resources`,
 * `itemsPerPage` and most response fields, and is parsed before any response is built, so one
 * such character in it made every JSON response a two-byte string: twice the size, and its UTF-8
 * encoding for the socket cost ~0.7 ms of a 100-user SCIM page's ~2.5 ms (measured).
 */
describe('contract: spec/openapi.yaml keeps JSON responses one byte per character', () => {
  it('holds only Latin-1 characters', () => {
    const lines = fs.readFileSync(specPath, 'utf8').split('\n');
    const wide = lines.map((line, i) => ({ line: i + 1, chars: line.match(/[^\u0000-\u00ff]/g) })).filter((l) => l.chars);
    expect(wide, 'spec lines with characters beyond Latin-1 (write "-", "--", "->", "..." instead)').to.deep.equal([]);
  });

  it('once the spec is loaded, a SCIM ListResponse serializes as a one-byte string', function () {
    this.timeout(30_000);
    // A fresh process: which form of a name V8 keeps depends on where it met the name first.
    const script = `
      require('./src/spec').loadSpec();
      const { listResponse, presentUser } = require('./src/http/scim/present');
      const at = new Date();
      const user = { id: 'u', seq: 1, tenantId: 't', userName: 'u', externalId: 'e', displayName: 'U', active: true, resource: {}, version: 1, createdAt: at, updatedAt: at };
      const json = JSON.stringify(listResponse([presentUser(user, [{ id: 'g', name: 'G' }], 'http://x/scim/v2')], { totalResults: 1, startIndex: 1 }));
      // v8.serialize tags a one-byte string '"' and a two-byte one 'c'.
      process.stdout.write(String.fromCharCode(require('v8').serialize(json)[2]));
    `;
    const root = path.resolve(__dirname, '..', '..');
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout, 'the tag of the serialized response: " is one byte, c two').to.equal('"');
  });
});
