/// <reference lib="webworker" />
// sha256 of a file off the main thread with Web Crypto (no WebAssembly, so the CSP needs no
// 'wasm-unsafe-eval'). Web Crypto digests a whole buffer, so the caller hashes files up to
// HASH_LIMIT only (see hash.ts).
self.onmessage = async (event: MessageEvent<{ file: File }>) => {
  try {
    const digest = await crypto.subtle.digest('SHA-256', await event.data.file.arrayBuffer());
    self.postMessage({ sha256: [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('') });
  } catch (error) {
    self.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
