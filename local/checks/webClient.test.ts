import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { renderWebApiTypes, WEB_API_TYPES } from '../openapi/webClient';
import { REPO_ROOT } from '../stack/serviceConfig';

describe('the web app is typed by the contract (web/src/api/schema.d.ts)', function () {
  this.timeout(30_000);

  it('is what openapi-typescript makes of docs/openapi.v1.json now (run `npx gulp web-client` after changing the API)', () => {
    expect(fs.readFileSync(path.join(REPO_ROOT, WEB_API_TYPES), 'utf8') === renderWebApiTypes(), 'web/src/api/schema.d.ts is stale').to.equal(true);
  });
});
