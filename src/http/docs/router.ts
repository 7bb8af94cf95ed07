import fs from 'node:fs';
import { Router, type Request, type Response } from 'express';
import swaggerUi from 'swagger-ui-express';
import { loadSpec, specPath } from '../../spec';
import { docsSpec } from './docs-spec';

const SWAGGER_OPTIONS = {
  docExpansion: 'list',
  deepLinking: true,
  filter: true,
  displayRequestDuration: true,
  tryItOutEnabled: false,
  // No badge fetched from validator.swagger.io: the page needs nothing but this server.
  validatorUrl: null,
};

/** swagger-ui's page with its assets addressed absolutely, so /docs and /docs/ both work. */
function docsPage(spec: unknown): string {
  const html = swaggerUi.generateHTML(spec as swaggerUi.JsonObject, { customSiteTitle: 'Roster API reference', swaggerOptions: SWAGGER_OPTIONS });
  return html.replace(/(href|src)="\.\//g, '$1="/docs/');
}

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Roster</title></head>
<body>
<h1>Roster</h1>
<p>SCIM 2.0 identity provisioning and group APIs.</p>
<ul>
<li><a href="/docs">API reference</a></li>
<li><a href="/openapi.yaml">OpenAPI (YAML)</a> · <a href="/openapi.json">OpenAPI (JSON)</a></li>
<li><a href="/healthz">Health</a></li>
</ul>
</body>
</html>
`;

/**
 * The API reference: `/docs` renders spec/openapi.yaml with swagger-ui (grouped by tag, that is
 * by dialect; each operation with its rights), `/openapi.yaml` and `/openapi.json` serve the
 * contract itself, `GET /` points at them.
 */
export function docsRouter(): Router {
  const spec = docsSpec();
  const page = docsPage(spec);
  const raw = fs.readFileSync(specPath, 'utf8');
  const r = Router();
  r.get('/', (req: Request, res: Response) => {
    res.format({
      'text/html': () => res.type('html').send(INDEX_HTML),
      default: () => res.json({ name: 'Roster', docs: '/docs', openapi: { yaml: '/openapi.yaml', json: '/openapi.json' }, health: '/healthz' }),
    });
  });
  r.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(raw);
  });
  r.get('/openapi.json', (_req, res) => {
    res.json(loadSpec());
  });
  r.get('/docs', (_req, res) => {
    res.type('html').send(page);
  });
  // CASE: the assets are fixed files; a conditional write header or a range would turn into a
  // 412/416 from the static server, which no renderer knows. They answer 200 or 304 only.
  r.use('/docs', (req, _res, next) => {
    for (const h of ['if-match', 'if-unmodified-since', 'range', 'if-range']) delete req.headers[h];
    next();
  });
  r.use('/docs', ...swaggerUi.serveFiles(spec as swaggerUi.JsonObject, { swaggerOptions: SWAGGER_OPTIONS }));
  return r;
}
