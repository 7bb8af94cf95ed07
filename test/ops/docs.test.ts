import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { docsSpec, rightsLine } from '../../src/http/docs/docs-spec';
import { loadSpec, specPath } from '../../src/spec';
import { testContext } from '../helpers/context';
import { api } from '../helpers/http';
import { listen } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('ops: API reference and contract', () => {
  it('GET / links to the reference, as HTML for browsers and JSON otherwise', async () => {
    const html = await api().get('/').set('Accept', 'text/html').expect(200);
    expect(html.headers['content-type']).to.match(/^text\/html/);
    expect(html.text).to.include('href="/docs"');
    const json = await api().get('/').set('Accept', 'application/json').expect(200);
    expect(json.body).to.include({ docs: '/docs' });
    expect(json.body.openapi).to.deep.equal({ yaml: '/openapi.yaml', json: '/openapi.json' });
  });

  it('serves the contract raw as YAML and as JSON, without a token', async () => {
    const yaml = await api().get('/openapi.yaml').expect(200);
    expect(yaml.headers['content-type']).to.match(/^application\/yaml/);
    expect(yaml.text).to.equal(fs.readFileSync(specPath, 'utf8'));
    const json = await api().get('/openapi.json').expect(200);
    expect(json.body).to.deep.equal(YAML.parse(yaml.text));
  });

  it('serves the reference page and its assets under a CSP that allows only this origin', async () => {
    const page = await api().get('/docs').expect(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.text).to.include('src="/docs/swagger-ui-bundle.js"');
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.not.include('upgrade-insecure-requests');
    const init = await api().get('/docs/swagger-ui-init.js').expect(200);
    expect(init.headers['content-type']).to.match(/javascript/);
    expect(init.text).to.include('/scim/v2/Users');
    await api().get('/docs/swagger-ui.css').expect(200).expect('Content-Type', /css/);
    await api().get('/docs/swagger-ui.css').set('If-Match', 'W/"-1"').set('Range', 'bytes=999999999-').expect(200);
    await api().get('/docs/secret.txt').expect(400);
    await api().get('/docs/../package.json').expect((res) => expect(res.status).to.be.oneOf([400, 404]));
  });

  it('states every operation\'s rights at the top of its description, from its security requirement', () => {
    const doc = loadSpec();
    const shown = docsSpec();
    const get = (d: typeof doc, p: string, m: string) => (d.paths[p] as Record<string, { description?: string; responses?: Record<string, unknown> }>)[m];
    expect(rightsLine(doc, get(doc, '/healthz', 'get'))).to.equal('**Authentication:** none.');
    expect(get(shown, '/api/v2/changes', 'get').description).to.match(/^\*\*Rights:\*\* `audit_read` or `admin`\./);
    expect(get(shown, '/api/v2/groups', 'post').description).to.match(/^\*\*Rights:\*\* `group_administration` or `group_creation`\./);
    // The 429 is documented in the operation's own error shape (SCIM errors for SCIM).
    const ref = (get(shown, '/scim/v2/Users', 'get').responses?.['429'] as { $ref: string }).$ref;
    const scim429 = (shown.components as { responses: Record<string, { content: Record<string, unknown>; headers: Record<string, unknown> }> }).responses[ref.split('/').pop()!];
    expect(Object.keys(scim429.content)).to.deep.equal(['application/scim+json']);
    expect(scim429.headers).to.have.property('Retry-After');
    // The file itself is untouched.
    expect(get(doc, '/api/v2/changes', 'get').description).to.not.match(/Rights/);
  });

  describe('in a real browser (Debian chromium, headless)', function () {
    this.timeout(120_000);
    let server: Awaited<ReturnType<typeof listen>> | undefined;

    before(function () {
      if (!fs.existsSync(CHROMIUM)) {
        // eslint-disable-next-line no-console
        console.log(`      skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);
        this.skip();
      }
    });

    after(async () => {
      await server?.close();
    });

    it('renders the operations of every dialect, grouped by dialect, with their rights', async () => {
      const { chromium } = await import('playwright-core');
      server = await listen(testContext().app);
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-chromium-'));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      });
      const problems: string[] = [];
      try {
        const page = await context.newPage();
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(`${server.url}/docs`);
        await page.waitForSelector('.opblock-tag-section', { timeout: 60_000 });
        const tags = await page.$$eval('.opblock-tag', (els) => els.map((e) => e.getAttribute('data-tag')));
        expect(tags).to.include.members(['scim', 'groups-v2', 'groups-v1', 'group-entities', 'group-bags', 'oauth', 'admin', 'ops']);
        const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.getAttribute('data-path')));
        expect(paths).to.include.members(['/scim/v2/Users', '/api/v2/groups', '/api/v1/groups', '/group/{groupId}', '/api/v1/group', '/oauth/token', '/api/v2/changes']);
        // Open one operation: its rights lead the description.
        await page.click('#operations-admin-getChanges .opblock-summary');
        const description = await page.textContent('#operations-admin-getChanges .opblock-description-wrapper');
        expect(description).to.match(/Rights:\s*audit_read\s*or\s*admin/);
        expect(problems, problems.join('\n')).to.deep.equal([]);
      } finally {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      }
    });
  });
});
