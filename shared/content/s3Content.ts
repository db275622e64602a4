import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ContentStore } from './content';

/** RFC 6266 attachment with its filename: ASCII fallback plus the UTF-8 original. */
function contentDisposition(name: string): string {
  // Lone surrogates (refused at input, but records may predate that) would make encodeURIComponent throw.
  const filename = name.toWellFormed();
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  // RFC 8187 attr-chars: encodeURIComponent leaves ' ( ) * ! unescaped, which the grammar forbids.
  const encoded = encodeURIComponent(filename).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The form field that stores the issuing request's id with an upload (HeadObject: Metadata['request-id']). */
const REQUEST_ID_FIELD = 'x-amz-meta-request-id';

export function s3ContentStore(client: S3Client, bucket: string): ContentStore {
  const isMissing = (error: unknown): boolean =>
    error instanceof NotFound || error instanceof NoSuchKey || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

  const store: ContentStore = {
    async presignUpload(key, contentType, size, expiresInSeconds, now, requestId) {
      // The policy binds the exact key, type and size (and the request id stored with the
      // object): S3 refuses any other upload with it.
      const traced: Record<string, string> = requestId === undefined ? {} : { [REQUEST_ID_FIELD]: requestId };
      const { url, fields } = await createPresignedPost(client, {
        Bucket: bucket,
        Key: key,
        Conditions: [
          { bucket },
          ['eq', '$key', key],
          ['eq', '$Content-Type', contentType],
          ['content-length-range', size, size],
          ...Object.entries(traced).map(([field, value]) => ['eq', `$${field}`, value] as ['eq', string, string]),
        ],
        Fields: { 'Content-Type': contentType, ...traced },
        Expires: expiresInSeconds,
      });
      return { method: 'POST', url, fields, expiresAt: new Date(now.getTime() + expiresInSeconds * 1000).toISOString() };
    },

    async presignDownload(key, expiresInSeconds, response, signedAt) {
      // The answer's type and disposition are part of the signed URL: S3 sends these, whatever
      // Content-Type the object was stored with (an upload could have claimed text/html).
      return getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ResponseContentType: response.contentType,
          ResponseContentDisposition: response.attachmentName === undefined ? 'inline' : contentDisposition(response.attachmentName),
          ...(response.cacheControl === undefined ? {} : { ResponseCacheControl: response.cacheControl }),
        }),
        { expiresIn: expiresInSeconds, ...(signedAt === undefined ? {} : { signingDate: signedAt }) },
      );
    },

    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const requestId = head.Metadata?.['request-id'];
        return {
          size: head.ContentLength ?? 0,
          ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
          eTag: head.ETag ?? '',
          ...(requestId === undefined ? {} : { requestId }),
        };
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async readRange(key, start, end) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }));
      return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },

    async read(key) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },

    async put(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },

    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
        if (failed.length > 0) throw Object.assign(new Error(`S3 could not delete ${failed.length} object(s): ${failed[0]?.Code}`), { name: 'ServiceUnavailable' });
      }
    },

    async deletePrefix(prefix) {
      let deleted = 0;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        const keys = (page.Contents ?? []).map((object) => object.Key).filter((key): key is string => key !== undefined);
        await store.delete(keys);
        deleted += keys.length;
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return deleted;
    },

    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        keys.push(...(page.Contents ?? []).map((object) => object.Key).filter((key): key is string => key !== undefined));
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
  };
  return store;
}
