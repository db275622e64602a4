/**
 * Bad bodies every JSON endpoint must answer with a 4xx error of the documented shape
 * (never a 5xx, never reaching the domain): shared by the handler unit tests and the
 * end-to-end suites.
 */
export interface BadRequest {
  what: string;
  rawBody?: string;
  body?: unknown;
  contentType?: string;
  status: number;
  code: string;
  /** serverless-offline unwraps a JSON string body before the handler sees it (AWS does not). */
  offlineCode?: string;
}

export function badBodies(valid: Record<string, unknown>): BadRequest[] {
  const firstKey = Object.keys(valid)[0] as string;
  const withoutFirst = Object.fromEntries(Object.entries(valid).slice(1));
  return [
    { what: 'not JSON', rawBody: '{"email": ', status: 400, code: 'invalid_json' },
    { what: 'a JSON array', body: [valid], status: 400, code: 'validation_failed' },
    { what: 'a JSON string', body: 'hello', status: 400, code: 'validation_failed', offlineCode: 'invalid_json' },
    { what: 'null', rawBody: 'null', status: 400, code: 'validation_failed' },
    { what: `missing ${firstKey}`, body: withoutFirst, status: 400, code: 'validation_failed' },
    { what: 'an extra field', body: { ...valid, isAdmin: true }, status: 400, code: 'validation_failed' },
    { what: `${firstKey} of the wrong type`, body: { ...valid, [firstKey]: 12345 }, status: 400, code: 'validation_failed' },
    { what: `a huge ${firstKey}`, body: { ...valid, [firstKey]: 'é'.repeat(20_000) }, status: 400, code: 'validation_failed' },
    { what: 'a body over 64 KB', body: { ...valid, [firstKey]: 'x'.repeat(70_000) }, status: 413, code: 'payload_too_large' },
    { what: 'a form-encoded body', rawBody: 'a=b', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
    { what: 'a text body', rawBody: JSON.stringify(valid), contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  ];
}
