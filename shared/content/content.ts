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
}

export interface ContentStore {
  /** A presigned POST bound to exactly this key, content type and size. */
  presignUpload(key: string, contentType: string, size: number, expiresInSeconds: number, now: Date): Promise<UploadForm>;
  /** A short-lived GET URL; `filename` is offered to browsers that save the file. */
  presignDownload(key: string, expiresInSeconds: number, filename?: string): Promise<string>;
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
