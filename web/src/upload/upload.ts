/**
 * One file's way into the library: check what the browser can check, hash it (off the main
 * thread), ask the API for an upload form (which answers "duplicate" for a file already there),
 * then POST the bytes straight to S3 with progress, cancellable at every step.
 */
import type { Api } from '../api/client';
import { describeError, NETWORK_ERROR, type ApiErrorBody } from '../api/errors';

/** The types the API accepts, by file extension for files the browser gives no type. */
export const ACCEPTED_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
};

const ACCEPTED = new Set(Object.values(ACCEPTED_TYPES));

export type UploadOutcome =
  | { kind: 'uploaded'; mediaId: string }
  | { kind: 'duplicate'; existingId: string }
  | { kind: 'rejected'; message: string }
  | { kind: 'cancelled' };

export interface UploadDeps {
  api: Api;
  /** sha256 of the file, hex (a worker in the browser). */
  hash: (file: File, signal: AbortSignal) => Promise<string | undefined>;
  /** POSTs the form to S3, reporting progress 0..1. */
  post: (url: string, fields: Record<string, string>, file: File, onProgress: (fraction: number) => void, signal: AbortSignal) => Promise<PostResult>;
}

export interface PostResult {
  status: number;
  body: string;
}

export interface Progress {
  phase: 'hashing' | 'uploading';
  fraction: number;
}

/** The content type to declare for `file`, or null when the API would refuse it. */
export function contentTypeOf(file: Pick<File, 'name' | 'type'>): string | null {
  if (ACCEPTED.has(file.type)) return file.type;
  const extension = file.name.toLowerCase().split('.').pop() ?? '';
  if (file.type === '' || file.type === 'application/octet-stream') return ACCEPTED_TYPES[extension] ?? null;
  return null;
}

/** S3's XML error, in words. */
export function describeS3Error(result: PostResult): string {
  const code = /<Code>([^<]+)<\/Code>/.exec(result.body)?.[1];
  if (code === 'EntityTooLarge' || code === 'EntityTooSmall') return 'The file changed size while it was being uploaded. Please try again.';
  if (code === 'AccessDenied' && /expired/i.test(result.body)) return 'The upload took too long and its form expired. Please try again.';
  return 'The storage refused the file. Please try again.';
}

export async function uploadFile(file: File, deps: UploadDeps, onProgress: (progress: Progress) => void, signal: AbortSignal): Promise<UploadOutcome> {
  const contentType = contentTypeOf(file);
  if (contentType === null) return { kind: 'rejected', message: describeError(415) };
  if (file.size === 0) return { kind: 'rejected', message: 'This file is empty.' };
  try {
    onProgress({ phase: 'hashing', fraction: 0 });
    let sha256: string | undefined;
    try {
      sha256 = await deps.hash(file, signal);
    } catch (error) {
      if (signal.aborted) return { kind: 'cancelled' };
      // Unreadable (moved, no permission): the upload would fail the same way.
      return { kind: 'rejected', message: `This file cannot be read (${error instanceof Error ? error.message : 'unknown error'}).` };
    }
    if (signal.aborted) return { kind: 'cancelled' };
    const { data, error, response } = await deps.api.POST('/v1/media', { body: { filename: file.name, contentType, size: file.size, ...(sha256 === undefined ? {} : { sha256 }) }, signal });
    if (data === undefined) {
      const body = error as ApiErrorBody | undefined;
      if (response.status === 409 && body?.error?.code === 'duplicate' && body.error.existingId) return { kind: 'duplicate', existingId: body.error.existingId };
      return { kind: 'rejected', message: describeError(response.status, body) };
    }
    // Cancelled as the form arrived: postWithXhr would not see an abort that came before it.
    if (signal.aborted) return { kind: 'cancelled' };
    onProgress({ phase: 'uploading', fraction: 0 });
    const fields = data.upload.fields as Record<string, string>;
    const result = await deps.post(data.upload.url, fields, file, (fraction) => onProgress({ phase: 'uploading', fraction }), signal);
    if (result.status >= 200 && result.status < 300) return { kind: 'uploaded', mediaId: data.media.id };
    return { kind: 'rejected', message: describeS3Error(result) };
  } catch (error) {
    if (signal.aborted || (error instanceof DOMException && error.name === 'AbortError')) return { kind: 'cancelled' };
    return { kind: 'rejected', message: NETWORK_ERROR };
  }
}

/** The browser's multipart POST to S3, with upload progress (fetch has none: XMLHttpRequest). */
export function postWithXhr(url: string, fields: Record<string, string>, file: File, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', file); // S3 ignores every field after `file`
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
