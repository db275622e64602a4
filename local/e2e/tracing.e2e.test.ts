/**
 * One request id follows the work it started, over real HTTP, S3 and SNS (docs/operations.md):
 * the id of POST /v1/media (its X-Request-Id) travels with the upload form into the object's
 * metadata, so processUpload logs under it; the id of POST /v1/media/{id}/analyses travels as an
 * SNS message attribute, so runAnalysis logs under it and sends it with the callback.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import type { RunningOffline } from '../stack/offline';
import { ApiClient, newAccount } from '../test/http';
import { settled, upload, type UploadBody } from '../test/media';
import { extraOfflineApi } from '../test/stack';

const FIXTURE = fs.readFileSync(path.resolve(__dirname, '..', 'fixtures', 'media', 'photo-exif.jpg'));

interface LogLine {
  function_name?: string;
  message?: string;
  requestId?: string;
  correlationId?: string;
}

/** The first log line of `fn` with `message`, once it is printed (a function logs after the work a client sees is done). */
async function logLine(offline: RunningOffline, fn: string, message: string): Promise<LogLine | undefined> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const line = logLines(offline).find((candidate) => candidate.message === message && candidate.function_name?.endsWith(`-${fn}`));
    if (line !== undefined) return line;
  }
  return undefined;
}

/** The JSON log lines of the offline's functions. */
function logLines(offline: RunningOffline): LogLine[] {
  return offline
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe('one request id follows the work it started (HTTP → S3 → processUpload; HTTP → SNS → runAnalysis → callback)', function () {
  this.timeout(180_000);
  let offline: RunningOffline;
  let api: ApiClient;

  before(async () => {
    // Its own offline, to read every function's log lines (the shared one keeps only the last of them).
    offline = await extraOfflineApi({ LOG_LEVEL: 'INFO' }, { outputLimit: Infinity });
    api = new ApiClient(offline.baseUrl);
  });
  after(async () => {
    await offline?.stop();
  });

  it('processUpload logs under the id of the request that issued the upload form; runAnalysis and its callback under the id of the analysis request', async () => {
    const account = newAccount('tracing');
    await api.post('/v1/users', { body: account });
    const token = (await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: account.email, password: account.password } })).body.accessToken;

    const created: UploadBody = await upload(api, token, { bytes: FIXTURE, filename: 'traced.jpg', contentType: 'image/jpeg' });
    const formRequest = (await logLine(offline, 'createMedia', 'request completed'))?.requestId;
    expect(formRequest, 'createMedia logged its request id').to.be.a('string');
    expect(created.upload.fields['x-amz-meta-request-id'], 'the form stores it with the object').to.equal(formRequest);
    expect((await settled(api, token, created.media.id, 60_000)).status).to.equal('ready');
    expect((await logLine(offline, 'processUpload', 'upload processed'))?.correlationId).to.equal(formRequest);

    const received: Array<{ requestId: string | undefined }> = [];
    const server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push({ requestId: request.headers['x-request-id'] as string | undefined });
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const requested = await api.post<{ id: string }>(`/v1/media/${created.media.id}/analyses`, { token, body: { callbackUrl } });
      expect(requested.status, requested.text).to.equal(202);
      const analysisRequest = requested.headers.get('x-request-id');
      expect(analysisRequest).to.be.a('string').and.not.equal(formRequest);
      for (const deadline = Date.now() + 60_000; received.length === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(received, 'the callback carries the id of the request that asked for it').to.deep.equal([{ requestId: analysisRequest }]);
      expect((await logLine(offline, 'runAnalysis', 'analysis run'))?.correlationId).to.equal(analysisRequest);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
