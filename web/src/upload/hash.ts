/**
 * Files up to this size are hashed (and so recognised as duplicates before they are sent); a
 * bigger video is sent unhashed rather than held whole in the worker's memory.
 */
export const HASH_LIMIT = 512 * 1024 * 1024;

/** sha256 of a file in a worker; cancelling terminates the worker. */
export function hashInWorker(file: File, signal: AbortSignal): Promise<string | undefined> {
  if (file.size > HASH_LIMIT) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module' });
    const stop = (): void => {
      worker.terminate();
      reject(new DOMException('cancelled', 'AbortError'));
    };
    signal.addEventListener('abort', stop, { once: true });
    worker.onmessage = (event: MessageEvent<{ sha256?: string; error?: string }>) => {
      signal.removeEventListener('abort', stop);
      worker.terminate();
      if (event.data.sha256 !== undefined) resolve(event.data.sha256);
      else reject(new Error(event.data.error ?? 'unreadable'));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || 'unreadable'));
    };
    worker.postMessage({ file });
  });
}
