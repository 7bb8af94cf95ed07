import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { createMetricsServer } from '../../src/ops/metrics-server';
import { routeLabelOf } from '../../src/ops/routes';
import { newTenant, type TestTenant } from '../helpers/factories';
import { api, bearer } from '../helpers/http';
import { appWith, listen } from './helpers';

/** The value of one sample line of the exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ops: metrics GET /metrics', () => {
  let t: TestTenant;
  before(async () => {
    t = await newTenant();
  });

  it('needs metrics_read (or admin)', async () => {
    await api().get('/metrics').expect(401);
    const refused = await api().get('/metrics').set(bearer(await t.token(['group_administration']))).expect(403);
    expect(refused.body).to.include({ error: 'forbidden' });
  });

  it('counts requests and their latency by dialect, route template and status, never by raw URL', async () => {
    const token = await t.token(['admin', 'scim_provisioning']);
    const id = randomUUID();
    await api().get(`/api/v2/groups/${id}`).set(bearer(token)).expect(404);
    await api().get('/scim/v2/Users').set(bearer(token)).expect(200);
    const res = await api().get('/metrics').set(bearer(await t.token(['metrics_read']))).expect(200);
    expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    expect(res.text).to.not.include(id);
    expect(sample(res.text, 'roster_http_requests_total', { dialect: 'groups-v2', route: '/api/v2/groups/{groupId}', method: 'GET', status: '404' })).to.be.at.least(1);
    expect(sample(res.text, 'roster_http_requests_total', { dialect: 'scim', route: '/scim/v2/Users', status: '200' })).to.be.at.least(1);
    expect(sample(res.text, 'roster_http_request_duration_seconds_bucket', { dialect: 'scim', route: '/scim/v2/Users', status: '200', le: '+Inf' })).to.be.at.least(1);
    for (const gauge of ['roster_db_pool_in_use', 'roster_db_pool_idle', 'roster_db_pool_waiting', 'roster_db_pool_max']) {
      expect(res.text).to.match(new RegExp(`^${gauge} \\d+$`, 'm'));
    }
    expect(res.text).to.match(/^process_cpu_user_seconds_total /m);
    expect(res.text).to.match(/^nodejs_eventloop_lag_seconds /m);
  });

  it('labels routes by the spec template (literal paths before templated ones) and unknown paths as unmatched', () => {
    expect(routeLabelOf('GET', '/api/v2/groups/search?q=1')).to.deep.equal({ route: '/api/v2/groups/search', dialect: 'groups-v2' });
    expect(routeLabelOf('GET', '/scim/v2/Users/abc/')).to.deep.equal({ route: '/scim/v2/Users/{id}', dialect: 'scim' });
    expect(routeLabelOf('GET', '/etc/passwd')).to.deep.equal({ route: 'unmatched', dialect: 'none' });
    // The validator's matched spec path is taken as the route; only its dialect is looked up.
    expect(routeLabelOf('GET', '/scim/v2/Users/abc', '/scim/v2/Users/{id}')).to.deep.equal({ route: '/scim/v2/Users/{id}', dialect: 'scim' });
    // A route that is not a spec template for this method falls back to matching the URL.
    expect(routeLabelOf('GET', '/scim/v2/Users/abc', '/nope')).to.deep.equal({ route: '/scim/v2/Users/{id}', dialect: 'scim' });
  });

  it('with METRICS_PORT, serves metrics on their own listener only', async () => {
    const { app, ops } = appWith({ metricsPort: 0 });
    const token = await t.token(['admin']);
    await request(app).get('/metrics').set(bearer(token)).expect(404);
    await request(app).get('/api/v2/groups').set(bearer(token)).expect(200);
    const listener = await listen(createMetricsServer(ops.metrics));
    try {
      const res = await fetch(`${listener.url}/metrics`);
      expect(res.status).to.equal(200);
      const text = await res.text();
      expect(sample(text, 'roster_http_requests_total', { route: '/api/v2/groups', status: '200' })).to.equal(1);
      expect((await fetch(`${listener.url}/other`)).status).to.equal(404);
    } finally {
      await listener.close();
    }
  });
});
