// The web app's build: Svelte 5 compiled by Vite into web/dist (hashed files under assets/).
// `npm start` serves web/dist from the same origin as the API (local/stack/edge.ts), as CloudFront
// does on AWS, so the app calls `/v1/...` with no CORS.
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const api = process.env['ML_API_URL'] ?? 'http://localhost:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small entry; the hashing worker and the viewer's extras load on demand.
    modulePreload: { polyfill: false },
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev:web`: Vite's dev server with hot reload in front of a running `npm start`,
    // whose edge also answers /config.json (where the live-updates WebSocket is). The dev server
    // sets no Content-Security-Policy, so the app may open that socket from here; the policy
    // itself is checked where it is set: `npm start`'s edge and CloudFront.
    proxy: { '/v1': api, '/config.json': api },
  },
});
