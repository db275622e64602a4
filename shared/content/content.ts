/**
 * Where the bytes live (S3), behind a small interface so domain code and its tests do not
 * depend on the SDK. Keys are always made by the server (./keys.ts), never by clients.
 */
export interface UploadForm {
  method: 'POST';
  url: string;
  fields: Record<string, string>;
  expiresAt: string;
}

export interface ObjectHead {
  size: number;
  contentType?: string;
  eTag: string;
  /** The id of the request that issued the upload form (stored with the object as x-amz-meta-request-id). */
  requestId?: string;
}

/**
 * How the browser is told to treat a download: decided by us from the item's record, never taken
 * from what was stored with the object (a client chose that).
 */
export interface DownloadResponse {
  /** The Content-Type of the answer (one of the accepted types of the item, or image/webp for thumbnails). */
  contentType: string;
  /** Offered as a file to save (Content-Disposition: attachment) under this name; shown inline without it. */
  attachmentName?: string;
  /** The Cache-Control of the answer (S3 sends none for our objects otherwise). */
  cacheControl?: string;
}

export interface ContentStore {
  /**
   * A presigned POST bound to exactly this key, content type and size; `requestId` (the request
   * that asks for it) goes with the object as its metadata, so processing can log under that id.
   */
  presignUpload(key: string, contentType: string, size: number, expiresInSeconds: number, now: Date, requestId?: string): Promise<UploadForm>;
  /**
   * A short-lived GET URL whose answer carries the type, disposition and caching of `response`,
   * valid from `signedAt` (default: now) for `expiresInSeconds`. The URL depends only on these
   * arguments (and the signer's credentials): the same `signedAt` gives the same URL.
   */
  presignDownload(key: string, expiresInSeconds: number, response: DownloadResponse, signedAt?: Date): Promise<string>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** Bytes [start, end] inclusive (fewer at the end of the object). */
  readRange(key: string, start: number, end: number): Promise<Buffer>;
  read(key: string): Promise<Buffer>;
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Deletes the keys that exist; missing keys are fine (deletes are repeatable). */
  delete(keys: string[]): Promise<void>;
  /** Deletes every object under a prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Every key under a prefix (for the consistency checker and tests). */
  list(prefix: string): Promise<string[]>;
}
