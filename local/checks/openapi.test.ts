/**
 * The OpenAPI document: generated from the route table and the handlers' own zod schemas, up to
 * date, in line with serverless.yml's routes, with valid examples, clean under Spectral, and not
 * breaking the released v1 contract (docs/contract/v1.json).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { expect } from 'chai';
import { breakingChanges } from '../openapi/breaking';
import { OPENAPI_FILE, renderOpenApi } from '../openapi/document';
import { OPERATIONS } from '../openapi/routes';
import { REPO_ROOT, serviceConfig } from '../stack/serviceConfig';
import { handlerWorld, loadHandler } from '../test/handlers';

const execFileAsync = promisify(execFile);
type Json = Record<string, unknown>;

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')) as Json;

interface HttpEvent {
  method: string;
  path: string;
  authorizer: boolean;
}

function httpEvents(): Map<string, HttpEvent[]> {
  const result = new Map<string, HttpEvent[]>();
  for (const [name, fn] of Object.entries(serviceConfig('local').functions)) {
    for (const event of (fn.events ?? []) as Array<{ httpApi?: string | { method: string; path: string; authorizer?: unknown } }>) {
      if (event.httpApi === undefined) continue;
      const spec = typeof event.httpApi === 'string' ? { method: event.httpApi.split(' ')[0] as string, path: event.httpApi.split(' ')[1] as string } : event.httpApi;
      const list = result.get(name) ?? [];
      list.push({ method: spec.method.toUpperCase(), path: spec.path, authorizer: typeof event.httpApi === 'object' && event.httpApi.authorizer !== undefined });
      result.set(name, list);
    }
  }
  return result;
}

describe('OpenAPI document (docs/openapi.v1.json)', function () {
  this.timeout(60_000);
  const document = readJson(OPENAPI_FILE);

  it('is up to date with the route table and the schemas (regenerate with `npx gulp openapi`)', () => {
    expect(fs.readFileSync(path.join(REPO_ROOT, OPENAPI_FILE), 'utf8') === renderOpenApi(), 'docs/openapi.v1.json is stale: run `npx gulp openapi`').to.equal(true);
  });

  it('describes exactly the HTTP routes of serverless.yml, with the bearer scheme exactly where the authorizer guards the route', () => {
    const routes = [...httpEvents()].flatMap(([fn, events]) => events.map((event) => `${fn} ${event.method} ${event.path} ${event.authorizer ? 'bearer' : 'none'}`)).sort();
    const documented = OPERATIONS.map((operation) => `${operation.functionName} ${operation.method} ${operation.path} ${operation.auth}`).sort();
    expect(documented).to.deep.equal(routes);
    for (const [pathName, item] of Object.entries(document['paths'] as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const bearer = JSON.stringify(operation['security']) === JSON.stringify([{ bearerAuth: [] }]);
        const listed = OPERATIONS.find((candidate) => candidate.path === pathName && candidate.method === method.toUpperCase());
        expect(bearer, `${method} ${pathName}`).to.equal(listed?.auth === 'bearer');
      }
    }
  });

  it('uses the very schemas each handler validates requests and shapes responses with', () => {
    const world = handlerWorld();
    for (const [functionName] of httpEvents()) {
      const source = serviceConfig('local').functions[functionName]?.handler as string;
      const handler = loadHandler(source.slice(0, source.lastIndexOf('.')), world) as { route?: Record<string, unknown> };
      expect(handler.route, `${functionName} is built with publicRoute/protectedRoute`).to.be.an('object');
      const route = handler.route as Record<string, unknown>;
      const operations = OPERATIONS.filter((operation) => operation.functionName === functionName);
      for (const operation of operations) {
        expect(operation.auth, `${functionName} auth`).to.equal(route['auth']);
        for (const part of ['body', 'query'] as const) expect(operation[part] === route[part], `${functionName} ${part}`).to.equal(true);
        expect(operation.params === undefined || operation.params === route['params'], `${functionName} params`).to.equal(true);
        expect(operation.success.schema === route['response'], `${functionName} response`).to.equal(true);
      }
      const described = new Set(operations.map((operation) => operation.params));
      if (route['params'] !== undefined) expect(described.has(route['params'] as never), `${functionName}: some operation documents its path parameters`).to.equal(true);
    }
  });

  it('has examples that match their own schemas, and an example for every JSON body', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(document, 'doc');
    let checked = 0;
    const escape = (part: string): string => part.replace(/~/g, '~0').replace(/\//g, '~1');
    for (const [pathName, item] of Object.entries(document['paths'] as Record<string, Record<string, Json>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const bodies: Array<[string, Json]> = [];
        const requestContent = (operation['requestBody'] as Json | undefined)?.['content'] as Record<string, Json> | undefined;
        if (requestContent?.['application/json'] !== undefined) bodies.push([`requestBody/content/application~1json`, requestContent['application/json']]);
        for (const [status, response] of Object.entries(operation['responses'] as Record<string, Json>)) {
          const content = response['content'] as Record<string, Json> | undefined;
          if (content?.['application/json'] !== undefined) bodies.push([`responses/${status}/content/application~1json`, content['application/json']]);
        }
        for (const [where, media] of bodies) {
          const label = `${method.toUpperCase()} ${pathName} ${where}`;
          if (pathName === '/v1/openapi.json') continue;
          expect(media['example'], `${label} has an example`).to.not.equal(undefined);
          const validate = ajv.getSchema(`doc#/paths/${escape(pathName)}/${method}/${where}/schema`);
          expect(validate, label).to.be.a('function');
          const valid = validate?.(media['example']);
          expect(valid, `${label}: ${JSON.stringify(validate?.errors)}`).to.equal(true);
          checked += 1;
        }
      }
    }
    expect(checked).to.be.greaterThan(100);
  });

  it('passes Spectral’s OpenAPI rules (all of them) without an error or a warning', async () => {
    const bin = path.join(REPO_ROOT, 'node_modules', '.bin', 'spectral');
    const { stdout } = await execFileAsync(bin, ['lint', OPENAPI_FILE, '--ruleset', '.spectral.yaml', '--format', 'json', '--quiet'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    const results = (stdout.trim() === '' ? [] : JSON.parse(stdout)) as Array<{ code: string; message: string; path: string[]; severity: number }>;
    expect(results.map((result) => `${result.code} ${result.path.join('.')}: ${result.message}`)).to.deep.equal([]);
  });

  it('keeps every promise of the released v1 contract (docs/contract/v1.json): additions only', () => {
    const problems = breakingChanges(readJson(path.join('docs', 'contract', 'v1.json')), document);
    expect(problems, 'breaking changes: see docs/api.md, "Changing the contract"').to.deep.equal([]);
  });
});
