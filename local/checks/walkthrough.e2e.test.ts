/**
 * The curl walk-through of docs/api.md, run as written (with the base URL of the test
 * stack): if the docs and the API drift apart, this fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { runToEnd } from '../test/run';
import { offlineApi } from '../test/stack';

const ROOT = path.resolve(__dirname, '..', '..');

function walkthrough(): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Walk-through with curl'));
  const start = section.indexOf('```sh\n') + '```sh\n'.length;
  return section.slice(start, section.indexOf('```', start));
}

describe('docs/api.md walk-through', function () {
  this.timeout(120_000);

  it('runs against the API as written and does what it says', async () => {
    const { baseUrl } = await offlineApi();
    const script = walkthrough();
    expect(script).to.contain('B=http://localhost:3000/v1');
    const result = await runToEnd('bash', ['-euo', 'pipefail', '-c', script.replace('B=http://localhost:3000/v1', `B=${baseUrl}/v1`)], { cwd: ROOT, timeoutMs: 90_000 });
    expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(0);
    const out = result.stdout;
    expect(out).to.contain('"status":"ok"');
    expect(out, 'sign-up').to.match(/"email":"ann@example.com","name":"Ann"/);
    expect(out, 'the photo became ready').to.contain('"status":"ready"');
    expect(out, 'metadata from EXIF').to.contain('"camera":{"make":"Canon","model":"Canon EOS R6"}');
    expect(out, 'tags').to.contain('{"tag":"paris","count":1}');
    expect(out, 'analysis').to.match(/"status":"succeeded","createdAt"[^\n]*"perceptualHash":"[0-9a-f]{16}"/);
    expect(out, 'logout is immediate').to.match(/HTTP\/1.1 401/);
    expect(out.match(/HTTP\/1.1 204/g), 'media deleted, logged out, account deleted').to.have.length(3);
  });
});
