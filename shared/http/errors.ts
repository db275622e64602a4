/**
 * Typed errors carry their HTTP status and a stable machine-readable code; the HTTP
 * layer (shared/http/handler.ts) is the one place that turns them into responses.
 * Domain code throws these; it never builds error responses itself.
 */
export interface ErrorDetail {
  path: string;
  message: string;
  code?: string;
}

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
    /** Extra machine-readable fields of the error object, e.g. `existingId` of a duplicate. */
    readonly extra?: Record<string, string>,
  ) {
    super(message);
  }
}

export class ValidationFailed extends HttpError {
  constructor(details: ErrorDetail[], message = 'The request is not valid') {
    super(400, 'validation_failed', message, details);
  }
}

export class InvalidJson extends HttpError {
  constructor() {
    super(400, 'invalid_json', 'The request body is not valid JSON');
  }
}

export class Unauthenticated extends HttpError {
  constructor(code = 'unauthenticated', message = 'Authentication is required') {
    super(401, code, message, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class Forbidden extends HttpError {
  constructor(code = 'forbidden', message = 'This action is not allowed') {
    super(403, code, message);
  }
}

export class NotFound extends HttpError {
  constructor(code = 'not_found', message = 'The resource does not exist') {
    super(404, code, message);
  }
}

export class Conflict extends HttpError {
  constructor(code: string, message: string, details?: ErrorDetail[], extra?: Record<string, string>) {
    super(409, code, message, details, undefined, extra);
  }
}

export class PayloadTooLarge extends HttpError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
  }
}

export class UnsupportedMediaType extends HttpError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
  }
}

export class TooManyRequests extends HttpError {
  constructor(retryAfterSeconds: number, code = 'too_many_requests', message = 'Too many requests, retry later') {
    super(429, code, message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

export class PreconditionFailed extends HttpError {
  constructor(code = 'precondition_failed', message = 'The resource has changed since it was read (If-Match); read it again') {
    super(412, code, message);
  }
}

export class ServiceUnavailable extends HttpError {
  constructor(retryAfterSeconds = 1, message = 'A dependency is unavailable, retry later') {
    super(503, 'service_unavailable', message, undefined, {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
}
