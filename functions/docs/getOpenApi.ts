import document from '../../docs/openapi.v1.json';
import { publicRoute } from '../../shared/http/handler';

// Serialised once per container: the committed document (`npx gulp openapi` writes it).
const body = JSON.stringify(document);

/** GET /v1/openapi.json: the OpenAPI 3.1 description of /v1. */
export const handler = publicRoute({ auth: 'none' }, async () => ({
  status: 200,
  text: body,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
}));
