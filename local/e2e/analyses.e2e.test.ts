/**
 * Image analysis over real HTTP and SNS (serverless-offline-sns): 202 + Location, polling,
 * similarity, and a signed callback verified the way a receiver would verify it.
 */
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import sharp from 'sharp';
import { ApiClient, newAccount } from '../test/http';
import { settled, upload } from '../test/media';
import { localStack, offlineApi } from '../test/stack';
import { TOOLING_CREDENTIALS } from '../stack/credentials';
import { requireEnv } from '../../shared/config/env';
import { newId } from '../../shared/ids';
import { dynamoAnalysisStore } from '../../shared/stores/analyses';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'media');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

interface Job {
  id: string;
  mediaId: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  createdAt: string;
  updatedAt: string;
  result?: {
    perceptualHash: string;
    dominantColors: Array<{ hex: string; ratio: number }>;
    similarMedia: Array<{ mediaId: string; distance: number }>;
    labels: null | Array<{ name: string; confidence: number }>;
    labelsSource: string;
  };
  error?: { code: string; message: string };
  callback?: { status: string; attempts: number; statusCode?: number };
}

interface Received {
  body: string;
  signature: string | undefined;
}

/** A callback receiver on loopback that records what it gets. */
async function receiver(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: request.headers['x-media-library-signature'] as string | undefined });
      response.end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/analysis`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** What docs/analysis.md tells receivers to do: verify the JWT with the JWKS, then the body hash. */
function verifyCallback(body: string, signature: string, jwks: { keys: Array<JsonWebKey & { kid: string }> }, url: string, issuer: string): boolean {
  try {
    const { header } = jwt.decode(signature, { complete: true }) ?? { header: undefined };
    const jwk = jwks.keys.find((key) => key.kid === header?.kid);
    if (jwk === undefined || header?.typ !== 'callback+jwt') return false;
    const claims = jwt.verify(signature, createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['ES256'], audience: url, issuer }) as jwt.JwtPayload;
    return claims['body_sha256'] === createHash('sha256').update(body, 'utf8').digest('base64url');
  } catch {
    return false;
  }
}

describe('image analysis over HTTP and SNS', function () {
  this.timeout(180_000);
  let api: ApiClient;

  async function account(): Promise<string> {
    const body = newAccount('analysis');
    await api.post('/v1/users', { body });
    return (await api.post<{ accessToken: string }>('/v1/sessions', { body: { email: body.email, password: body.password } })).body.accessToken;
  }

  async function readyImage(token: string, bytes: Buffer, name: string): Promise<string> {
    const created = await upload(api, token, { bytes, filename: name, contentType: name.endsWith('.png') ? 'image/png' : 'image/jpeg' });
    expect((await settled(api, token, created.media.id)).status).to.equal('ready');
    return created.media.id;
  }

  async function finished(token: string, location: string): Promise<Job> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const job = await api.get<Job>(location, { token });
      expect(job.status).to.equal(200);
      if (job.body.status === 'succeeded' || job.body.status === 'failed') return job.body;
      if (Date.now() > deadline) throw new Error(`job still ${job.body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  before(async () => {
    api = new ApiClient((await offlineApi()).baseUrl);
  });

  it('a job no worker started within an hour is reported and recorded as failed (not_started) when polled', async () => {
    const token = await account();
    const mediaId = await readyImage(token, fixture('graphic.png'), 'g.png');
    const userId = (await api.get<{ id: string }>('/v1/users/me', { token })).body.id;
    const stack = await localStack();
    const tooling = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, region: 'us-east-1', credentials: TOOLING_CREDENTIALS }), { marshallOptions: { removeUndefinedValues: true } });
    const analyses = dynamoAnalysisStore(tooling, requireEnv('ANALYSES_TABLE'));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    const id = newId();
    // A request whose message was lost: queued two hours ago, never taken.
    await analyses.create({ id, userId, mediaId, status: 'queued', createdAt: twoHoursAgo, updatedAt: twoHoursAgo, attempts: 0 });
    const polled = await api.get<Job>(`/v1/analyses/${id}`, { token });
    expect(polled.body).to.include({ status: 'failed' });
    expect(polled.body.error?.code).to.equal('not_started');
    expect((await analyses.get(userId, id))?.status, 'recorded, not only reported').to.equal('failed');
  });

  it('202 + Location, poll until succeeded, a sane result; a resized copy is similar, an unrelated photo is not', async () => {
    const token = await account();
    const photo = fixture('photo-exif.jpg');
    const original = await readyImage(token, photo, 'eiffel.jpg');
    const copy = await readyImage(token, await sharp(photo).rotate().resize(300).jpeg({ quality: 60 }).toBuffer(), 'copy.jpg');
    const unrelated = await readyImage(token, fixture('photo-other.jpg'), 'other.jpg');

    const requested = await api.post<Job>(`/v1/media/${original}/analyses`, { token });
    expect(requested.status).to.equal(202);
    expect(requested.body).to.include({ mediaId: original, status: 'queued' });
    expect(requested.headers.get('location')).to.equal(`/v1/analyses/${requested.body.id}`);

    const job = await finished(token, requested.headers.get('location') as string);
    expect(job.status, JSON.stringify(job.error)).to.equal('succeeded');
    const result = job.result;
    expect(result?.perceptualHash).to.match(/^[0-9a-f]{16}$/);
    expect(result?.dominantColors.length).to.be.within(1, 5);
    for (const color of result?.dominantColors ?? []) {
      expect(color.hex).to.match(/^#[0-9a-f]{6}$/);
      expect(color.ratio).to.be.within(0, 1);
    }
    expect(result?.dominantColors.reduce((sum, color) => sum + color.ratio, 0)).to.be.at.most(1.0001);
    expect(result?.similarMedia.map((similar) => similar.mediaId)).to.deep.equal([copy]);
    expect(result?.similarMedia[0]?.distance).to.be.at.most(10);
    expect(result?.labels).to.equal(null);
    expect(result?.labelsSource).to.equal('disabled');

    const fromCopy = await finished(token, (await api.post<Job>(`/v1/media/${copy}/analyses`, { token })).headers.get('location') as string);
    expect(fromCopy.result?.similarMedia.map((similar) => similar.mediaId), 'similarity is mutual').to.deep.equal([original]);
    const fromOther = await finished(token, (await api.post<Job>(`/v1/media/${unrelated}/analyses`, { token })).headers.get('location') as string);
    expect(fromOther.result?.similarMedia).to.deep.equal([]);
  });

  it('delivers a signed callback that verifies against the JWKS; a tampered body does not verify', async () => {
    const token = await account();
    const id = await readyImage(token, fixture('graphic.png'), 'g.png');
    const hook = await receiver();
    try {
      const requested = await api.post<Job>(`/v1/media/${id}/analyses`, { token, body: { callbackUrl: hook.url } });
      expect(requested.status).to.equal(202);
      const deadline = Date.now() + 30_000;
      while (hook.received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(hook.received).to.have.length(1);
      const [call] = hook.received as [Received];
      const delivered = JSON.parse(call.body) as Job;
      expect(delivered).to.include({ id: requested.body.id, status: 'succeeded' });

      const jwks = (await api.get<{ keys: Array<JsonWebKey & { kid: string }> }>('/v1/.well-known/jwks.json')).body;
      expect(verifyCallback(call.body, call.signature as string, jwks, hook.url, 'http://localhost')).to.equal(true);
      expect(verifyCallback(call.body.replace('"succeeded"', '"failed"'), call.signature as string, jwks, hook.url, 'http://localhost'), 'tampered body').to.equal(false);
      expect(verifyCallback(call.body, call.signature as string, jwks, 'https://someone-else.example/hook', 'http://localhost'), 'another receiver').to.equal(false);

      const job = await api.get<Job>(`/v1/analyses/${requested.body.id}`, { token });
      expect(job.body.callback).to.include({ status: 'delivered', attempts: 1, statusCode: 200 });
    } finally {
      await hook.close();
    }
  });

  it('refuses callback URLs that could reach inside (400), media that is not a ready image (409), and other users (404)', async () => {
    const token = await account();
    const image = await readyImage(token, fixture('graphic.png'), 'g.png');
    for (const callbackUrl of ['http://169.254.169.254/latest/meta-data/', 'https://10.0.0.1/hook', 'file:///etc/passwd', 'https://[fd00:ec2::254]/', 'gopher://127.0.0.1/']) {
      const response = await api.post<{ error: { code: string; details: Array<{ path: string }> } }>(`/v1/media/${image}/analyses`, { token, body: { callbackUrl } });
      expect(response.status, callbackUrl).to.equal(400);
      expect(response.body.error.details[0]?.path).to.equal('body.callbackUrl');
    }
    const pending = await api.post<{ media: { id: string } }>('/v1/media', { token, body: { filename: 'p.jpg', contentType: 'image/jpeg', size: 10 } });
    const notReady = await api.post<{ error: { code: string } }>(`/v1/media/${pending.body.media.id}/analyses`, { token });
    expect([notReady.status, notReady.body.error.code]).to.deep.equal([409, 'media_not_ready']);

    const stranger = await account();
    expect((await api.post(`/v1/media/${image}/analyses`, { token: stranger })).status).to.equal(404);
    const job = await api.post<Job>(`/v1/media/${image}/analyses`, { token });
    expect((await api.get(`/v1/analyses/${job.body.id}`, { token: stranger })).status).to.equal(404);
    expect((await api.get('/v1/analyses/not-an-id', { token })).status).to.equal(400);
  });
});
