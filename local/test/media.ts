/** Helpers of the media end-to-end suites: the presigned upload flow as a client does it. */
import { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { MediaView } from '../../shared/domain/media';
import type { ApiClient } from './http';
import { TOOLING_CREDENTIALS } from '../stack/credentials';

/** A media item as the API answers it. */
export type MediaBody = MediaView;

export interface UploadBody {
  media: MediaBody;
  upload: { method: 'POST'; url: string; fields: Record<string, string>; expiresAt: string };
}

/** POST /v1/media, then the multipart POST of the bytes to the presigned URL (fields first, file last); S3's answer as it came. */
export async function tryUpload(
  api: ApiClient,
  token: string,
  file: { bytes: Buffer; filename: string; contentType: string; declaredSize?: number; sha256?: string; formContentType?: string },
): Promise<{ created: UploadBody; posted: { status: number; text: string } }> {
  const created = await api.post<UploadBody>('/v1/media', {
    token,
    body: { filename: file.filename, contentType: file.contentType, size: file.declaredSize ?? file.bytes.length, ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }) },
  });
  expect(created.status, created.text).to.equal(201);
  const form = new FormData();
  for (const [name, value] of Object.entries(created.body.upload.fields)) form.append(name, name === 'Content-Type' && file.formContentType !== undefined ? file.formContentType : value);
  form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.contentType }), file.filename);
  const posted = await fetch(created.body.upload.url, { method: 'POST', body: form });
  return { created: created.body, posted: { status: posted.status, text: await posted.text() } };
}

/** As tryUpload, for an upload S3 must accept. */
export async function upload(
  api: ApiClient,
  token: string,
  file: { bytes: Buffer; filename: string; contentType: string; declaredSize?: number; sha256?: string },
): Promise<UploadBody> {
  const { created, posted } = await tryUpload(api, token, file);
  expect(posted.status, posted.text).to.be.oneOf([200, 201, 204]);
  return created;
}

/** Polls GET /v1/media/{id} until processing has decided (each poll counts a view). */
export async function settled(api: ApiClient, token: string, id: string, timeoutMs = 30_000): Promise<MediaBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await api.get<MediaBody>(`/v1/media/${id}`, { token });
    expect(response.status, response.text).to.equal(200);
    if (response.body.status !== 'pending') return response.body;
    if (Date.now() > deadline) throw new Error(`media ${id} still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** An S3 client for the offline stack's stand-in, to check what is (not) stored. */
export function standInS3(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: TOOLING_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
